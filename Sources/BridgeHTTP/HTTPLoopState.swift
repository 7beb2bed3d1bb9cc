// HTTPLoopState: the HTTP input's side of the server, on the loop thread only (LoopHop brings
// every request here). It sends prompts through ServerCore with origin `http`, makes ids
// idempotent (the same id with the same text is answered with the first result, with another
// text refused with 409; remembered for the last `ledgerLimit` prompts and, beyond that or
// after a restart, found in the history and the outbox), looks turns up by id, waits for a
// turn's end (`?wait=S`), and feeds the Server-Sent Events streams (EventStreams).

import BridgeCore

final class HTTPLoopState {
    let core: ServerCore
    let events: EventStreams
    private(set) var stopping = false

    /// What a prompt's send came to.
    enum Outcome {
        case delivered(String)
        case queued(String, reason: String)
        case failed(String, error: String)

        var isFailure: Bool {
            if case .failed = self { return true }
            return false
        }

        var id: String {
            switch self {
            case .delivered(let id), .queued(let id, _), .failed(let id, _): id
            }
        }
    }

    private struct LedgerEntry {
        var text: String
        var outcome: Outcome?
        /// Repeats that came while the first was still on its way.
        var waiting: [(Outcome) -> Void] = []
    }

    static let ledgerLimit = 10_000
    private var ledger: [String: LedgerEntry] = [:]
    private var ledgerOrder: [String] = []
    private var ledgerHead = 0
    /// Open `?wait=S` requests: each answers 503 when the server stops.
    private var waits: [Int: () -> Void] = [:]
    private var nextWait = 1

    init(core: ServerCore) {
        self.core = core
        events = EventStreams(core: core)
    }

    func stop() {
        stopping = true
        for (_, cancel) in waits.sorted(by: { $0.key < $1.key }) { cancel() }
        waits = [:]
        events.closeAll()
    }

    func hasInstance(_ name: String) -> Bool {
        core.list().contains { $0.info.name == name }
    }

    func noSuchInstance(_ name: String) -> APIError {
        .noSuchInstance(ServerError.noSuchInstance(name, directory: core.pipeDirectory).description)
    }

    // MARK: prompts

    /// Sends one prompt (or answers a repeat of its id) and replies with its answer; with
    /// `wait`, once its turn ends or `wait` seconds have passed.
    func submit(_ prompt: PromptRequest, to name: String, wait: Double?, reply: @escaping (APIAnswer) -> Void) {
        let answer: (Outcome, Bool) -> Void = { [unowned self] outcome, duplicate in
            if let wait, !outcome.isFailure {
                self.waitForTurn(outcome, instance: name, seconds: wait, duplicate: duplicate, reply: reply)
            } else {
                reply(Self.answer(outcome, duplicate: duplicate))
            }
        }
        send(prompt, to: name) { result in
            switch result {
            case .success(let (outcome, duplicate)): answer(outcome, duplicate)
            case .failure(let error): reply(APIAnswer(error))
            }
        }
    }

    /// Sends the prompts in order, each answered on its own (a refused one does not stop the
    /// rest); replies once every one has its answer.
    func submitBatch(_ prompts: [Result<PromptRequest, APIError>], to name: String, reply: @escaping (APIAnswer) -> Void) {
        guard !stopping else { return reply(APIAnswer(.stopping)) }
        guard hasInstance(name) else { return reply(APIAnswer(noSuchInstance(name))) }
        var results = [JSONValue?](repeating: nil, count: prompts.count)
        var left = prompts.count
        func settle(_ index: Int, _ answer: APIAnswer) {
            guard case .object(var fields) = answer.json else { return }
            fields["status"] = .int(answer.status)
            results[index] = .object(fields)
            left -= 1
            if left == 0 { reply(APIAnswer(202, ["results": .array(results.map { $0 ?? .null })])) }
        }
        for (index, item) in prompts.enumerated() {
            switch item {
            case .failure(let error): settle(index, APIAnswer(error))
            case .success(let prompt):
                send(prompt, to: name) { result in
                    switch result {
                    case .success(let (outcome, duplicate)): settle(index, Self.answer(outcome, duplicate: duplicate))
                    case .failure(let error): settle(index, APIAnswer(error))
                    }
                }
            }
        }
    }

    private func send(_ prompt: PromptRequest, to name: String, then: @escaping (Result<(Outcome, Bool), APIError>) -> Void) {
        guard !stopping else { return then(.failure(.stopping)) }
        guard hasInstance(name) else { return then(.failure(noSuchInstance(name))) }
        if let id = prompt.id {
            let key = Self.key(name, id)
            if var entry = ledger[key] {
                guard entry.text == prompt.text else { return then(.failure(Self.reused(id))) }
                if let outcome = entry.outcome { return then(.success((outcome, true))) }
                entry.waiting.append { then(.success(($0, true))) }
                ledger[key] = entry
                return
            }
            switch earlier(id, instance: name) {
            case .some(let (text, outcome)):
                guard text == prompt.text else { return then(.failure(Self.reused(id))) }
                return then(.success((outcome, true)))
            case .none: break
            }
            remember(key, LedgerEntry(text: prompt.text))
        }
        do {
            try core.send(prompt.text, to: name, id: prompt.id, origin: .http) { [weak self] result in
                let outcome: Outcome
                switch result {
                case .delivered(let id): outcome = .delivered(id)
                case .queued(let id, let reason): outcome = .queued(id, reason: ServerWire.queueReason(reason))
                case .failed(let id, let error): outcome = .failed(id, error: error)
                }
                self?.settle(Self.key(name, outcome.id), text: prompt.text, outcome)
                then(.success((outcome, false)))
            }
        } catch {
            if let id = prompt.id { forget(Self.key(name, id)) }
            switch error {
            case .noSuchInstance: then(.failure(noSuchInstance(name)))
            case .duplicatePromptID: then(.failure(.conflict(error.description)))
            case .refused(let why):
                then(.failure(why.contains("over the limit") ? .tooLarge(why) : .badRequest("refused", why)))
            }
        }
    }

