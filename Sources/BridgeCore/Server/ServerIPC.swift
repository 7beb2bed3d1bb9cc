// ServerIPC: the server's socket side. It answers the IPCListener's requests from the ServerCore
// (methods: list, status, history, health, send, turn, subscribe, unsubscribe, server.status,
// server.stop; docs/server.md) and forwards each peer's subscriptions' events to that peer, which
// the listener queues (bounded) so a slow client never slows the server. A peer that leaves has
// its subscriptions dropped. Loop thread only.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class ServerIPC: IPCRequestHandler {
    let core: ServerCore
    var listener: IPCListener!
    /// Asked to stop the server (`server.stop`).
    public var onStop: () -> Void = {}

    /// A peer's subscriptions.
    final class PeerState {
        var subscriptions: Set<ServerCore.SubscriptionID> = []
        var sessionSubscriptions: Set<ServerCore.SubscriptionID> = []
    }

    public init(core: ServerCore, endpoint: IPCEndpoint, options: IPCListenerOptions = IPCListenerOptions()) {
        self.core = core
        listener = IPCListener(loop: core.loop, endpoint: endpoint, options: options, handler: self)
        // While output floods in, the copies into clients' sockets follow the drain (issue 13:
        // fifty viewers never slow the agent); with no flood they are not limited.
        let budget = SocketWriteBudget(loop: core.loop)
        listener.writeBudget = budget
        core.onOutputDrained = { [budget] bytes in budget.drained(bytes) }
        core.onDrainFellBehind = { [budget] in budget.fellBehind() }
    }

    public var endpoint: IPCEndpoint { listener.endpoint }
    public var clientCount: Int { listener.peers.filter(\.isAuthenticated).count }
    /// Some connection is still open (after `stop`: its last bytes are still leaving).
    public var hasOpenConnections: Bool { listener.peers.contains(where: \.isConnected) }

    /// False once the socket file was removed or replaced (see `relisten`).
    public var socketFileIsOurs: Bool { listener.socketFileIsOurs() }

    /// Listens again at the socket path once it is free (IPCListener.relisten).
    public func relisten() throws { try listener.relisten() }

    /// Binds the socket (0600, a new token) and accepts connections.
    public func start() throws {
        try listener.start()
    }

    /// Tells every client the server stops, closes the connections, removes socket and token.
    public func stop() {
        uncorkAll()
        listener.stop(notice: ServerWire.event(.serverStopping))
    }

    public func peerDidDisconnect(_ peer: IPCPeer) {
        guard let state = peer.context as? PeerState else { return }
        for id in state.subscriptions { core.unsubscribe(id) }
        state.subscriptions = []
        for id in state.sessionSubscriptions { core.unsubscribeSession(id) }
        state.sessionSubscriptions = []
    }

    public func handle(_ request: IPCRequest, from peer: IPCPeer, respond: @escaping (Result<JSONValue, IPCError>) -> Void) {
        let params = request.params
        switch request.method {
        case "list":
            respond(.success(["pipe_dir": .string(core.pipeDirectory), "instances": .array(core.list().map(ServerWire.instance))]))
        case "status":
            guard let name = params["instance"]?.stringValue else { return respond(.failure(Self.missing("instance"))) }
            do {
                respond(.success(ServerWire.status(try core.status(of: name))))
            } catch {
                respond(.failure(Self.error(error)))
            }
        case "history":
            guard let name = params["instance"]?.stringValue else { return respond(.failure(Self.missing("instance"))) }
            let turns = core.history(of: name, limit: params["limit"]?.intValue)
            respond(.success(["instance": .string(name), "turns": .array(turns.map(\.jsonValue))]))
        case "health":
            health(respond, deadline: MonotonicClock.now() + 20)
        case "send":
            send(params, respond)
        case "turn":
            turn(params, respond)
        case "subscribe":
            subscribe(params, peer: peer, respond)
        case "unsubscribe":
            guard let id = params["subscription"]?.intValue else { return respond(.failure(Self.missing("subscription"))) }
            if let state = peer.context as? PeerState, state.subscriptions.remove(id) != nil { core.unsubscribe(id) }
            respond(.success([:]))
        case "server.status":
            respond(.success([
                "pid": .int(Int(getpid())), "pipe_dir": .string(core.pipeDirectory), "socket": .string(endpoint.socketPath),
                "started": .number(core.startedAt), "uptime": .number(Date().timeIntervalSince1970 - core.startedAt),
                "instances": .int(core.list().count), "clients": .int(clientCount),
            ]))
        case "server.stop":
            respond(.success(["stopping": true]))
            // A moment later, so the answer has left before the connections close.
            core.loop.schedule(after: 0.1) { [weak self] in self?.onStop() }
        default:
            if handleSessionMethod(request, from: peer, respond) { return }
            respond(.failure(IPCError(.unknownMethod, "unknown method \(request.method.debugDescription)")))
        }
    }

    private func send(_ params: JSONValue, _ respond: @escaping (Result<JSONValue, IPCError>) -> Void) {
        guard let name = params["instance"]?.stringValue else { return respond(.failure(Self.missing("instance"))) }
        guard let text = params["text"]?.stringValue else { return respond(.failure(Self.missing("text"))) }
        let originName = params["origin"]?.stringValue ?? PromptOrigin.cli.rawValue
        guard let origin = PromptOrigin(rawValue: originName) else {
            return respond(.failure(IPCError(.badParams, "unknown origin \(originName.debugDescription) "
                + "(one of \(PromptOrigin.allCases.map(\.rawValue).joined(separator: ", ")))")))
        }
        if let id = params["id"], !id.isNull, !(id.stringValue.map(PromptIDLedger.isValidID) ?? false) {
            return respond(.failure(IPCError(.badParams, "id must be a string of 1 to \(PromptIDLedger.maxIDLength) letters, digits and . _ : -")))
        }
        let wait = waitSeconds(params)
        do {
            try core.send(text, to: name, id: params["id"]?.stringValue, origin: origin) { [weak self] result in
                guard let self else { return respond(.success(ServerWire.sendResult(result))) }
                self.answer(result, instance: name, wait: wait, respond)
            }
        } catch {
            respond(.failure(Self.error(error)))
        }
    }

    /// A send's answer; with `wait`, once its turn has ended (or the wait is over), with the turn.
    private func answer(_ result: ServerSendResult, instance: String, wait: Double,
                        _ respond: @escaping (Result<JSONValue, IPCError>) -> Void) {
        guard wait > 0 else { return respond(.success(ServerWire.sendResult(result))) }
        let id: String
        switch result {
        case .delivered(let promptID), .queued(let promptID, _), .failed(let promptID, _): id = promptID
        }
        core.waitForTurnEnd(instance: instance, id: id, timeout: wait) { lookup in
            guard case .object(var fields) = ServerWire.sendResult(result) else { return }
            fields["turn"] = lookup.map(ServerWire.turnLookup) ?? .null
            respond(.success(.object(fields)))
        }
    }

    /// `{instance, id, wait?}`: where the prompt is; with `wait`, once its turn ended (or the
    /// wait is over). An id the server knows nothing of is `no_such_turn`.
    private func turn(_ params: JSONValue, _ respond: @escaping (Result<JSONValue, IPCError>) -> Void) {
        guard let name = params["instance"]?.stringValue else { return respond(.failure(Self.missing("instance"))) }
        guard let id = params["id"]?.stringValue else { return respond(.failure(Self.missing("id"))) }
        guard core.list().contains(where: { $0.info.name == name }) || !core.history(of: name).isEmpty else {
            return respond(.failure(Self.error(ServerError.noSuchInstance(name, directory: core.pipeDirectory))))
        }
        core.waitForTurnEnd(instance: name, id: id, timeout: waitSeconds(params)) { lookup in
            guard let lookup else {
                return respond(.failure(IPCError(.noSuchTurn, "no prompt with id \(id.debugDescription) is known for \(name)")))
            }
            respond(.success(ServerWire.turnLookup(lookup)))
        }
    }

    /// `wait` in seconds, kept below the listener's request timeout so the answer is never late.
    private func waitSeconds(_ params: JSONValue) -> Double {
        guard let wait = params["wait"]?.doubleValue, wait.isFinite, wait > 0 else { return 0 }
        return min(wait, max(0, listener.options.requestTimeout - 2))
    }

    /// `{instance?, from_line_id?}` or `{from: {name: id}}`: the backlog, then live events.
    private func subscribe(_ params: JSONValue, peer: IPCPeer, _ respond: @escaping (Result<JSONValue, IPCError>) -> Void) {
        let scope: ServerCore.Scope
        var from: [String: UInt64] = [:]
        if let name = params["instance"]?.stringValue {
            guard core.list().contains(where: { $0.info.name == name }) else {
                return respond(.failure(Self.error(ServerError.noSuchInstance(name, directory: core.pipeDirectory))))
            }
            scope = .instance(name)
            if let id = params["from_line_id"]?.doubleValue, id >= 0 { from[name] = UInt64(id) }
        } else {
            scope = .all
        }
        for (name, value) in params["from"]?.objectValue ?? [:] {
            if let id = value.doubleValue, id >= 0 { from[name] = UInt64(id) }
        }
        let state = (peer.context as? PeerState) ?? PeerState()
        peer.context = state
        let id = core.subscribe(scope, from: from) { [weak self, weak peer] event in
            guard let self, let peer, peer.isConnected else { return }
            self.deliver(to: peer) { _ = self.listener.send(encoded: self.encoded(event), to: peer) }
        }
        state.subscriptions.insert(id)
        respond(.success(["subscription": .int(id)]))
    }

    // MARK: one write per peer and loop turn

    /// Peers whose connection holds this loop turn's events (`IPCConnection.cork`) until the
    /// turn's timers run: a prompt's events (turn started, activity, the answer to `send`) wake a
    /// client once, not once each; so do a reply's output and the end of its turn read with it
    /// (a plain agent's `❯ ` marker, a framed `done`), which leave in one write.
    private var corked: [IPCPeer] = []

    /// Sends through `send`, held until this loop turn's timers run.
    func deliver(to peer: IPCPeer, _ send: () -> Void) {
        if !peer.connection.isCorked {
            peer.connection.cork()
            corked.append(peer)
            if corked.count == 1 { core.loop.schedule(after: 0) { [weak self] in self?.uncorkAll() } }
        }
        send()
    }

    private func uncorkAll() {
        let peers = corked
        corked = []
        for peer in peers { peer.connection.uncork() }
    }

    /// The last live event encoded, by its broadcast number: 50 subscribers, one encoding.
    private var lastEncoded: (broadcast: Int, bytes: [UInt8])?

    private func encoded(_ event: ServerEvent) -> [UInt8] {
        let broadcast = core.currentBroadcast
        if let broadcast, let last = lastEncoded, last.broadcast == broadcast { return last.bytes }
        let bytes = IPCMessage.event(ServerWire.event(event)).encoded()
        lastEncoded = broadcast.map { ($0, bytes) }
        return bytes
    }

    /// The last report; before the first one, a check now and the answer when it is in.
    private func health(_ respond: @escaping (Result<JSONValue, IPCError>) -> Void, deadline: Double) {
        guard core.healthEnabled else {
            return respond(.success(["enabled": false, "reason": "health checks are disabled (docker.health.enabled: false)"]))
        }
        if let report = core.lastHealth { return respond(.success(ServerWire.encode(report))) }
        if MonotonicClock.now() > deadline { return respond(.failure(IPCError(.timeout, "no health report yet"))) }
        core.checkHealth()
        core.loop.schedule(after: 0.05) { [weak self] in self?.health(respond, deadline: deadline) }
    }

    static func missing(_ name: String) -> IPCError { IPCError(.badParams, "missing \(name)") }

    static func error(_ error: ServerError) -> IPCError {
        switch error {
        case .noSuchInstance: IPCError(.noSuchInstance, error.description)
        case .refused, .duplicatePromptID: IPCError(.badParams, error.description)
        }
    }
}
