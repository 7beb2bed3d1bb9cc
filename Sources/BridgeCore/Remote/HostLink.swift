// HostLink: a long-lived connection to one remote host's server, for clients that stay (the TUI,
// `tail --follow`): an IPCClient over ssh that reconnects with backoff, tags every event with
// the host's name, and measures the round trip every `pingInterval` seconds. The state a list
// shows per host (connecting, ready with its round trip, retrying after an error, stopped for
// good) is `state`; every change is reported. After each reconnect the owner subscribes again
// from its last line ids (the server knows nothing of us after a reconnect).
//
// Public API (loop thread):
//   HostLink(loop:, host:, ssh:, pingInterval:)
//   start(), stop(), retryIfFailed(), request(_:params:timeout:completion:), host, state, roundTrip
//   onEvent: (RemoteHost, IPCEvent) -> Void, onStateChange: (HostLink) -> Void
//   enum HostLink.State: connecting, ready, retrying(IPCError, inSeconds), failed(IPCError), stopped

public final class HostLink {
    public enum State: Equatable, Sendable {
        case connecting
        case ready
        case retrying(IPCError, inSeconds: Double)
        /// A failure no retry can cure (key mismatch, refused, remote binary missing, another protocol).
        case failed(IPCError)
        case stopped
    }

    public let host: RemoteHost
    public let client: IPCClient
    public private(set) var state: State = .connecting
    /// The last measured round trip in seconds (nil until one was measured on this connection).
    public private(set) var roundTrip: Double?
    public var onEvent: (RemoteHost, IPCEvent) -> Void = { _, _ in }
    public var onStateChange: (HostLink) -> Void = { _ in }

    private weak var loop: EventLoop?
    private let pingInterval: Double
    private var pingTimer: EventLoop.TimerID?

    public init(loop: EventLoop, host: RemoteHost, ssh: SSHSettings, pingInterval: Double = 5) {
        self.loop = loop
        self.host = host
        self.pingInterval = pingInterval
        client = IPCClient(loop: loop, transport: .command(host.command(settings: ssh)),
                           options: IPCClientOptions(handshakeTimeout: 30))
        client.onEvent = { [weak self] event in
            guard let self else { return }
            self.onEvent(self.host, event)
        }
        client.onStateChange = { [weak self] state in self?.changed(state) }
    }

    deinit {
        if let pingTimer { loop?.cancel(pingTimer) }
    }

    public func start() { client.start() }

    /// Connects again to a host that failed for good (its key changed, the login was refused,
    /// the binary was missing), for a user who fixed the cause. False when it had not failed.
    @discardableResult
    public func retryIfFailed() -> Bool {
        guard case .failed = state else { return false }
        client.start()
        return true
    }

    public func stop() {
        if let pingTimer { loop?.cancel(pingTimer) }
        pingTimer = nil
        client.stop()
    }

    public func request(_ method: String, params: JSONValue = .null, timeout: Double? = nil,
                        completion: @escaping (Result<JSONValue, IPCError>) -> Void) {
        client.request(method, params: params, timeout: timeout, completion: completion)
    }

    private func changed(_ clientState: IPCClient.State) {
        let next: State
        switch clientState {
        case .idle, .connecting, .authenticating: next = .connecting
        case .ready: next = .ready
        case .waiting(_, let delay, let error): next = .retrying(error, inSeconds: delay)
        case .stopped(let error?): next = .failed(error)
        case .stopped(nil): next = .stopped
        }
        if next != .ready {
            roundTrip = nil
            if let pingTimer { loop?.cancel(pingTimer) }
            pingTimer = nil
        } else {
            ping()
            pingTimer = loop?.schedule(after: pingInterval, repeating: pingInterval) { [weak self] in self?.ping() }
        }
        state = next
        onStateChange(self)
    }

    private func ping() {
        let start = MonotonicClock.now()
        client.request("server.status", timeout: 10) { [weak self] result in
            guard let self, case .success = result, self.state == .ready else { return }
            self.roundTrip = MonotonicClock.now() - start
            self.onStateChange(self)
        }
    }
}