    /// A prompt with this id that this server sent before the ledger remembers it: its turn in
    /// the history (delivered) or its entry in the outbox (queued).
    private func earlier(_ id: String, instance name: String) -> (String, Outcome)? {
        if let turn = core.history(of: name).last(where: { $0.id == id }) { return (turn.prompt, .delivered(id)) }
        if let entry = (try? core.status(of: name))?.outbox.last(where: { $0.id == id }) {
            return (entry.text, entry.state == .delivered ? .delivered(id) : .queued(id, reason: "queued"))
        }
        return nil
    }

    private func settle(_ key: String, text: String, _ outcome: Outcome) {
        var entry = ledger[key] ?? LedgerEntry(text: text)
        let waiting = entry.waiting
        entry.outcome = outcome
        entry.waiting = []
        if ledger[key] == nil { remember(key, entry) } else { ledger[key] = entry }
        for repeatTo in waiting { repeatTo(outcome) }
    }

    private func remember(_ key: String, _ entry: LedgerEntry) {
        ledger[key] = entry
        ledgerOrder.append(key)
        if ledgerOrder.count - ledgerHead > Self.ledgerLimit {
            let old = ledgerOrder[ledgerHead]
            ledgerHead += 1
            // Only one still on its way is kept (its repeats wait on it).
            if ledger[old]?.outcome != nil { ledger[old] = nil }
            if ledgerHead > Self.ledgerLimit {
                ledgerOrder.removeFirst(ledgerHead)
                ledgerHead = 0
            }
        }
    }

    private func forget(_ key: String) {
        ledger[key] = nil
    }

    private static func key(_ name: String, _ id: String) -> String { name + "\u{0}" + id }

    private static func reused(_ id: String) -> APIError {
        .conflict("the id \(id.debugDescription) was already used for another prompt text; a repeat must send the same text")
    }

    static func answer(_ outcome: Outcome, duplicate: Bool) -> APIAnswer {
        switch outcome {
        case .delivered(let id):
            APIAnswer(202, ["id": .string(id), "result": "delivered", "duplicate": .bool(duplicate)])
        case .queued(let id, let reason):
            APIAnswer(202, ["id": .string(id), "result": "queued", "reason": .string(reason), "duplicate": .bool(duplicate)])
        case .failed(let id, let error):
            APIAnswer(503, ["id": .string(id), "error": .string("the prompt was not delivered: \(error)"), "code": "delivery_failed"])
        }
    }

    // MARK: turns

    /// The turn with this id, or its outbox entry while it waits, or a failed send's answer.
    func turn(_ id: String, instance name: String) -> APIAnswer {
        guard hasInstance(name) else { return APIAnswer(noSuchInstance(name)) }
        if let turn = core.history(of: name).last(where: { $0.id == id }) {
            return APIAnswer(200, TurnJSON.turn(turn, instance: name, exact: isFramed(name)))
        }
        if let entry = (try? core.status(of: name))?.outbox.last(where: { $0.id == id && $0.state == .queued }) {
            return APIAnswer(200, TurnJSON.queued(entry, instance: name))
        }
        if case .failed(_, let error)? = ledger[Self.key(name, id)]?.outcome {
            return APIAnswer(200, ["id": .string(id), "instance": .string(name), "state": "failed", "prompt": .string(ledger[Self.key(name, id)]!.text),
                                   "origin": "http", "sent_at": .null, "first_byte_at": .null, "done_at": .null,
                                   "error": .string(error), "reply": .null, "truncated": false, "reply_exact": false])
        }
        return APIAnswer(.noSuchTurn(id, instance: name))
    }

    private func isFramed(_ name: String) -> Bool {
        core.list().first { $0.info.name == name }?.mode == .framed
    }

    /// Answers once the turn has ended (200, with its reply) or after `seconds` (202, the turn
    /// as it is then).
    private func waitForTurn(_ outcome: Outcome, instance name: String, seconds: Double, duplicate: Bool,
                             reply: @escaping (APIAnswer) -> Void) {
        var base = Self.answer(outcome, duplicate: duplicate)
        let id = outcome.id
        func finish(_ ended: Bool) {
            let current = turn(id, instance: name)
            if case .object(var fields) = base.json {
                fields["turn"] = current.status == 200 ? current.json : .null
                base.json = .object(fields)
            }
            reply(APIAnswer(ended ? 200 : 202, base.json))
        }
        if let turn = core.history(of: name).last(where: { $0.id == id }), !turn.status.isOpen { return finish(true) }
        let waitID = nextWait
        nextWait += 1
        var subscription: ServerCore.SubscriptionID?
        var timer: EventLoop.TimerID?
        let end: (Bool) -> Void = { [unowned self] ended in
            if let subscription { self.core.unsubscribe(subscription) }
            if let timer { self.core.loop.cancel(timer) }
            self.waits[waitID] = nil
            finish(ended)
        }
        subscription = core.subscribe(.instance(name), from: [name: UInt64.max]) { event in
            if case .turnEnded(_, let turn) = event, turn.id == id { end(true) }
        }
        timer = core.loop.schedule(after: seconds) { end(false) }
        waits[waitID] = { [unowned self] in
            if let subscription { self.core.unsubscribe(subscription) }
            if let timer { self.core.loop.cancel(timer) }
            reply(APIAnswer(.stopping))
        }
    }
}
