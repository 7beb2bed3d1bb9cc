// IPCListener: the server end of the socket, on the project's poll(2) EventLoop (no threads).
// It accepts connections, checks the peer's uid (SO_PEERCRED) before anything else, sends a
// welcome, requires `auth` with the token within `authTimeout`, then hands each request to an
// `IPCRequestHandler` and answers it (or with `timeout` after `requestTimeout`). It knows nothing
// of instances or sessions: the server (ServerCore) decides what methods and events mean.
//
// Slow clients never slow the server: each peer has an outgoing queue bounded in bytes. An event
// that does not fit is dropped for that peer alone; once its queue has drained to half, the peer
// gets `event skipped {count}` first, so it knows to resync (ask for the backlog from its last
// line id). A response that does not fit even `maxQueuedBytes + maxFrameBytes` disconnects the
// peer (`slow_consumer`). Garbage, an oversized frame, anything but auth before auth, a wrong
// token or no auth in time: an error frame (id null) and the connection is closed; others go on.
//
// Public API (all on the loop thread; `respond` too: from elsewhere, go through `loop.post`):
//   protocol IPCRequestHandler: AnyObject {
//       func handle(_ request: IPCRequest, from peer: IPCPeer, respond: @escaping (Result<JSONValue, IPCError>) -> Void)
//       func peerDidAuthenticate(_ peer: IPCPeer)      // default: nothing
//       func peerDidDisconnect(_ peer: IPCPeer)        // default: nothing
//   }
//   final class IPCPeer { id, uid, pid, isAuthenticated, isConnected, topics: Set<String>,
//                         context: AnyObject?, queuedBytes, skippedEvents }
//   struct IPCListenerOptions { serverVersion, maxFrameBytes, maxQueuedBytes, authTimeout,
//                               requestTimeout, maxRequestsInFlight, maxClients, closeGrace }
//   final class IPCListener(loop:, endpoint:, options:, handler:)
//       start() throws          directory checked/created, new token, socket bound 0600, accepting
//       stop(notice:)           optional last event to everyone, then every connection closed
//                               once flushed (keep running the loop until `peers` is empty or
//                               closeGrace has passed), socket and token files removed (if ours)
//       peers: [IPCPeer]        authenticated or not
//       send(_ event:, to peer:) -> Bool      false: dropped (the peer will get a skip notice);
//                                             also for an event larger than maxFrameBytes
//       send(encoded:, to peer:) -> Bool      the same for a frame encoded once for many peers
//       send(to peer:, make:) -> Bool         the same, `make` not called while the peer drops events
//       skip(_ count:, for peer:)              counts events as dropped (a skip notice follows)
//       broadcast(_ event:, topic:) -> Int    to authenticated peers whose topics hold `topic`
//       broadcast(_ event:, where:) -> Int    encoded once, sent to each matching peer
//       disconnect(_ peer:, error:)           error frame (if any), then closed
//       socketFileIsOurs() -> Bool            false once the socket file is removed or replaced
//       relisten() throws                     listens again at the socket path once it is free
//                                             (gone, or a dead socket); connected peers stay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public protocol IPCRequestHandler: AnyObject {
    /// Answer by calling `respond` once, now or later (on the loop thread). Calls after the
    /// request timed out or the peer left are ignored.
    func handle(_ request: IPCRequest, from peer: IPCPeer, respond: @escaping (Result<JSONValue, IPCError>) -> Void)
    func peerDidAuthenticate(_ peer: IPCPeer)
    func peerDidDisconnect(_ peer: IPCPeer)
}

extension IPCRequestHandler {
    public func peerDidAuthenticate(_ peer: IPCPeer) {}
    public func peerDidDisconnect(_ peer: IPCPeer) {}
}

public struct IPCListenerOptions: Sendable {
    /// Sent in the welcome (cc-bridge-tui's version).
    public var serverVersion: String
    public var maxFrameBytes: Int
    /// Per peer: events beyond this are dropped (and counted) for that peer.
    public var maxQueuedBytes: Int
    /// Seconds a new connection has to authenticate.
    public var authTimeout: Double
    /// Seconds the handler has to answer a request before the peer gets `timeout`.
    public var requestTimeout: Double
    public var maxRequestsInFlight: Int
    public var maxClients: Int
    /// Seconds an error frame has to leave before the connection is closed anyway.
    public var closeGrace: Double

