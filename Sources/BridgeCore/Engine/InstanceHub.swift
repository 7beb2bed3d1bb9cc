// InstanceHub: the engine behind the TUI and the `tail` command. It keeps the list of instances
// in pipe_dir current, holds every ready instance's out-FIFO open, decodes its stream (plain or
// framed) and delivers prompts, all from one event loop. It reports through EngineEvent only.
// Rescans: on Linux pipe_dir is watched with inotify (DirectoryEvents: entries added, removed,
// renamed, a mode or owner changed), so the rescan timer scans only after such an event, when the
// directory's own stat moved, while an instance waits to be read (refused or failed), or every
// `fullRescanTicks` × 6 ticks as a fallback; without a watch, see `periodicRescan`.

#if canImport(Glibc)
import Glibc
#endif

public final class InstanceHub {
    public struct Options: Sendable {
        public var directory: String
        public var policy = PipePolicy.strict
        public var maxLineBytes = 64 << 10
        /// Seconds between rescans of pipe_dir (instances appear and vanish while we run).
        public var rescanInterval = 1.0
        /// Bytes read from one instance per loop turn, so a flood never starves the keyboard.
        public var readBudget = 1 << 20
        /// Only these instances (nil: all).
        public var only: Set<String>?
        /// Above this many instances the periodic rescan first looks at the directory alone
        /// (inode, mtime, ctime) and scans every FIFO only when it changed, or every
        /// `fullRescanTicks` rescans (a FIFO's mode or owner changes without touching the
        /// directory): a thousand instances cost two thousand stat(2)s a second otherwise.
        public var quickRescanAbove = 64
        public var fullRescanTicks = 10
        /// Watch pipe_dir with inotify where there is one (false: tests of the timer alone).
        public var useEvents = true

        public init(directory: String) { self.directory = directory }
    }

    final class Connection {
        let info: InstanceInfo
        let channel: OutputChannel
        var decoder: StreamDecoder
        var watch: EventLoop.WatchID?
        let delivery: PromptDelivery

        init(info: InstanceInfo, channel: OutputChannel, decoder: StreamDecoder, delivery: PromptDelivery) {
            self.info = info
            self.channel = channel
            self.decoder = decoder
            self.delivery = delivery
        }
    }

    public let loop: EventLoop
    public let options: Options
    private let onEvent: (EngineEvent) -> Void
    private var connections: [String: Connection] = [:]
    private var instances: [InstanceInfo] = []
    private var directoryError: String?
    private var rescanTimer: EventLoop.TimerID?
    /// The directory as the last full scan found it (taken before the scan), and the wall-clock
    /// time that scan started; rescans since.
    private var scannedDirectory: DirectoryStamp?
    private var scannedAt = 0.0
    private var quickRescans = 0
    /// pipe_dir's inotify watch, and whether something happened there (or an instance is still
    /// to be read) since the last scan.
    private var directoryWatch: DirectoryEvents?
    private var changedSinceScan = true
    private var readBuffer: UnsafeMutableRawBufferPointer
    private var batch = OutputBatch()
    private var events: [StreamEvent] = []

    public init(loop: EventLoop, options: Options, onEvent: @escaping (EngineEvent) -> Void) {
        self.loop = loop
        self.options = options
        self.onEvent = onEvent
        readBuffer = .allocate(byteCount: 256 << 10, alignment: 16)
    }

    deinit {
        stop()
        readBuffer.deallocate()
    }

    public var currentInstances: [InstanceInfo] { instances }

    /// When set, sees every read's bytes as they came, before they are decoded (`tail --raw`).
    public var rawBytes: ((_ instance: String, _ bytes: UnsafeRawBufferPointer) -> Void)?
    /// A drain stopped at its read budget with the FIFO not yet emptied: the agent writes faster
    /// than we read (the server then gives its clients' sockets less: SocketWriteBudget).
    public var drainFellBehind: ((_ instance: String) -> Void)?

    /// Asked before an instance's out-FIFO is opened: false leaves it unread (another process
    /// reads it: see ReaderLock). Asked again at every rescan while it is refused.
    public var admit: ((InstanceInfo) -> Bool)?

    public func start() {
        if options.useEvents {
            directoryWatch = DirectoryEvents.make(loop: loop) { [weak self] _ in self?.changedSinceScan = true }
            watchDirectory()
        }
        rescan()
        rescanTimer = loop.schedule(after: options.rescanInterval, repeating: options.rescanInterval) { [weak self] in
            self?.periodicRescan()
        }
    }

    public func stop() {
        if let rescanTimer { loop.cancel(rescanTimer) }
        rescanTimer = nil
        directoryWatch?.close()
        directoryWatch = nil
        for name in Array(connections.keys) { detach(name) }
    }

    /// The rescan timer: a full rescan, unless there are many instances and the directory has
    /// not changed since the last one, or (watched) nothing was reported and the directory has
    /// not changed (a filesystem whose changes inotify does not report, such as a network
    /// share, still has its entries seen at the next tick).
    private func periodicRescan() {
        quickRescans += 1
        if let directoryWatch, directoryWatch.isWatching(Self.directoryKey) || watchDirectory() {
            if changedSinceScan || quickRescans >= options.fullRescanTicks * 6 || !directoryUnchangedSinceScan() { rescan() }
            return
        }
        if instances.count > options.quickRescanAbove, quickRescans < options.fullRescanTicks, directoryUnchangedSinceScan() {
            return
        }
        rescan()
    }

