// ServerDaemon: the `serve` process from start to exit, in the foreground (a service manager or
// the detaching parent decides where its standard error goes: that is the log). Takes the
// server lock (a second server is refused, naming the first), starts the ServerCore, binds the
// socket (ServerIPC), writes the pid file, says "ready" on the descriptor the detaching parent
// waits on, and runs the loop until SIGTERM, SIGINT, SIGHUP or `server.stop`. Then: clients are
// told the server stops, the socket and token are removed, the history is written and synced,
// the reader locks are let go, and the pid file is removed. Log lines are `<ISO time> <message>`
// on standard error. The socket file is checked every `socketCheckInterval` seconds: removed (or
// replaced by a dead socket), the server listens there again (connected clients stay); anything
// else in its place is left alone and logged once, and the server listens again once it is gone.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class ServerDaemon {
    public struct Options {
        public var core: ServerCore.Options
        public var paths: ServerPaths
        public var endpoint: IPCEndpoint
        public var listener = IPCListenerOptions()
        /// Where the detaching parent waits for "ready <pid>" (or "error: ..."), or nil.
        public var readyFD: Int32?
        /// Seconds between checks that the socket file is still ours (0: never).
        public var socketCheckInterval = 1.0
        /// Hosted beside the socket (the HTTP input), started after it, stopped before it.
        public var services: [any ServerService] = []

        public init(core: ServerCore.Options, paths: ServerPaths, endpoint: IPCEndpoint, readyFD: Int32? = nil) {
            self.core = core
            self.paths = paths
            self.endpoint = endpoint
            self.readyFD = readyFD
        }
    }

    public let options: Options
    public private(set) var core: ServerCore!
    private var loop: EventLoop!
    private var lock: ServerLock?
    private var ipc: ServerIPC?
    /// The socket problem last logged, so a lasting one is logged once.
    private var socketNotice: String?

    public init(options: Options) {
        self.options = options
    }

    /// Runs until a terminating signal. Throws (after telling the ready descriptor) when the
    /// server cannot start.
    public func run() throws {
        do {
            try start()
        } catch {
            say("error: \(error)")
            throw error
        }
        Self.log("serving \(options.paths.pipeDirectory): pid \(getpid()), socket \(options.paths.socketPath)")
        say("ready \(getpid())")
        loop.run()
        shutdown()
    }

    private func start() throws {
        let lock = try ServerLock.acquire(options.paths)
        self.lock = lock
        if let notice = lock.staleNotice { Self.log(notice) }
        loop = try EventLoop()
        core = ServerCore(loop: loop, options: options.core)
        core.subscribe(.all) { event in Self.logEvent(event) }
        SignalPipe.route([SIGTERM, SIGINT, SIGHUP])
        loop.watch(SignalPipe.open(), for: .readable) { [unowned self] _ in
            let signals = SignalPipe.drain()
            guard !signals.isEmpty else { return }
            Self.log("signal \(signals.map(String.init).joined(separator: ", ")): stopping")
            self.loop.stop()
        }
        core.start()
        let ipc = ServerIPC(core: core, endpoint: options.endpoint, options: options.listener)
        ipc.onStop = { [unowned self] in
            Self.log("asked to stop by a client")
            self.loop.stop()
        }
        try ipc.start()
        self.ipc = ipc
        do {
            for service in options.services { try service.start(core: core, endpoint: options.endpoint) }
        } catch {
            // The socket and its token go again: nothing answers on them.
            ipc.stop()
            throw error
        }
        let interval = options.socketCheckInterval
        if interval > 0 {
            _ = loop.schedule(after: interval, repeating: interval) { [unowned self] in self.checkSocket() }
        }
        try lock.writePidFile(ServerRecord(pid: getpid(), socket: options.paths.socketPath,
                                           started: core.startedAt,
                                           pipeDirectory: ReaderLock.realPath(of: options.paths.pipeDirectory)))
    }

    /// The socket file removed or replaced: listen there again when the path is free.
    private func checkSocket() {
        guard let ipc, !ipc.socketFileIsOurs else { return }
        let path = options.endpoint.socketPath
        let what = options.endpoint.socketFileProblem() ?? "was replaced by another socket"
        do {
            try ipc.relisten()
            Self.log("the socket \(path) \(what); listening there again")
            socketNotice = nil
        } catch {
            let line = "the socket \(path) \(what); cannot listen there (\(error)): clients cannot reach this server "
                + "until it is removed (then it listens again within \(options.socketCheckInterval) s)"
            if line != socketNotice { Self.log(line) }
            socketNotice = line
        }
    }

    /// Clients told, socket removed, history synced, locks and pid file let go.
    private func shutdown() {
        for service in options.services.reversed() { service.stop() }
        if let ipc {
            ipc.stop()
            // The notice and any last answers leave while the loop turns (bounded by the grace).
            let deadline = MonotonicClock.now() + options.listener.closeGrace
            while ipc.hasOpenConnections && MonotonicClock.now() < deadline { loop.runOnce(timeout: 0.02) }
        }
        ipc = nil
        core.stop()
        lock?.release()
        lock = nil
        Self.log("stopped")
    }

    /// One line to the detaching parent, once; then its descriptor is closed.
    private func say(_ line: String) {
        guard let fd = options.readyFD, fd >= 0 else { return }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    private static func logEvent(_ event: ServerEvent) {
        if let line = logLine(event) { log(line) }
    }

    /// The log's line for an event worth a line (in words: the log is read by people), or nil.
    static func logLine(_ event: ServerEvent) -> String? {
        switch event {
        case .instanceAdded(let info): "instance \(InstanceScanner.displayName(info.name)) added"
        case .instanceRemoved(let name): "instance \(InstanceScanner.displayName(name)) removed"
        case .agent(let name, let change): "instance \(InstanceScanner.displayName(name)): \(describe(change))"
        case .notice(let name, let notice): "instance \(InstanceScanner.displayName(name)): \(describe(notice))"
        case .promptFailed(let name, let id, let error): "instance \(InstanceScanner.displayName(name)): prompt \(id) failed: \(error)"
        default: nil
        }
    }

    static func describe(_ change: AgentLifecycle) -> String {
        switch change {
        case .exited(let turn, let why):
            let reason = switch why {
            case .noReader: "nothing reads its in-FIFO"
            case .pipesGone: "its FIFOs are gone"
            case .replaced: "another agent process said hello"
            }
            return "agent exited (\(reason))" + (turn.map { "; turn \($0.id) interrupted" } ?? "")
        case .back(let restarted): return restarted ? "agent back (restarted)" : "agent back"
        case .seen: return "agent seen"
        }
    }

    static func describe(_ notice: SessionNotice) -> String {
        switch notice {
        case .historyWarning(let text): "history: \(text)"
        case .historyWriteFailed(let text): "history not written: \(text)"
        case .queuedDelivered(let count): "\(count) queued prompt\(count == 1 ? "" : "s") delivered"
        case .queuedNotDelivered(let text): "queued prompt not delivered: \(text)"
        case .interruptFailed(let text): "interrupt failed: \(text)"
        case .answerFailed(let text): "permission answer not delivered: \(text)"
        case .interruptUnsupported: "interrupt not sent: this agent cannot be interrupted"
        case .readerRefused(let text): "not reading its out-FIFO: \(text)"
        }
    }

    public static func log(_ message: String) {
        let time = ISO8601DateFormatter().string(from: Date())
        FileHandle.standardError.write(Data("\(time) \(message)\n".utf8))
    }
}
