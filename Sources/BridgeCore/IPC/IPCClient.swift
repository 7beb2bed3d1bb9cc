// IPCClient: the client end of the server socket, on an EventLoop: connect, read the welcome,
// authenticate with the token from the endpoint's token file, send requests with ids and
// timeouts, hand events to a callback, and, when the connection is lost or the server is not
// there, try again after an exponential backoff with jitter (IPCBackoff) until `stop()`.
//
// Requests made while not connected wait (bounded, each with its own timeout) and go out once
// authenticated; requests in flight when the connection drops fail with `disconnected` (the
// server may or may not have done them). After a reconnect the server knows nothing of this
// client: re-subscribe in `onStateChange` when the state becomes `.ready` (naming the last line id
// seen, so nothing is lost or repeated). An `event skipped {count}` means the server dropped
// events for this client: resync the same way.
//
// The transport (IPCTransport) is the local server's Unix socket or a child process's standard
// input and output (`ssh HOST cc-bridge-tui dial-stdio`: the remote end authenticates to its own
// server, so no token is sent through it). A child that ends is reaped and its standard error
// and exit turned into a typed error (host unreachable, authentication refused, host key
// mismatch, remote program missing); failures a retry cannot cure (`isPermanent`) stop the client.
//
// Public API (all on the loop thread):
//   final class IPCClient(loop:, endpoint:, options: IPCClientOptions) / (loop:, transport:, options:)
//     transport, endpoint (nil for a command transport)
//     start(), stop(), state: IPCClient.State, serverPid, serverVersion
//     onEvent: (IPCEvent) -> Void, onStateChange: (IPCClient.State) -> Void
//     request(_ method:, params:, timeout:, completion: (Result<JSONValue, IPCError>) -> Void)
//     static call(_ method:, params:, endpoint:, timeout:) -> Result<JSONValue, IPCError>
//       blocking, for CLI commands: its own loop, one connection, one request, no reconnect
//     static call(_ method:, params:, transport:, timeout:)   the same over any transport
//   enum IPCClient.State: idle, connecting, authenticating, ready, waiting(attempt:delay:lastError:), stopped(IPCError?)
//   struct IPCClientOptions { requestTimeout, handshakeTimeout, reconnect: IPCBackoff? (nil: none),
//                             maxFrameBytes, maxPendingRequests, maxQueuedBytes, jitterUnit (tests) }

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct IPCClientOptions: Sendable {
    public var requestTimeout: Double
    /// Seconds from connect to auth_ok before the attempt counts as failed.
    public var handshakeTimeout: Double
    /// nil: no reconnect; the first failure stops the client.
    public var reconnect: IPCBackoff?
    public var maxFrameBytes: Int
    public var maxPendingRequests: Int
    /// Stop reading while this many bytes wait to go out.
    public var maxQueuedBytes: Int
    /// Picks the jitter (0...1) for each retry; nil: random.
    public var jitterUnit: (@Sendable () -> Double)?

    public init(requestTimeout: Double = 10, handshakeTimeout: Double = 5, reconnect: IPCBackoff? = IPCBackoff(),
                maxFrameBytes: Int = IPCFrame.defaultMaxFrameBytes, maxPendingRequests: Int = 1024,
                maxQueuedBytes: Int = 8 << 20, jitterUnit: (@Sendable () -> Double)? = nil) {
        self.requestTimeout = requestTimeout
        self.handshakeTimeout = handshakeTimeout
        self.reconnect = reconnect
        self.maxFrameBytes = maxFrameBytes
        self.maxPendingRequests = maxPendingRequests
        self.maxQueuedBytes = maxQueuedBytes
        self.jitterUnit = jitterUnit
    }
}

public final class IPCClient {
    public enum State: Equatable, Sendable {
        case idle
        case connecting
        case authenticating
        case ready
        /// Retrying in `delay` seconds; `attempt` counts failures since the last success.
        case waiting(attempt: Int, delay: Double, lastError: IPCError)
        /// By `stop()` (nil), or by an error with reconnecting off or hopeless (another protocol version).
        case stopped(IPCError?)
    }

