// ServerCore+Inputs: what makes a client's input safe to repeat and possible to follow.
// - Idempotent ids: a prompt sent with an id of the client's is recorded in the instance's
//   PromptIDLedger before it goes anywhere; the same id again (while the first is on its way,
//   later, or after a restart) is not sent again and gets the first answer. An id that was on its
//   way when the server died is resolved from the history: its turn there means delivered, its
//   outbox entry queued; neither means its bytes never went into the pipe (the turn is recorded
//   in the same loop step as the write completes), so it is sent now, under the same id.
// - Turn lookup by id (`turnState`) and waiting for a turn's end (`waitForTurnEnd`), with the
//   reply text: exact with the framed protocols, best effort with the plain one.
// Loop thread only.

import Foundation

/// ServerCore's bookkeeping for the inputs (one per core).
final class ServerInputs {
    var ledgers: [String: PromptIDLedger] = [:]
    /// Client ids on their way: instance, and the repeats waiting for the first answer.
    var inFlight: [String: (instance: String, waiters: [(ServerSendResult) -> Void])] = [:]
    var turnWaiters: [Int: TurnWaiter] = [:]
    var nextWaiter = 1
    /// Per instance, the unfinished last line of output since the last prompt went in.
    var openLine: [String: String] = [:]
    /// Framed turns that ended on an unfinished line (a chunk without a newline, then `done`):
    /// that text ends their reply, though the history only keeps finished lines. Turn id ->
    /// text, the newest `maxTails`.
    var tails: [String: String] = [:]
    var tailOrder: [String] = []
    static let maxTails = 1000
    /// The drop directories (ServerCore+Inbox), and the instances whose directory was made.
    var inbox: InboxWatcher?
    var inboxPrepared: Set<String> = []
    /// The hub has listed the pipe directory at least once.
    var instancesListed = false

    func keepTail(_ text: String, for id: String) {
        if tails.updateValue(text, forKey: id) == nil { tailOrder.append(id) }
        if tailOrder.count > Self.maxTails { tails[tailOrder.removeFirst()] = nil }
    }

    struct TurnWaiter {
        var instance: String
        var id: String
        var timer: EventLoop.TimerID?
        var completion: (TurnLookup?) -> Void
    }
}

extension ServerCore {
    /// Answers a prompt id this server has seen (in flight: once the first answer is in; known
    /// from the ledger: now) and returns it; nil for an id never seen, which the caller sends.
    func answerRepeat(_ id: String, to name: String,
                      completion: @escaping (ServerSendResult) -> Void) throws(ServerError) -> String? {
        if let flight = inputs.inFlight[id] {
            guard flight.instance == name else { throw .duplicatePromptID(id) }
            inputs.inFlight[id]?.waiters.append(completion)
            return id
        }
        let ledger = ledger(for: name)
        guard let record = ledger.record(id) else {
            // Not in the ledger (older than it keeps, or sent before it existed) but in the
            // history: sent once already. Sending it again would reach the agent, while the
            // turn tracker ignores a known id: an input record with no turn (issue 14, step 4).
            guard history(of: name).contains(where: { $0.id == id }) else { return nil }
            loop.schedule(after: 0) { completion(.delivered(promptID: id)) }
            return id
        }
        guard let result = PromptIDLedger.result(record) ?? resolveInterrupted(id, instance: name) else { return nil }
        if record.state == .sending { ledger.settle(id, result, at: Date().timeIntervalSince1970) }
        loop.schedule(after: 0) { completion(result) }
        return id
    }

    /// A client id sent for the first time: recorded (synced) before it goes to the hub; the
    /// completion records the first answer and gives it to every repeat that came meanwhile.
    func firstSend(_ id: String, to name: String,
                   completion: @escaping (ServerSendResult) -> Void) -> (ServerSendResult) -> Void {
        let ledger = ledger(for: name)
        ledger.begin(id, at: Date().timeIntervalSince1970)
        inputs.inFlight[id] = (name, [])
        return { [unowned self] result in
            // Failed because the server stops: it stays `sending`, and the next run sends it.
            if self.running { ledger.settle(id, result, at: Date().timeIntervalSince1970) }
            let waiters = self.inputs.inFlight.removeValue(forKey: id)?.waiters ?? []
            completion(result)
            for waiter in waiters { waiter(result) }
        }
    }

    func ledger(for name: String) -> PromptIDLedger {
        if let ledger = inputs.ledgers[name] { return ledger }
        let ledger = PromptIDLedger(instance: name, stateDirectory: options.stateDirectory)
        inputs.ledgers[name] = ledger
        return ledger
    }

    /// An id that was on its way when an earlier server run ended: what the history says of it,
    /// or nil when it never reached the pipe (no turn, no outbox entry) and is to be sent.
    private func resolveInterrupted(_ id: String, instance name: String) -> ServerSendResult? {
        if history(of: name).contains(where: { $0.id == id }) { return .delivered(promptID: id) }
        if queuedEntries(of: name).contains(where: { $0.id == id }) { return .queued(promptID: id, reason: .agentNotListening) }
        return nil
    }

