// ServerSessionSource: the TUI as a client of the server for its pipe directory. It subscribes to
// the server's session feed (docs/ipc.md, "The session subscription") and hands each event on as
// the in-process hub would; what the user does goes back as requests (prompts with origin `tui`).
//
// Across reconnects nothing is shown twice: per instance it keeps the last finished line id and
// the last mark it saw, and resubscribes from there; a batch that starts at the open line shown
// replaces it, lines already shown are dropped. When the server is gone the status line says
// "server gone, reconnecting in N s" (IPCBackoff with jitter); when it died (its lock is free)
// a new one is started. A new server counts line ids from 1 and cannot give what its
// predecessor read: each pane then gets a dim marker line, and the history it restores is not
// shown again. Health comes whole once, then as changes applied to the report held (HealthDelta).
// Loop thread only.
//
// For a remote host (HostsSessionSource) it runs over that host's HostLink (ssh, dial-stdio):
// started without waiting, the connection's state is the host header's business (no status
// lines), and nothing is started locally when the connection drops; the resync is the same.

import BridgeCore
import Foundation

/// How the TUI reaches its server.
public struct TUIServerConnection {
    public var endpoint: IPCEndpoint
    public var paths: ServerPaths
    /// Shown once in the status line after start (e.g. "started a server (pid N) ...").
    public var startNotice: String?
    /// Starts a new server when the old one died: its pid; throws why not.
    public var startServer: () throws -> Int32

    public init(endpoint: IPCEndpoint, paths: ServerPaths, startNotice: String? = nil,
                startServer: @escaping () throws -> Int32) {
        self.endpoint = endpoint
        self.paths = paths
        self.startNotice = startNotice
        self.startServer = startServer
    }
}

final class ServerSessionSource: SessionSource {
    var onReport: (SessionSourceReport) -> Void = { _ in }
    private let loop: EventLoop
    /// The local server (nil for a remote host's).
    private let connection: TUIServerConnection?
    /// A remote host's connection (nil for the local server).
    private let link: HostLink?
    private let client: IPCClient
    /// Every change of the remote host's connection (state, round trip).
    var onLinkChange: (HostLink) -> Void = { _ in }
    private var instances: [InstanceInfo] = []
    private var refusals: [String: String] = [:]
    private(set) var healthEnabled = true

    /// Where this client stands per instance, in the current server run's ids.
    private struct Position {
        var lastFinished: UInt64 = 0
        /// The id of the unfinished line shown last, if any.
        var openLine: UInt64?
        var lastMark: UInt64 = 0
    }
    private var positions: [String: Position] = [:]
    /// Instances whose pane has anything (a new server's restored history is not shown again).
    private var shown: Set<String> = []
    private var serverPid: Int?
    private var subscribed = false
    private var gone = false
    private var restarting = false
    /// The server said it stops (`server stop`, a signal): it is not restarted behind its back.
    private var stoppedOnPurpose = false
    private var subscribeError: IPCError?
    /// After a `skipped` notice: the old subscription ignored until it is gone, then subscribe again.
    private lazy var resync = SessionFeedResync(client: client) { [unowned self] in
        if self.client.state == .ready { self.subscribe() }
    }
    /// The last health report of this server run: the base its `health_changes` apply to.
    private var health: HealthReport?
    private var fetchingHealth = false

    init(loop: EventLoop, connection: TUIServerConnection) {
        self.loop = loop
        self.connection = connection
        link = nil
        client = IPCClient(loop: loop, endpoint: connection.endpoint, options: IPCClientOptions(reconnect: IPCBackoff()))
    }

    /// A remote host's server, over its HostLink.
    init(loop: EventLoop, link: HostLink) {
        self.loop = loop
        connection = nil
        self.link = link
        client = link.client
    }

    /// A remote host: connects in the background; events come once it is subscribed.
    func startInBackground() {
        guard let link else { return }
        var last = client.state
        link.onEvent = { [unowned self] _, event in self.take(event) }
        link.onStateChange = { [unowned self] link in
            // The link reports round trips too: only a change of the connection is one here.
            if self.client.state != last {
                last = self.client.state
                self.changed(last)
            }
            self.onLinkChange(link)
        }
        link.start()
    }

    /// Connects and takes the snapshot (bounded), so `attach` can check the instance at once.
    func start() throws {
        guard let connection else { return startInBackground() }
        client.onEvent = { [unowned self] event in self.take(event) }
        client.onStateChange = { [unowned self] state in self.changed(state) }
        client.start()
        let deadline = MonotonicClock.now() + 20
        while !subscribed && subscribeError == nil && MonotonicClock.now() < deadline {
            if case .stopped(let error) = client.state {
                subscribeError = error ?? IPCError(.disconnected, "stopped")
                break
            }
            loop.runOnce(timeout: 0.05)
        }
        if let subscribeError {
            client.stop()
            throw TUIRuntimeError.server("cannot use the server at \(connection.endpoint.socketPath): \(subscribeError.message) "
                + "(an older server? `cc-bridge-tui server stop` and start again; `--no-server` reads the pipes in this process)")
        }
        guard subscribed else {
            client.stop()
            throw TUIRuntimeError.server("the server at \(connection.endpoint.socketPath) did not answer within 20 s "
                + "(`cc-bridge-tui server status`; `--no-server` reads the pipes in this process)")
        }
        if let notice = connection.startNotice { onReport(.status(StatusMessage(notice, kind: .info, expires: Self.now() + 15))) }
    }

