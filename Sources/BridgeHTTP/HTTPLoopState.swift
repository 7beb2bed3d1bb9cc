// HTTPLoopState: the HTTP input's side of the server, on the loop thread only (LoopHop brings
// every request here). It sends prompts through ServerCore with origin `http`; ids are the
// core's (ServerCore+Inputs: the same id again is not sent again and gets the first answer,
// across restarts too), and here a repeat whose text differs from its known turn's is refused
// (409). It looks turns up by id, waits for a turn's end (`?wait=S`, ServerCore.waitForTurnEnd),
// and feeds the Server-Sent Events streams (EventStreams).

import BridgeCore

final class HTTPLoopState {
    let core: ServerCore
    let events: EventStreams
    private(set) var stopping = false
    /// Open `?wait=S` requests: each answers 503 when the server stops.
    private var waits: [Int: () -> Void] = [:]
    private var nextWait = 1

    init(core: ServerCore) {
        self.core = core
        events = EventStreams(core: core)
    }

    func stop() {
        stopping = true
        let open = waits.sorted { $0.key < $1.key }
        waits = [:]
        for (_, cancel) in open { cancel() }
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
        send(prompt, to: name) { [unowned self] result in
            switch result {
            case .failure(let error): reply(APIAnswer(error))
            case .success(let (outcome, duplicate)):
                if let wait, !outcome.isFailure {
                    self.waitForTurn(outcome, instance: name, seconds: wait, duplicate: duplicate, reply: reply)
                } else {
                    reply(Self.answer(outcome, duplicate: duplicate))
                }
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

    private func send(_ prompt: PromptRequest, to name: String, then: @escaping (Result<(ServerSendResult, Bool), APIError>) -> Void) {
        guard !stopping else { return then(.failure(.stopping)) }
        guard hasInstance(name) else { return then(.failure(noSuchInstance(name))) }
        var duplicate = false
        if let id = prompt.id, let known = core.turnState(instance: name, id: id) {
            duplicate = true
            if let turn = known.turn, turn.prompt != prompt.text {
                return then(.failure(.conflict("the id \(id.debugDescription) was already used for another prompt text; "
                    + "a repeat must send the same text")))
            }
        }
        do {
            try core.send(prompt.text, to: name, id: prompt.id, origin: .http) { result in
                then(.success((result, duplicate)))
            }
        } catch {
            switch error {
            case .noSuchInstance: then(.failure(noSuchInstance(name)))
            case .duplicatePromptID: then(.failure(.conflict(error.description)))
            case .refused(let why): then(.failure(why.contains("over the limit") ? .tooLarge(why) : .badRequest("refused", why)))
            }
        }
    }

    static func answer(_ outcome: ServerSendResult, duplicate: Bool) -> APIAnswer {
        switch outcome {
        case .delivered(let id):
            APIAnswer(202, ["id": .string(id), "result": "delivered", "duplicate": .bool(duplicate)])
        case .queued(let id, let reason):
            APIAnswer(202, ["id": .string(id), "result": "queued", "reason": .string(ServerWire.queueReason(reason)),
                            "duplicate": .bool(duplicate)])
        case .failed(let id, let error):
            APIAnswer(503, ["id": .string(id), "error": .string("the prompt was not delivered: \(error)"), "code": "delivery_failed"])
        }
    }

    // MARK: turns

    /// The prompt with this id: its state, and its turn (with the reply once ended).
    func turn(_ id: String, instance name: String) -> APIAnswer {
        guard hasInstance(name) else { return APIAnswer(noSuchInstance(name)) }
        guard let lookup = core.turnState(instance: name, id: id) else { return APIAnswer(.noSuchTurn(id, instance: name)) }
        return APIAnswer(200, TurnJSON.lookup(lookup))
    }

    /// Answers once the turn has ended (200, with its reply) or after `seconds` (202, the turn
    /// as it is then).
    private func waitForTurn(_ outcome: ServerSendResult, instance name: String, seconds: Double, duplicate: Bool,
                             reply: @escaping (APIAnswer) -> Void) {
        let base = Self.answer(outcome, duplicate: duplicate)
        let waitID = nextWait
        nextWait += 1
        waits[waitID] = { reply(APIAnswer(.stopping)) }
        core.waitForTurnEnd(instance: name, id: outcome.promptID, timeout: seconds) { [weak self] lookup in
            guard let self, self.waits.removeValue(forKey: waitID) != nil else { return }
            guard case .object(var fields) = base.json else { return reply(base) }
            fields["turn"] = lookup.map(TurnJSON.lookup) ?? .null
            reply(APIAnswer(lookup?.state.isFinal == true ? 200 : 202, .object(fields)))
        }
    }
}

extension ServerSendResult {
    var promptID: String {
        switch self {
        case .delivered(let id), .queued(let id, _), .failed(let id, _): id
        }
    }

    var isFailure: Bool {
        if case .failed = self { return true }
        return false
    }
}