    private func queuedEntries(of name: String) -> [OutboxEntry] {
        if let queued = hub.queued(of: name) { return queued }
        guard let valid = try? InstanceName(validating: name) else { return [] }
        return SessionSnapshot.read(instance: valid, settings: options.config.docker.session,
                                    stateDirectory: options.stateDirectory, now: Date().timeIntervalSince1970).queued
    }

    // MARK: turns by id

    /// Where the prompt with this id is now, or nil when this server knows nothing of it.
    public func turnState(instance name: String, id: String) -> TurnLookup? {
        let exact = hub.mode(of: name) == .framed
        if var turn = history(of: name).last(where: { $0.id == id }) {
            if !turn.status.isOpen, let tail = inputs.tails[id] { turn.response += tail }
            return TurnLookup(instance: name, promptID: id, state: turn.status.isOpen ? .working : .ended,
                              turn: turn, error: turn.error, replyExact: exact)
        }
        if inputs.inFlight[id]?.instance == name || sends[id] != nil {
            return TurnLookup(instance: name, promptID: id, state: .sending, replyExact: exact)
        }
        if queuedEntries(of: name).contains(where: { $0.id == id }) {
            return TurnLookup(instance: name, promptID: id, state: .queued, replyExact: exact)
        }
        guard let record = ledger(for: name).record(id) else { return nil }
        switch PromptIDLedger.result(record) ?? resolveInterrupted(id, instance: name) {
        case .failed(_, let error)?: return TurnLookup(instance: name, promptID: id, state: .failed, error: error, replyExact: exact)
        case .delivered?, .queued?: return TurnLookup(instance: name, promptID: id, state: .forgotten, replyExact: exact)
        case nil:
            return TurnLookup(instance: name, promptID: id, state: .failed,
                              error: "the server stopped before it was delivered; send it again (same id) to deliver it", replyExact: exact)
        }
    }

    /// Calls `completion` once the turn of `id` has ended (or failed), or after `timeout` seconds
    /// with its state then (still open), or at once with nil when the id is unknown.
    public func waitForTurnEnd(instance name: String, id: String, timeout: Double,
                               completion: @escaping (TurnLookup?) -> Void) {
        guard let now = turnState(instance: name, id: id) else { return completion(nil) }
        if now.state.isFinal || timeout <= 0 { return completion(now) }
        let key = inputs.nextWaiter
        inputs.nextWaiter += 1
        let timer = loop.schedule(after: timeout) { [unowned self] in
            guard let waiter = self.inputs.turnWaiters.removeValue(forKey: key) else { return }
            waiter.completion(self.turnState(instance: name, id: id))
        }
        inputs.turnWaiters[key] = ServerInputs.TurnWaiter(instance: name, id: id, timer: timer, completion: completion)
    }

    /// After each hub event: waiters whose turn ended (or failed) get their answer.
    func inputsNote(_ event: SessionEvent) {
        let name: String
        var ids: Set<String>
        switch event {
        case .instancesChanged(let list, _):
            inputs.instancesListed = true
            prepareInboxes(list)
            return
        case .output(let instance, let batch):
            inputs.openLine[instance] = batch.endsWithOpenLine && batch.count > 0 ? batch[batch.count - 1].text : nil
            return
        case .promptAccepted(let instance, _, _, _, _):
            inputs.openLine[instance] = nil
            return
        case .turnsChanged(let instance, let turns):
            // Nothing to do (the common case: no waiter, a plain agent) costs no set.
            var tail: String?
            if hub.mode(of: instance) == .framed, let open = inputs.openLine[instance], !open.isEmpty { tail = open }
            guard tail != nil || !inputs.turnWaiters.isEmpty else { return }
            name = instance
            ids = Set(turns.filter { !$0.status.isOpen }.map(\.id))
            if let tail {
                for id in ids { inputs.keepTail(tail, for: id) }
            }
        case .promptFailed(let instance, let id, _):
            name = instance
            ids = [id]
        default:
            return
        }
        guard !inputs.turnWaiters.isEmpty else { return }
        for key in inputs.turnWaiters.keys.sorted() {
            guard let waiter = inputs.turnWaiters[key], waiter.instance == name, ids.contains(waiter.id),
                  let state = turnState(instance: name, id: waiter.id), state.state.isFinal else { continue }
            inputs.turnWaiters[key] = nil
            if let timer = waiter.timer { loop.cancel(timer) }
            waiter.completion(state)
        }
    }

    /// The server stops: every waiter gets the state as it is.
    func inputsStop() {
        inputs.inbox?.stop()
        let waiters = inputs.turnWaiters.sorted { $0.key < $1.key }
        inputs.turnWaiters = [:]
        for (_, waiter) in waiters {
            if let timer = waiter.timer { loop.cancel(timer) }
            waiter.completion(turnState(instance: waiter.instance, id: waiter.id))
        }
    }
}