    func stop() {
        if let link { link.stop() } else { client.stop() }
    }

    var currentInstances: [InstanceInfo] { instances }
    func readerRefusal(of instance: String) -> String? { refusals[instance] }

    // MARK: requests

    func send(_ text: String, to instance: String, promptID: String) {
        let params: JSONValue = ["instance": .string(instance), "text": .string(text), "id": .string(promptID),
                                 "origin": .string(PromptOrigin.tui.rawValue)]
        client.request("send", params: params) { [unowned self] result in
            // Delivered, queued and failed come as session events too; only a refusal of the
            // request itself (or a lost connection) is reported here.
            guard case .failure(let error) = result else { return }
            let why = error.code == .disconnected
                ? "the connection to the server was lost; the prompt may not have reached it (check before sending again)"
                : error.message
            self.onReport(.event(.promptFailed(instance: instance, promptID: promptID, error: why)))
        }
    }

    func cancelQueued(instance: String, id: String) {
        request("cancel_queued", ["instance": .string(instance), "id": .string(id)], what: "cancel the queued prompt")
    }

    func interrupt(_ instance: String) {
        request("interrupt", ["instance": .string(instance)], what: "interrupt \(instance)")
    }

    func answerPermission(instance: String, requestID: String, behavior: PermissionBehavior, message: String,
                          done: @escaping (Bool) -> Void) {
        let params: JSONValue = ["instance": .string(instance), "request_id": .string(requestID),
                                 "behavior": .string(behavior.rawValue), "message": .string(message)]
        client.request("answer_permission", params: params) { [unowned self] result in
            switch result {
            case .success(let answer): done(answer["answered"]?.boolValue ?? false)
            case .failure(let error): self.failed("answer the request", error)
            }
        }
    }

    func rescan() { request("rescan", [:], what: "rescan") }
    func checkHealth() { request("check_health", [:], what: "check health") }

    private func request(_ method: String, _ params: JSONValue, what: String) {
        client.request(method, params: params) { [unowned self] result in
            if case .failure(let error) = result { self.failed(what, error) }
        }
    }

    private func failed(_ what: String, _ error: IPCError) {
        onReport(.status(StatusMessage("could not \(what) through the server: \(error.message)", kind: .error,
                                       expires: Self.now() + 10)))
    }

    // MARK: connection

    private func changed(_ state: IPCClient.State) {
        guard let connection else {
            // A remote host: its header shows the connection; only the resync is ours.
            if state == .ready {
                resync.reset()
                subscribe()
            } else if case .waiting = state {
                resync.subscription = nil
            }
            return
        }
        switch state {
        case .ready:
            if gone { onReport(.status(StatusMessage("the server is back", kind: .info, expires: Self.now() + 5))) }
            gone = false
            restarting = false
            stoppedOnPurpose = false
            resync.reset()
            subscribe()
        case .waiting(_, let delay, let error):
            resync.subscription = nil
            gone = true
            // The error's code says why a connection failed; after a stop on purpose that is known.
            var text = "server gone, reconnecting in \(Int(delay.rounded(.up))) s (\(error.code.rawValue))"
            if stoppedOnPurpose {
                text = "the server was stopped; `cc-bridge-tui serve` starts it again (looking for it again in \(Int(delay.rounded(.up))) s)"
            } else if !ServerLock.probe(connection.paths).running && !restarting {
                // It died (its lock is free): start another; the next attempt finds it.
                restarting = true
                do {
                    let pid = try connection.startServer()
                    text = "server gone; started a new one (pid \(pid)), connecting"
                } catch {
                    text += " (could not start a new one: \(error))"
                    restarting = false
                }
            }
            if subscribed { onReport(.status(StatusMessage(text, kind: .error))) }
        case .stopped(let error?):
            subscribeError = error
            onReport(.status(StatusMessage("the server connection ended: \(error.message)", kind: .error)))
        default:
            break
        }
    }