    public let transport: IPCTransport
    public var endpoint: IPCEndpoint? {
        if case .unixSocket(let endpoint) = transport { return endpoint }
        return nil
    }
    public let options: IPCClientOptions
    public private(set) var state: State = .idle {
        didSet { if state != oldValue { onStateChange(state) } }
    }
    public private(set) var serverPid: Int?
    public private(set) var serverVersion: String?
    public var onEvent: (IPCEvent) -> Void = { _ in }
    public var onStateChange: (State) -> Void = { _ in }

    private unowned let loop: EventLoop
    private var connection: IPCConnection?
    /// The transport program of the current connection (command transports).
    private var child: IPCChildProcess?
    private var handshakeTimer: EventLoop.TimerID?
    private var retryTimer: EventLoop.TimerID?
    private var attempt = 0
    private var lastError: IPCError?
    private var nextID = 1

    private struct Pending {
        var method: String
        var params: JSONValue
        var completion: (Result<JSONValue, IPCError>) -> Void
        var timer: EventLoop.TimerID
        var sent = false
    }
    private var pending: [Int: Pending] = [:]
    /// Ids not sent yet, oldest first.
    private var unsent: [Int] = []

    public convenience init(loop: EventLoop, endpoint: IPCEndpoint, options: IPCClientOptions = IPCClientOptions()) {
        self.init(loop: loop, transport: .unixSocket(endpoint), options: options)
    }

    public init(loop: EventLoop, transport: IPCTransport, options: IPCClientOptions = IPCClientOptions()) {
        self.loop = loop
        self.transport = transport
        self.options = options
    }

    deinit {
        connection?.close()
        child?.terminate()
        if let handshakeTimer { loop.cancel(handshakeTimer) }
        if let retryTimer { loop.cancel(retryTimer) }
        for entry in pending.values { loop.cancel(entry.timer) }
    }

    public func start() {
        switch state {
        case .idle, .stopped: break
        default: return
        }
        attempt = 0
        connect()
    }

    /// Closes the connection, stops retrying, fails every waiting request.
    public func stop() {
        if let retryTimer { loop.cancel(retryTimer) }
        retryTimer = nil
        dropConnection()
        failAll(IPCError(.disconnected, "client stopped"), sentOnly: false)
        state = .stopped(nil)
    }

    public func request(_ method: String, params: JSONValue = .null, timeout: Double? = nil,
                        completion: @escaping (Result<JSONValue, IPCError>) -> Void) {
        if case .stopped(let error) = state {
            completion(.failure(error ?? IPCError(.disconnected, "client stopped")))
            return
        }
        guard pending.count < options.maxPendingRequests else {
            completion(.failure(IPCError(.busy, "more than \(options.maxPendingRequests) requests waiting")))
            return
        }
        let id = nextID
        nextID += 1
        let limit = timeout ?? options.requestTimeout
        let timer = loop.schedule(after: limit) { [weak self] in
            guard let self, let entry = self.pending.removeValue(forKey: id) else { return }
            self.unsent.removeAll { $0 == id }
            entry.completion(.failure(IPCError(.timeout, "no answer to \(method) within \(limit) s")))
        }
        pending[id] = Pending(method: method, params: params, completion: completion, timer: timer)
        unsent.append(id)
        if state == .ready { sendUnsent() }
    }

    // MARK: connection