    public init(serverVersion: String = "dev", maxFrameBytes: Int = IPCFrame.defaultMaxFrameBytes,
                maxQueuedBytes: Int = 8 << 20, authTimeout: Double = 5, requestTimeout: Double = 30,
                maxRequestsInFlight: Int = 64, maxClients: Int = 256, closeGrace: Double = 1) {
        self.serverVersion = serverVersion
        self.maxFrameBytes = maxFrameBytes
        self.maxQueuedBytes = maxQueuedBytes
        self.authTimeout = authTimeout
        self.requestTimeout = requestTimeout
        self.maxRequestsInFlight = maxRequestsInFlight
        self.maxClients = maxClients
        self.closeGrace = closeGrace
    }
}

/// One connected client, as the server sees it.
public final class IPCPeer {
    public let id: Int
    public let uid: uid_t
    /// The client's pid (0 where the system does not tell).
    public let pid: Int32
    public internal(set) var isAuthenticated = false
    public var isConnected: Bool { !connection.isClosed }
    /// The event topics this peer gets from `broadcast(_:topic:)`; the server sets them.
    public var topics: Set<String> = []
    /// The server's own per-client state.
    public var context: AnyObject?
    public var queuedBytes: Int { connection.queuedBytes }
    /// Events dropped for this peer since it connected.
    public internal(set) var skippedEvents = 0

    let connection: IPCConnection
    /// Dropped since the last skip notice; while > 0 every event is dropped until the queue is half empty.
    var pendingSkips = 0
    /// Called after each flush of this peer's queue (keyed by the caller's id): a sender that
    /// paces itself by `queuedBytes` goes on from here. Removed by the caller.
    var drainObservers: [Int: () -> Void] = [:]
    var authTimer: EventLoop.TimerID?
    /// In-flight request ids and their timeout timers.
    var inFlight: [Int: EventLoop.TimerID] = [:]

    init(id: Int, uid: uid_t, pid: Int32, connection: IPCConnection) {
        self.id = id
        self.uid = uid
        self.pid = pid
        self.connection = connection
    }
}

public final class IPCListener {
    public let endpoint: IPCEndpoint
    public let options: IPCListenerOptions
    private unowned let loop: EventLoop
    private weak var handler: IPCRequestHandler?
    private var listenFD: Int32 = -1
    private var listenWatch: EventLoop.WatchID?
    private var token = ""
    private var socketIdentity: (dev: UInt64, ino: UInt64)?
    private var nextPeerID = 1
    private var connected: [Int: IPCPeer] = [:]

    /// Shared by every accepted connection (nil: each writes as fast as its socket takes it).
    public var writeBudget: SocketWriteBudget?

    public init(loop: EventLoop, endpoint: IPCEndpoint, options: IPCListenerOptions = IPCListenerOptions(),
                handler: IPCRequestHandler) {
        self.loop = loop
        self.endpoint = endpoint
        self.options = options
        self.handler = handler
    }

    deinit {
        for peer in connected.values { peer.connection.close() }
        if listenFD >= 0 { close(listenFD) }
    }

    public var peers: [IPCPeer] { connected.keys.sorted().compactMap { connected[$0] } }
    public var isListening: Bool { listenFD >= 0 }

    /// Prepares the directory, writes a new token and listens. A socket file nobody listens on (a
    /// dead server's) is replaced; a live server's is refused (SystemError EADDRINUSE), its token
    /// left alone. The caller should hold the server lock (one server per endpoint) all the same.
    public func start() throws {
        guard listenFD < 0 else { return }
        try endpoint.prepareDirectory()
        // A live server keeps its socket and its token (normally the server lock stops us sooner).
        guard !IPCSocket.isLive(endpoint.socketPath) else {
            throw SystemError("bind", EADDRINUSE, path: endpoint.socketPath)
        }
        token = try endpoint.writeNewToken()
        listenFD = try IPCSocket.listen(at: endpoint.socketPath)
        var st = stat()
        if stat(endpoint.socketPath, &st) == 0 { socketIdentity = (UInt64(st.st_dev), UInt64(st.st_ino)) }
        listenWatch = loop.watch(listenFD, for: .readable) { [weak self] _ in self?.acceptPending() }
    }