    private func subscribe() {
        if client.serverPid != serverPid {
            if serverPid != nil {
                // A new server run: its ids start again and it has none of the old one's lines.
                for name in shown.sorted() {
                    onReport(.marker(instance: name, text: "── server restarted: output while it was down may be missing ──"))
                }
                positions = [:]
            }
            health = nil
            serverPid = client.serverPid
        }
        var resume: [String: JSONValue] = [:]
        for (name, position) in positions where position.lastFinished > 0 || position.lastMark > 0 || position.openLine != nil {
            resume[name] = ["from_line_id": .number(Double((position.openLine ?? position.lastFinished + 1))),
                            "last_mark": .number(Double(position.lastMark))]
        }
        // Nothing shown yet: the server leaves out what a new instance has anyway.
        let fresh: JSONValue = .bool(!subscribed)
        client.request("session.subscribe", params: ["resume": .object(resume), "fresh": fresh], timeout: 30) { [unowned self] result in
            switch result {
            case .success(let answer):
                self.resync.subscription = answer["subscription"]?.intValue
                self.healthEnabled = answer["health_enabled"]?.boolValue ?? true
                self.subscribed = true
            case .failure(let error):
                if error.code == .disconnected { return }   // reconnecting: subscribed again when ready
                if !self.subscribed { self.subscribeError = error }
                self.failed("subscribe", error)
            }
        }
    }

    private func take(_ event: IPCEvent) {
        // After a skip (we were slow) the feed resumes from where we are (SessionFeedResync).
        guard case .item(let item) = resync.take(event) else { return }
        switch item {
        case .event(let sessionEvent, let first, let mark):
            deliver(sessionEvent, firstLineID: first, mark: mark)
        case .linesSkipped(let name, _, let count):
            onReport(.marker(instance: name, text: "── \(count) line\(count == 1 ? "" : "s") missing: the server no longer kept them ──"))
        case .health(let report):
            health = report
            onReport(.health(report))
        case .healthChanges(let delta):
            guard let base = health, let report = delta.apply(to: base) else { return fetchHealth() }
            health = report
            onReport(.health(report))
        case .serverStopping:
            stoppedOnPurpose = true
            onReport(.status(StatusMessage("the server is stopping", kind: .error, expires: Self.now() + 10)))
        }
    }

    /// Changes came for a report we do not hold (they raced our subscribe's full report, or one
    /// was lost): the whole last report instead.
    private func fetchHealth() {
        guard !fetchingHealth else { return }
        fetchingHealth = true
        client.request("health", params: [:]) { [unowned self] result in
            self.fetchingHealth = false
            guard case .success(let answer) = result, let report = try? answer.decode(HealthReport.self) else { return }
            if let held = self.health, held.run >= report.run { return }
            self.health = report
            self.onReport(.health(report))
        }
    }

    private func deliver(_ event: SessionEvent, firstLineID: UInt64?, mark: UInt64?) {
        switch event {
        case .output(let name, var batch):
            guard let first = firstLineID, dedupe(name, &batch, first: first) else { return }
            shown.insert(name)
            onReport(.event(.output(instance: name, batch: batch)))
            return
        case .instancesChanged(let list, _):
            instances = list
        case .historyRestored(let name, _, _, _):
            // Already on screen from the server before this one (its own restore of the same file).
            if shown.contains(name) { return }
            shown.insert(name)
        case .notice(let name, .readerRefused(let why)):
            refusals[name] = why
        case .instanceRemoved(let name, _):
            positions[name] = nil
            refusals[name] = nil
        default:
            break
        }
        if let mark, let name = event.instanceName {
            if mark <= positions[name, default: Position()].lastMark { return }
            positions[name, default: Position()].lastMark = mark
            shown.insert(name)
        }
        onReport(.event(event))
    }

    /// Drops lines already shown; a batch that starts at the open line shown replaces it.
    /// False when nothing is left.
    private func dedupe(_ name: String, _ batch: inout OutputBatch, first: UInt64) -> Bool {
        var position = positions[name, default: Position()]
        defer { positions[name] = position }
        let count = UInt64(batch.count)
        guard count > 0 else { return false }
        let skip = position.lastFinished >= first ? Int(min(count, position.lastFinished - first + 1)) : 0
        if skip >= batch.count { return false }
        var start = first
        if skip > 0 {
            var rest = OutputBatch(replacesOpenLine: false, endsWithOpenLine: batch.endsWithOpenLine)
            for index in skip..<batch.count { rest.append(batch[index]) }
            batch = rest
            start = first + UInt64(skip)
        }
        batch.replacesOpenLine = position.openLine == start
        let finished = UInt64(batch.count - (batch.endsWithOpenLine ? 1 : 0))
        if finished > 0 { position.lastFinished = max(position.lastFinished, start + finished - 1) }
        position.openLine = batch.endsWithOpenLine ? start + UInt64(batch.count) - 1 : nil
        return true
    }

    static func now() -> Double { Date().timeIntervalSince1970 }
}

extension SessionEvent {
    /// The instance the event is about (nil for the instance list).
    var instanceName: String? {
        switch self {
        case .instancesChanged: nil
        case .instanceRemoved(let name, _), .output(let name, _), .stream(let name, _), .attachment(let name, _),
             .historyRestored(let name, _, _, _), .promptAccepted(let name, _, _, _, _), .promptQueued(let name, _, _),
             .promptFailed(let name, _, _), .turnsChanged(let name, _), .outboxChanged(let name, _),
             .activityChanged(let name, _), .lifecycle(let name, _), .notice(let name, _):
            name
        }
    }
}
