// ServerIPC+Session: the methods a TUI needs on top of the CLI's (docs/ipc.md, "Methods for
// viewers"): `session.subscribe` (every hub event, after a snapshot; ServerCore+Session; paced
// by the client's queue: SessionFeedPacer),
// `session.unsubscribe`, `cancel_queued`, `interrupt`, `answer_permission`, `rescan` and
// `check_health`. Loop thread only.

import Foundation

extension ServerIPC {
    /// Answers the request when it is one of these methods; false when it is not.
    func handleSessionMethod(_ request: IPCRequest, from peer: IPCPeer,
                             _ respond: @escaping (Result<JSONValue, IPCError>) -> Void) -> Bool {
        let params = request.params
        switch request.method {
        case "session.subscribe":
            subscribeSession(params, peer: peer, respond)
        case "session.unsubscribe":
            guard let id = params["subscription"]?.intValue else { respond(.failure(Self.missing("subscription"))); return true }
            if let state = peer.context as? PeerState, state.sessionSubscriptions.remove(id) != nil {
                peer.drainObservers[id] = nil
                core.unsubscribeSession(id)
            }
            respond(.success([:]))
        case "cancel_queued":
            guard let name = params["instance"]?.stringValue else { respond(.failure(Self.missing("instance"))); return true }
            guard let id = params["id"]?.stringValue else { respond(.failure(Self.missing("id"))); return true }
            do {
                try core.cancelQueued(instance: name, id: id)
                respond(.success([:]))
            } catch {
                respond(.failure(Self.error(error)))
            }
        case "interrupt":
            guard let name = params["instance"]?.stringValue else { respond(.failure(Self.missing("instance"))); return true }
            do {
                let route = try core.interrupt(name)
                respond(.success(["route": .string(route.wireName)]))
            } catch {
                respond(.failure(Self.error(error)))
            }
        case "answer_permission":
            guard let name = params["instance"]?.stringValue else { respond(.failure(Self.missing("instance"))); return true }
            guard let requestID = params["request_id"]?.stringValue else { respond(.failure(Self.missing("request_id"))); return true }
            let behaviorName = params["behavior"]?.stringValue ?? ""
            guard let behavior = PermissionBehavior(rawValue: behaviorName) else {
                respond(.failure(IPCError(.badParams, "unknown behavior \(behaviorName.debugDescription) (one of "
                    + PermissionBehavior.allCases.map(\.rawValue).joined(separator: ", ") + ")")))
                return true
            }
            let answered = core.answerPermission(instance: name, requestID: requestID, behavior: behavior,
                                                 message: params["message"]?.stringValue ?? "")
            respond(.success(["answered": .bool(answered)]))
        case "rescan":
            core.rescan()
            respond(.success([:]))
        case "check_health":
            core.checkHealth()
            respond(.success(["enabled": .bool(core.healthEnabled)]))
        default:
            return false
        }
        return true
    }

    /// `{resume?: {instance: {from_line_id, last_mark}}, fresh?}`: the snapshot, then every event.
    private func subscribeSession(_ params: JSONValue, peer: IPCPeer, _ respond: @escaping (Result<JSONValue, IPCError>) -> Void) {
        var resume: [String: SessionResume] = [:]
        for (name, value) in params["resume"]?.objectValue ?? [:] {
            guard let from = value["from_line_id"]?.doubleValue, from >= 1 else { continue }
            let mark = value["last_mark"]?.doubleValue ?? 0
            resume[name] = SessionResume(fromLineID: UInt64(from), lastMark: UInt64(max(0, mark)))
        }
        let state = (peer.context as? PeerState) ?? PeerState()
        peer.context = state
        // Paced by the peer's queue: a backlog larger than the queue arrives whole (SessionFeedPacer).
        let pacer = SessionFeedPacer(peer: peer, listener: listener!) { [unowned core] in core.logs[$0] }
        let id = core.subscribeSession(resume: resume, fresh: params["fresh"]?.boolValue ?? false) { [weak self, weak peer] item in
            guard let self, let peer, peer.isConnected else { return }
            self.deliver(to: peer) { pacer.take(item) }
        }
        peer.drainObservers[id] = { [weak pacer] in pacer?.drain() }
        state.sessionSubscriptions.insert(id)
        respond(.success(["subscription": .int(id), "health_enabled": .bool(core.healthEnabled)]))
    }
}

extension InstanceHub.InterruptRoute {
    /// The `interrupt` answer's `route`.
    var wireName: String {
        switch self {
        case .framed: "framed"
        case .interruptByte: "interrupt_byte"
        case .unsupported: "unsupported"
        }
    }
}