    /// The directory's stat as at the last scan. A change is trusted only when it is older than
    /// a second before that scan began (timestamps are coarse: a change in the same tick as the
    /// stamp would look like none).
    private func directoryUnchangedSinceScan() -> Bool {
        guard let before = scannedDirectory, let now = DirectoryStamp(options.directory) else { return false }
        return now == before && now.modified < scannedAt - 1 && now.changed < scannedAt - 1
    }

    /// Rescans pipe_dir now: new instances are attached, vanished ones detached, replaced FIFOs
    /// reopened.
    public func rescan() {
        quickRescans = 0
        changedSinceScan = false
        scannedDirectory = DirectoryStamp(options.directory)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        scannedAt = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
        var scan = InstanceScanner.scan(options.directory, policy: options.policy)
        if let only = options.only { scan.instances.removeAll { !only.contains($0.name) } }
        let changed = scan.instances != instances || scan.directoryError != directoryError
        instances = scan.instances
        directoryError = scan.directoryError
        let ready = Dictionary(scan.instances.filter(\.isReady).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in Array(connections.keys) where ready[name] == nil {
            detach(name)
            onEvent(.attachment(instance: name, state: .reattaching("pipes gone or unsafe")))
        }
        if changed { onEvent(.instancesChanged(scan.instances, directoryError: scan.directoryError)) }
        for (name, info) in ready.sorted(by: { $0.key < $1.key }) {
            if let connection = connections[name] {
                if connection.channel.isStale() {
                    detach(name)
                    onEvent(.attachment(instance: name, state: .reattaching("out-FIFO was replaced; reopening")))
                    attach(info)
                }
            } else if admit?(info) ?? true {
                attach(info)
            }
        }
        // Refused or failed ones are asked again at the next tick, as without a watch.
        if connections.count < ready.count { changedSinceScan = true }
    }

    private static let directoryKey = "pipe_dir"

    /// Watches pipe_dir; true when it is watched. A new watch counts as a change (what happened
    /// while there was none is seen by the next scan).
    @discardableResult
    private func watchDirectory() -> Bool {
        guard let directoryWatch, directoryWatch.watch(options.directory, key: Self.directoryKey, also: [.removals, .attributes]) else {
            return false
        }
        changedSinceScan = true
        return true
    }

    /// The protocol an instance speaks, as far as we have seen.
    public func mode(of instance: String) -> StreamMode? { connections[instance]?.decoder.mode }

    /// Queues a prompt; the result comes as `.delivered`. Framed agents get a JSON prompt message,
    /// plain ones one line (newlines become spaces).
    public func send(_ text: String, to instance: String, promptID: String, timeout: Double = 2) {
        guard let connection = connections[instance] else {
            onEvent(.delivered(instance: instance, promptID: promptID, error: .unsafe(.missing(path: instance))))
            return
        }
        let bytes: [UInt8]
        if connection.decoder.mode == .framed {
            bytes = Array(HostMessage.prompt(id: promptID, text: text).encode().utf8) + [0x0A]
        } else {
            bytes = PlainPrompt.line(for: text).bytes
        }
        connection.delivery.enqueue(.init(promptID: promptID, bytes: bytes, timeout: timeout))
    }

    /// Sends a framed host message other than a prompt (the answer to a permission request) through
    /// the instance's one delivery queue; reported as `.delivered(promptID)`. Only a framed agent
    /// understands one: otherwise nothing is written and the delivery fails.
    public func sendMessage(_ message: HostMessage, to instance: String, promptID: String, timeout: Double = 2) {
        guard let connection = connections[instance], connection.decoder.mode == .framed else {
            onEvent(.delivered(instance: instance, promptID: promptID, error: .unsafe(.missing(path: instance))))
            return
        }
        let bytes = Array(message.encode().utf8) + [0x0A]
        connection.delivery.enqueue(.init(promptID: promptID, bytes: bytes, timeout: timeout))
    }

    /// A prompt was delivered to a plain agent whose open line is its bare `❯ ` marker: the
    /// marker line is dropped (the host shows the prompt in its place); see
    /// `StreamDecoder.absorbReplyMarker`.
    public func absorbReplyMarker(of instance: String) -> Bool {
        connections[instance]?.decoder.absorbReplyMarker() ?? false
    }

    /// The instance's agent went away: its unterminated output ends as it stands. Returns the
    /// batch that finishes it (nil if nothing was open); not reported as output, since it is no
    /// sign of life.
    public func endWriter(of instance: String) -> OutputBatch? {
        guard let connection = connections[instance] else { return nil }
        var closing = OutputBatch()
        connection.decoder.endWriter(into: &closing)
        return closing.isEmpty ? nil : closing
    }

    /// How an interrupt reaches an instance's agent, if it can.
    public enum InterruptRoute: Equatable, Sendable {
        /// A framed agent: an `interrupt` message.
        case framed
        /// Our cc-bridge-agent on the plain protocol (it holds its lock file): the byte 0x03.
        case interruptByte
        /// A plain agent that is not ours (cc-bridge's container_agent.py reads 0x03 as a prompt
        /// line "^C"), or no agent seen: nothing is sent.
        case unsupported
    }

    /// The route an interrupt would take now (docs/protocol.md, "Interrupt").
    public func interruptRoute(_ instance: String) -> InterruptRoute {
        guard let connection = connections[instance] else { return .unsupported }
        if connection.decoder.mode == .framed { return .framed }
        return AgentLockProbe.ourAgentServes(instance, in: options.directory) ? .interruptByte : .unsupported
    }

    /// Sends an interrupt when the agent understands one; returns the route taken (nothing is
    /// sent for `.unsupported`).
    @discardableResult
    public func interrupt(_ instance: String, promptID: String, timeout: Double = 1) -> InterruptRoute {
        let route = interruptRoute(instance)
        guard let connection = connections[instance] else { return route }
        switch route {
        case .framed:
            let bytes = Array(HostMessage.interrupt(id: promptID).encode().utf8) + [0x0A]
            connection.delivery.enqueue(.init(promptID: promptID, bytes: bytes, timeout: timeout))
        case .interruptByte:
            connection.delivery.enqueue(.init(promptID: promptID, bytes: PromptWriter.interruptByte, timeout: timeout))
        case .unsupported:
            break
        }
        return route
    }

    // MARK: attachment

    private func attach(_ info: InstanceInfo) {
        let channel = OutputChannel(path: info.outPath, policy: options.policy)
        do {
            try channel.open()
        } catch {
            onEvent(.attachment(instance: info.name, state: .failed(error.description)))
            return
        }
        let name = info.name
        let delivery = PromptDelivery(path: info.inPath, loop: loop, writer: PromptWriter(policy: options.policy)) {
            [weak self] id, error in self?.onEvent(.delivered(instance: name, promptID: id, error: error))
        }
        let connection = Connection(info: info, channel: channel,
                                    decoder: StreamDecoder(maxLineBytes: options.maxLineBytes), delivery: delivery)
        connection.watch = loop.watch(channel.readFD, for: .readable) { [weak self] _ in self?.drain(name) }
        connections[name] = connection
        onEvent(.attachment(instance: name, state: .attached))
        drain(name)
    }

    private func detach(_ name: String) {
        guard let connection = connections.removeValue(forKey: name) else { return }
        if let watch = connection.watch { loop.unwatch(watch) }
        connection.channel.close()
        connection.delivery.cancelAll(reason: .agentNotListening(waited: 0))
    }

    /// Reads up to the budget, decodes, and reports one batch.
    private func drain(_ name: String) {
        guard let connection = connections[name] else { return }
        var total = 0
        batch.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
        reading: while total < options.readBudget {
            let room = min(readBuffer.count, options.readBudget - total)
            switch connection.channel.read(into: UnsafeMutableRawBufferPointer(rebasing: readBuffer[0..<room])) {
            case .bytes(let n):
                total += n
                rawBytes?(name, UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                var start = 0
                while start < n {
                    start += connection.decoder.feed(UnsafeRawBufferPointer(rebasing: readBuffer[start..<n]), into: &batch,
                                                     events: &events, stopAtClaudeFrame: true)
                    // A Claude frame (a tool call, a footer) is shown where it came: the output
                    // before it is reported first, then it, then what follows.
                    if start < n || events.last.map({ if case .claude = $0 { true } else { false } }) == true {
                        report(name, connection)
                    }
                }
                // Less than asked for: the pipe is empty now. Asking again would only hear EAGAIN
                // (a system call between the reply and its event); poll says when more comes.
                if n < room { break reading }
            case .wouldBlock:
                break reading
            case .endOfFile:
                // We hold a write end, so this means the FIFO was swapped under us: reopen.
                rescan()
                break reading
            case .failed(let error):
                onEvent(.attachment(instance: name, state: .failed(error.description)))
                break reading
            }
        }
        if total >= options.readBudget { drainFellBehind?(name) }
        // Output first: a `❯` marker or a `done` frame read in the same turn ends the reply that
        // this output belongs to, so session tracking must see the output before the event.
        // Output means the agent is reading again: a held prompt was probably taken.
        if total > 0 { connection.delivery.poke() }
        report(name, connection)
    }

    /// Reports the output and events collected so far (output first) and empties both.
    private func report(_ name: String, _ connection: Connection) {
        if !batch.isEmpty { onEvent(.output(instance: name, batch: batch)) }
        for event in events { onEvent(.stream(instance: name, event: event)) }
        batch.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
    }
}

/// What a directory's stat(2) says about its entries changing: identity and the times an entry
/// was added, removed or renamed (mtime) or the directory itself changed (ctime).
struct DirectoryStamp: Equatable {
    var device: UInt64
    var inode: UInt64
    var modified: Double
    var changed: Double

    init?(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        changed = Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9
    }
}