    /// Sends `notice` (e.g. server_stopping) to every authenticated peer, closes every connection
    /// (queued frames get `closeGrace` to leave while the loop runs) and removes the socket and token.
    public func stop(notice: IPCEvent? = nil) {
        if let listenWatch { loop.unwatch(listenWatch) }
        listenWatch = nil
        if listenFD >= 0 {
            close(listenFD)
            listenFD = -1
            if socketFileIsOurs() { unlink(endpoint.socketPath) }
            unlink(endpoint.tokenPath)
        }
        let bytes = notice.map { IPCMessage.event($0).encoded() }
        for peer in peers {
            if let bytes, peer.isAuthenticated { peer.connection.send(bytes) }
            peer.connection.closeAfterFlush(grace: options.closeGrace)
        }
    }

    /// Listens again at the socket path after its file was removed (or replaced by a dead
    /// socket): a new listening socket, the token file written again if it is gone (a new token),
    /// the directory made again if it is gone. Connected peers stay connected. Anything else at the
    /// path (a regular file, a live socket) is left alone: SystemError EEXIST / EADDRINUSE.
    public func relisten() throws {
        guard listenFD >= 0 else { return }
        try endpoint.prepareDirectory()
        let fd = try IPCSocket.listen(at: endpoint.socketPath)
        if let listenWatch { loop.unwatch(listenWatch) }
        close(listenFD)
        listenFD = fd
        var st = stat()
        socketIdentity = stat(endpoint.socketPath, &st) == 0 ? (UInt64(st.st_dev), UInt64(st.st_ino)) : nil
        listenWatch = loop.watch(listenFD, for: .readable) { [weak self] _ in self?.acceptPending() }
        if (try? endpoint.readToken()) != token { token = try endpoint.writeNewToken() }
    }