    private func connect() {
        state = .connecting
        guard let (token, fd, inProgress) = openTransport() else { return }
        let connection = IPCConnection(fd: fd, loop: loop, maxFrameBytes: options.maxFrameBytes,
                                       pauseReadingAbove: options.maxQueuedBytes)
        self.connection = connection
        connection.onFrame = { [weak self] frame in self?.received(frame, token: token) }
        connection.onFrameError = { [weak self] error in
            self?.lastError = IPCError(.badFrame, "from the server: \(error)")
            self?.connection?.close()
        }
        connection.onClose = { [weak self] in self?.connectionClosed() }
        handshakeTimer = loop.schedule(after: options.handshakeTimeout) { [weak self] in
            guard let self, self.state != .ready else { return }
            self.lastError = IPCError(.timeout, "no welcome and auth_ok within \(self.options.handshakeTimeout) s")
            self.connection?.close()
        }
        state = .authenticating
        if inProgress {
            connection.startConnecting { [weak self] code in
                guard code != 0, let self else { return }
                self.lastError = IPCError(code == ECONNREFUSED ? .notRunning : .disconnected,
                                          "cannot connect to the server: \(SystemError("connect", code, path: self.transport.label))")
                self.connection?.close()
            }
        } else {
            connection.start()
        }
    }

    /// Starts the transport: the token to send, the descriptor, whether a connect is still in
    /// progress; nil once `failed` has been told why not.
    private func openTransport() -> (token: String, fd: Int32, inProgress: Bool)? {
        switch transport {
        case .command(let command):
            do {
                let child = try IPCChildProcess.spawn(command, loop: loop)
                self.child = child
                return ("", child.fd, false)   // the far end (dial-stdio) puts the token in
            } catch {
                failed(error)
                return nil
            }
        case .unixSocket(let endpoint):
            do {
                try endpoint.checkDirectory()
                let token = try endpoint.readToken()
                let (fd, inProgress) = try IPCSocket.connect(to: endpoint.socketPath)
                return (token, fd, inProgress)
            } catch let error as IPCEndpointError {
                failed(IPCError(.notRunning, "no server for this pipe directory (\(error))"))
            } catch let error as SystemError {
                let code: IPCErrorCode = error.code == ENOENT || error.code == ECONNREFUSED ? .notRunning : .disconnected
                failed(IPCError(code, "cannot connect to the server: \(error)"))
            } catch {
                failed(IPCError(.disconnected, "cannot connect to the server: \(error)"))
            }
            return nil
        }
    }

    private func received(_ frame: IPCFrame, token: String) {
        let message: IPCMessage
        switch IPCMessage.decode(frame) {
        case .success(let decoded): message = decoded
        case .failure(let error):
            lastError = IPCError(.badFrame, "from the server: \(error)")
            connection?.close()
            return
        }
        switch message {
        case .welcome(let version, let serverVersion, let pid):
            guard version == IPCProtocol.version else {
                lastError = IPCError(.unsupportedVersion, "the server speaks protocol \(version), this client \(IPCProtocol.version)")
                connection?.close()
                return
            }
            self.serverVersion = serverVersion
            serverPid = pid
            connection?.send(IPCMessage.auth(protocol: IPCProtocol.version, token: token).encoded())
        case .authOK:
            if let handshakeTimer { loop.cancel(handshakeTimer) }
            handshakeTimer = nil
            attempt = 0
            lastError = nil
            state = .ready
            sendUnsent()
        case .response(let id, let result):
            complete(id, .success(result))
        case .error(let id?, let error):
            complete(id, .failure(error))
        case .error(nil, let error):
            // About the connection: the server closes it after this.
            lastError = error
        case .event(let event):
            if state == .ready { onEvent(event) }
        case .auth, .request:
            lastError = IPCError(.badFrame, "the server sent a \(message.typeName)")
            connection?.close()
        }
    }

    private func complete(_ id: Int, _ result: Result<JSONValue, IPCError>) {
        guard let entry = pending.removeValue(forKey: id) else { return }   // late, after its timeout
        loop.cancel(entry.timer)
        entry.completion(result)
    }

    private func sendUnsent() {
        guard let connection else { return }
        let ids = unsent
        unsent = []
        for id in ids {
            guard let entry = pending[id] else { continue }
            pending[id]?.sent = true
            connection.send(IPCMessage.request(IPCRequest(id: id, method: entry.method, params: entry.params)).encoded())
        }
    }