    /// False once the socket file was removed or replaced by another (clients could not find us).
    public func socketFileIsOurs() -> Bool {
        guard let socketIdentity else { return false }
        var st = stat()
        guard lstat(endpoint.socketPath, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else { return false }
        return UInt64(st.st_dev) == socketIdentity.dev && UInt64(st.st_ino) == socketIdentity.ino
    }

    // MARK: events

    @discardableResult
    public func send(_ event: IPCEvent, to peer: IPCPeer) -> Bool {
        deliver(IPCMessage.event(event).encodedParts(), to: peer)
    }

    /// An event already encoded as a whole frame (`IPCMessage.event(e).encoded()`), so one
    /// encoding serves many peers; same rules as `send(_:to:)`.
    @discardableResult
    public func send(encoded bytes: [UInt8], to peer: IPCPeer) -> Bool {
        deliver([bytes], to: peer)
    }

    /// The same for an event that is expensive to make: while the peer is dropping events (it
    /// fell behind and has not drained to half yet) `make` is not called and the event counts as
    /// skipped, so a client that cannot keep up costs no encoding (a resubscribe's backlog).
    @discardableResult
    public func send(to peer: IPCPeer, _ make: () -> IPCEvent) -> Bool {
        guard peer.isAuthenticated, peer.isConnected else { return false }
        if peer.pendingSkips > 0 {
            peer.pendingSkips += 1
            peer.skippedEvents += 1
            if peer.queuedBytes == 0 { drained(peer) }
            return false
        }
        return deliver(IPCMessage.event(make()).encodedParts(), to: peer)
    }

    /// Counts `count` events as dropped for the peer without sending them: it hears of them in
    /// a skip notice once its queue is half empty (a paced sender that gave up on it).
    public func skip(_ count: Int, for peer: IPCPeer) {
        guard count > 0, peer.isAuthenticated, peer.isConnected else { return }
        peer.pendingSkips += count
        peer.skippedEvents += count
        if peer.queuedBytes == 0 { drained(peer) }
    }

    @discardableResult
    public func broadcast(_ event: IPCEvent, topic: String) -> Int {
        broadcast(event) { $0.topics.contains(topic) }
    }

    /// Sends `event` to every authenticated peer `matching` accepts; returns how many got it
    /// queued (the others dropped it and will get a skip notice).
    @discardableResult
    public func broadcast(_ event: IPCEvent, where matching: (IPCPeer) -> Bool) -> Int {
        var bytes: [UInt8]?
        var delivered = 0
        for peer in connected.values where peer.isAuthenticated && matching(peer) {
            if bytes == nil { bytes = IPCMessage.event(event).encoded() }
            if deliver([bytes!], to: peer) { delivered += 1 }
        }
        return delivered
    }

    public func disconnect(_ peer: IPCPeer, error: IPCError? = nil) {
        if let error { peer.connection.send(IPCMessage.error(id: nil, error).encoded()) }
        peer.connection.closeAfterFlush(grace: options.closeGrace)
    }

    /// One encoded frame, whole or in parts (its head and its attachment, not joined).
    private func deliver(_ parts: [[UInt8]], to peer: IPCPeer) -> Bool {
        guard peer.isAuthenticated, peer.isConnected else { return false }
        let limit = options.maxQueuedBytes
        var size = 0
        for part in parts { size += part.count }
        // An event larger than a frame may be would end the client's connection: it is skipped
        // like one that does not fit (the server splits output into smaller events).
        let tooLarge = size - IPCFrame.headerBytes > options.maxFrameBytes
        if tooLarge || peer.pendingSkips > 0 || peer.queuedBytes + size > limit {
            peer.pendingSkips += 1
            peer.skippedEvents += 1
            // Nothing queued means no flush to bring the notice: send it now.
            if peer.queuedBytes == 0 { drained(peer) }
            return false
        }
        peer.connection.send(parts: parts)
        return true
    }

    /// After a flush: a peer that dropped events hears how many once its queue is half empty.
    private func drained(_ peer: IPCPeer) {
        guard peer.pendingSkips > 0, peer.queuedBytes <= options.maxQueuedBytes / 2 else { return }
        let count = peer.pendingSkips
        peer.pendingSkips = 0
        let notice = IPCEvent(name: IPCEventName.skipped, data: ["count": .int(count)])
        peer.connection.send(IPCMessage.event(notice).encoded())
    }

    // MARK: connections

    private func acceptPending() {
        while listenFD >= 0, let fd = IPCSocket.accept(listenFD) {
            let connection = IPCConnection(fd: fd, loop: loop, maxFrameBytes: options.maxFrameBytes,
                                           pauseReadingAbove: options.maxQueuedBytes)
            connection.writeBudget = writeBudget
            let credentials = IPCSocket.peerCredentials(fd)
            let peer = IPCPeer(id: nextPeerID, uid: credentials?.uid ?? uid_t.max, pid: credentials?.pid ?? 0,
                               connection: connection)
            nextPeerID += 1
            connected[peer.id] = peer
            connection.onFrame = { [weak self, unowned peer] frame in self?.received(frame, from: peer) }
            connection.onFrameError = { [weak self, unowned peer] error in
                let code: IPCErrorCode = if case .frameTooLarge = error { .frameTooLarge } else { .badFrame }
                self?.disconnect(peer, error: IPCError(code, error.description))
            }
            connection.onDrain = { [weak self, unowned peer] in
                self?.drained(peer)
                for id in peer.drainObservers.keys.sorted() where peer.isConnected { peer.drainObservers[id]?() }
            }
            connection.onClose = { [weak self, unowned peer] in self?.closed(peer) }
            connection.start()
            // The uid is checked before anything else: another user gets one error frame.
            guard let credentials, credentials.uid == geteuid() else {
                let who = credentials.map { "uid \($0.uid)" } ?? "a peer whose uid is unknown"
                disconnect(peer, error: IPCError(.forbidden, "this server serves uid \(geteuid()) only, not \(who)"))
                continue
            }
            guard connected.count <= options.maxClients else {
                disconnect(peer, error: IPCError(.busy, "too many clients (\(options.maxClients))"))
                continue
            }
            connection.send(IPCMessage.welcome(protocol: IPCProtocol.version, version: options.serverVersion,
                                               pid: Int(getpid())).encoded())
            peer.authTimer = loop.schedule(after: options.authTimeout) { [weak self, weak peer] in
                guard let self, let peer, !peer.isAuthenticated else { return }
                self.disconnect(peer, error: IPCError(.timeout, "no auth within \(self.options.authTimeout) s"))
            }
        }
    }

    private func closed(_ peer: IPCPeer) {
        connected[peer.id] = nil
        if let timer = peer.authTimer { loop.cancel(timer) }
        for timer in peer.inFlight.values { loop.cancel(timer) }
        peer.inFlight = [:]
        if peer.isAuthenticated { handler?.peerDidDisconnect(peer) }
    }

    private func received(_ frame: IPCFrame, from peer: IPCPeer) {
        let message: IPCMessage
        switch IPCMessage.decode(frame) {
        case .success(let decoded): message = decoded
        case .failure(let error):
            disconnect(peer, error: IPCError(.badFrame, error.description))
            return
        }
        guard peer.isAuthenticated else {
            authenticate(peer, with: message)
            return
        }
        guard case .request(let request) = message else {
            disconnect(peer, error: IPCError(.badFrame, "a client sends requests only, not \(message.typeName)"))
            return
        }
        handle(request, from: peer)
    }

    private func authenticate(_ peer: IPCPeer, with message: IPCMessage) {
        guard case .auth(let version, let given) = message else {
            disconnect(peer, error: IPCError(.unauthenticated, "authenticate first (\(message.typeName) before auth)"))
            return
        }
        guard version == IPCProtocol.version else {
            disconnect(peer, error: IPCError(.unsupportedVersion,
                                             "client speaks protocol \(version), this server \(IPCProtocol.version)"))
            return
        }
        guard IPCToken.matches(given, token) else {
            disconnect(peer, error: IPCError(.unauthenticated, "wrong token"))
            return
        }
        peer.isAuthenticated = true
        if let timer = peer.authTimer { loop.cancel(timer) }
        peer.authTimer = nil
        peer.connection.send(IPCMessage.authOK.encoded())
        handler?.peerDidAuthenticate(peer)
    }

    private func handle(_ request: IPCRequest, from peer: IPCPeer) {
        let id = request.id
        guard peer.inFlight[id] == nil else {
            answer(peer, .error(id: id, IPCError(.badParams, "request id \(id) is already in flight")))
            return
        }
        guard peer.inFlight.count < options.maxRequestsInFlight else {
            answer(peer, .error(id: id, IPCError(.busy, "more than \(options.maxRequestsInFlight) requests in flight")))
            return
        }
        guard let handler else {
            answer(peer, .error(id: id, IPCError(.internal, "the server is shutting down")))
            return
        }
        let timeout = options.requestTimeout
        let timer = loop.schedule(after: timeout) { [weak self, weak peer] in
            guard let self, let peer, peer.inFlight.removeValue(forKey: id) != nil else { return }
            self.answer(peer, .error(id: id, IPCError(.timeout, "no answer to \(request.method) within \(timeout) s")))
        }
        peer.inFlight[id] = timer
        handler.handle(request, from: peer) { [weak self, weak peer] result in
            guard let self, let peer, let timer = peer.inFlight.removeValue(forKey: id) else { return }
            self.loop.cancel(timer)
            switch result {
            case .success(let value): self.answer(peer, .response(id: id, result: value))
            case .failure(let error): self.answer(peer, .error(id: id, error))
            }
        }
    }

    /// Responses are not dropped: one that cannot be queued even above the event bound ends the peer.
    private func answer(_ peer: IPCPeer, _ message: IPCMessage) {
        guard peer.isConnected else { return }
        var bytes = message.encoded()
        if bytes.count - IPCFrame.headerBytes > options.maxFrameBytes, case .response(let id, _) = message {
            bytes = IPCMessage.error(id: id, IPCError(.internal, "the result is larger than a frame (\(options.maxFrameBytes) bytes)")).encoded()
        }
        guard peer.queuedBytes + bytes.count <= options.maxQueuedBytes + options.maxFrameBytes else {
            peer.connection.close()
            return
        }
        peer.connection.send(bytes)
    }
}

extension IPCMessage {
    /// The wire name of the message's type, for error texts.
    var typeName: String {
        switch self {
        case .welcome: return "welcome"
        case .auth: return "auth"
        case .authOK: return "auth_ok"
        case .request: return "request"
        case .response: return "response"
        case .error: return "error"
        case .event: return "event"
        }
    }
}