    private func connectionClosed() {
        connection = nil
        if let handshakeTimer { loop.cancel(handshakeTimer) }
        handshakeTimer = nil
        if let child, case .command(let command) = transport {
            // Why the program ended says more than the closed socket: wait (briefly) for it.
            let known = lastError
            // It ends by itself once ssh is gone; when we closed (a refused welcome), ssh sees
            // the end of its input and leaves quickly, or is ended.
            child.finish(grace: known == nil ? 3 : 0.5) { [weak self] stderr, exit in
                guard let self, self.child === child else { return }
                self.child = nil
                var error = known
                if known == nil || known?.code == .badFrame || known?.code == .timeout,
                   let classified = command.classifyFailure(stderr, exit) {
                    error = classified
                } else if let known, known.code == .badFrame {
                    error = IPCError(.badFrame, "\(command.label): \(known.message) (does a login script there print to standard output?)")
                }
                self.failed(error ?? IPCError(.disconnected, "\(command.label): the connection ended (\(exit.map { "\($0)" } ?? "still running"))"))
            }
            return
        }
        let error = lastError ?? IPCError(.disconnected, "the server closed the connection")
        failed(error)
    }

    private func dropConnection() {
        if let handshakeTimer { loop.cancel(handshakeTimer) }
        handshakeTimer = nil
        if let connection {
            connection.onClose = {}
            connection.close()
        }
        connection = nil
        child?.terminate()
        child = nil
    }

    /// A connection attempt failed or a connection ended: retry later, or stop.
    private func failed(_ error: IPCError) {
        dropConnection()
        lastError = nil
        failAll(IPCError(.disconnected, "connection lost before the answer came (\(error))"), sentOnly: true)
        guard let backoff = options.reconnect, !error.code.isPermanent else {
            failAll(error, sentOnly: false)
            state = .stopped(error)
            return
        }
        let delay = backoff.delay(attempt: attempt, unit: options.jitterUnit?() ?? Double.random(in: 0...1))
        attempt += 1
        state = .waiting(attempt: attempt, delay: delay, lastError: error)
        retryTimer = loop.schedule(after: delay) { [weak self] in
            self?.retryTimer = nil
            self?.connect()
        }
    }

    private func failAll(_ error: IPCError, sentOnly: Bool) {
        let ids = pending.filter { !sentOnly || $0.value.sent }.map(\.key).sorted()
        for id in ids {
            guard let entry = pending.removeValue(forKey: id) else { continue }
            loop.cancel(entry.timer)
            entry.completion(.failure(error))
        }
        unsent.removeAll { pending[$0] == nil }
    }
}

extension IPCClient {
    /// One request on a connection of its own, waiting at most `timeout` seconds in all (connect,
    /// auth and answer). For CLI commands; never retries (a missing server is `not_running`).
    public static func call(_ method: String, params: JSONValue = .null, endpoint: IPCEndpoint,
                            timeout: Double = 10) -> Result<JSONValue, IPCError> {
        call(method, params: params, transport: .unixSocket(endpoint), timeout: timeout)
    }

    public static func call(_ method: String, params: JSONValue = .null, transport: IPCTransport,
                            timeout: Double = 10) -> Result<JSONValue, IPCError> {
        let loop: EventLoop
        do { loop = try EventLoop() } catch { return .failure(IPCError(.internal, "\(error)")) }
        let client = IPCClient(loop: loop, transport: transport,
                               options: IPCClientOptions(requestTimeout: timeout, handshakeTimeout: timeout, reconnect: nil))
        var result: Result<JSONValue, IPCError>?
        client.request(method, params: params) { result = $0 }
        client.start()
        let deadline = MonotonicClock.now() + timeout + 1
        while result == nil {
            let left = deadline - MonotonicClock.now()
            if left <= 0 { break }
            loop.runOnce(timeout: left)
        }
        client.stop()
        return result ?? .failure(IPCError(.timeout, "no answer to \(method) within \(timeout) s"))
    }
}
