// AgentLoop: the whole agent in one poll(2) loop. It owns the FIFOs (creating them when missing
// and removing only those it created), the self-pipe for signals, the prompt queue, the bounded
// output queue and the reply engine. No thread ever parks in a blocking call: the in-FIFO, the
// out-FIFO's writability, the child pipes and all timers are one poll set.
// It also holds the instance lock (one agent per name), is the subreaper of everything its
// children start, and checks twice a second that its FIFOs and lock file are still the ones at
// their paths: a deleted or replaced FIFO is created again or reopened, and the log says so.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore

public final class AgentLoop: EngineContext {
    public static let maxQueuedPrompts = 10_000

    public enum StartupError: Error, CustomStringConvertible {
        case pipes(PipeSafetyError)
        case system(SystemError)
        case lock(InstanceLock.Failure)
        /// RLIMIT_NOFILE leaves fewer descriptors than serving needs (`needed` more than are free).
        case descriptors(needed: Int, limit: UInt64)
        public var description: String {
            switch self {
            case .pipes(let e): e.description
            case .system(let e): e.description
            case .lock(let e): e.description
            case .descriptors(let needed, let limit):
                "too few file descriptors: the limit (ulimit -n) is \(limit) and serving needs \(needed) more than are free; raise it"
            }
        }
    }

    /// Exit status when another agent holds the instance's lock (EX_TEMPFAIL: try again later).
    public static let lockHeldExitCode: Int32 = 75

    let options: AgentOptions
    let policy: PipePolicy
    let engine: ReplyEngine
    private var framer: WireFramer
    private var output: OutputQueue
    private let outFifo: OutFifo
    private var inFifo: InFifo?
    /// Read end of BridgeCore's signal self-pipe (-1 until run() routes the signals).
    private var signalReadEnd: Int32 = -1
    private var splitter = InputSplitter()
    private var queue: [Prompt] = []
    private var queueHead = 0
    private var created: [String] = []
    private var lineCounter = 0
    private var nextAttempt = 0.0
    private var nextHeartbeat = Double.infinity
    private var lastAttachError: String?
    private var crashCode: Int32?
    private var stopRequested = false
    private var lock: InstanceLock?
    /// Another agent took the instance's lock while ours was gone: stop, leave its FIFOs alone.
    private var lostLock = false
    private var nextPipeCheck = 0.0
    /// The last problem with the FIFOs or the lock logged by the periodic check (logged once).
    private var lastPipeProblem: String?
    /// Called with each line of diagnostics (stderr in the executable).
    public var log: (String) -> Void = { _ in }

    public init(options: AgentOptions) {
        self.options = options
        policy = PipePolicy(allowUnsafe: options.allowUnsafePipes)
        switch options.mode {
        case .echo: engine = EchoEngine()
        case .script(let script): engine = ScriptEngine(script: script)
        case .exec(let command): engine = ExecEngine(command: command, escalation: options.escalation)
        case .persistent(let command):
            engine = PersistentEngine(command: command, trackTurns: options.wire == .jsonl,
                                      quietPeriod: options.turnQuietPeriod, escalation: options.escalation)
        case .claude(let claude):
            engine = ClaudeEngine(options: claude)
        }
        var plainMarkers = true
        switch options.mode {
        case .persistent, .claude: plainMarkers = false
        case .echo, .script, .exec: break
        }
        framer = WireFramer(wire: options.wire, plainMarkers: plainMarkers)
        output = OutputQueue(limit: options.bufferLimit, byteStream: options.wire == .plain)
        outFifo = OutFifo(path: options.outFifoPath, policy: policy)
    }

    /// Runs until SIGTERM/SIGINT (returns 0) or a scripted crash (returns its code).
    public func run() throws(StartupError) -> Int32 {
        SignalSetup.ignoreSIGPIPE()
        signalReadEnd = SignalPipe.route([SIGTERM, SIGINT, SIGCHLD])
        if signalReadEnd < 0 { throw .system(SystemError("pipe")) }
        do {
            try FifoSafety.ensureDirectory(options.pipeDirectory)
        } catch {
            throw .pipes(error)
        }
        do {
            lock = try InstanceLock(path: options.lockPath)
        } catch {
            guard case .unsupported = error else { throw .lock(error) }
            log("\(error); serving without the one-agent-per-name lock")
        }
        if let problem = ProcessTree.becomeSubreaper() {
            log("cannot adopt orphaned grandchildren (\(problem)); only their process groups are ended")
        }
        do {
            for path in [options.inFifoPath, options.outFifoPath] {
                if try FifoSafety.create(path, policy: policy) { created.append(path) }
            }
            inFifo = try InFifo(path: options.inFifoPath, policy: policy)
        } catch {
            removeCreatedFifos()
            lock?.release(removing: true)
            throw .pipes(error)
        }
        if !FileDescriptors.available(descriptorsNeeded) {
            var limit = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            inFifo = nil
            removeCreatedFifos()
            lock?.release(removing: true)
            throw .descriptors(needed: descriptorsNeeded, limit: UInt64(limit.rlim_cur))
        }
        nextPipeCheck = now() + options.pipeCheckInterval
        log("serving \(options.name) in \(options.pipeDirectory) (\(options.wire.rawValue))")
        engine.begin(context: self)
        while !stopRequested && crashCode == nil {
            iterate()
        }
        return finish()
    }

    /// Descriptors opened after start-up, at most at once: the out-FIFO; a child's output pipe
    /// and stdin pipe (both ends while spawning); two while reading /proc for its descendants.
    private var descriptorsNeeded: Int {
        switch options.mode {
        case .echo, .script: 1
        case .exec: 1 + 2 + 2
        case .persistent, .claude: 1 + 4 + 2
        }
    }

    // MARK: - EngineContext

    public func emit(_ event: AgentEvent) {
        for frame in framer.frames(for: event) { output.append(frame) }
        if !outFifo.isAttached {
            output.enforceLimit()
        } else if output.byteCount > 2 * options.bufferLimit {
            // A reader that stays attached but does not read: engines already stop reading
            // children (backpressure), but echo replies and notices still come; bound them too.
            output.enforceLimit(keepingPartialHead: true)
        }
    }

    public var outputBacklogged: Bool { outFifo.isAttached && output.isFull }

    public func crash(code: Int32) { crashCode = code }

    public func now() -> Double { MonotonicClock.now() }

    public func endDescendants(sparing spared: pid_t?) {
        ProcessTree.endDescendants(sparing: spared)
    }

    // MARK: - The loop

    private func iterate() {
        guard signalReadEnd >= 0, let inFifo else { return }
        var fds: [pollfd] = [
            pollfd(fd: signalReadEnd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: inFifo.readFD, events: Int16(POLLIN), revents: 0),
        ]
        let outIndex = fds.count
        if outFifo.isAttached {
            // POLLERR arrives even with no events requested: that is how a vanished reader shows.
            fds.append(pollfd(fd: outFifo.fd, events: output.isEmpty ? 0 : Int16(POLLOUT), revents: 0))
        }
        let engineStart = fds.count
        for request in engine.pollRequests(context: self) {
            fds.append(pollfd(fd: request.fd, events: request.events, revents: 0))
        }

        let rc = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMs()) }
        if rc < 0 && errno != EINTR { log("poll: \(SystemError("poll"))") }

        if fds[0].revents != 0 {
            let signals = SignalPipe.drain()
            for sig in signals where sig == SIGTERM || sig == SIGINT {
                log("received signal \(sig); stopping")
                stopRequested = true
            }
            // Orphans the subreaper adopted are reaped here; the engine reaps its own child.
            if signals.contains(SIGCHLD) { ProcessTree.reapAdopted(sparing: engine.childPID) }
        }
        if stopRequested { return }

        if fds[1].revents != 0 {
            inFifo.readAvailable { bytes in
                for event in splitter.feed(bytes) { handleInput(event) }
            }
        }
        if outFifo.isAttached, outIndex < engineStart {
            let revents = fds[outIndex].revents
            if revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                detach()
            }
        }
        for index in engineStart..<fds.count where fds[index].revents != 0 {
            engine.handle(fd: fds[index].fd, revents: fds[index].revents, context: self)
        }
        engine.tick(context: self)
        checkPipesIfDue()
        if stopRequested { return }
        startQueuedPrompts()
        attachIfDue()
        heartbeatIfDue()
        flush()
    }

    private func timeoutMs() -> Int32 {
        let now = now()
        var deadline = min(engine.nextDeadline() ?? .infinity, nextPipeCheck)
        if !outFifo.isAttached { deadline = min(deadline, nextAttempt) }
        // nextHeartbeat is infinity with heartbeats off (`--heartbeat 0`); a past deadline here
        // would make every poll return at once, a busy loop that takes a core from the host.
        if outFifo.isAttached, options.wire == .jsonl, options.heartbeatInterval > 0 {
            deadline = min(deadline, nextHeartbeat)
        }
        if deadline == .infinity { return 1000 }
        let ms = ((deadline - now) * 1000).rounded(.up)
        return Int32(max(0, min(ms, 1000)))
    }

    private func handleInput(_ event: InputEvent) {
        switch event {
        case .interrupt:
            interrupt(id: nil)
        case .overlong(let bytes):
            emit(.notice("ignored an input line of \(bytes) bytes (longer than \(splitter.maxLineBytes))"))
        case .line(let line):
            switch options.wire {
            case .plain:
                enqueue(Prompt(id: nextLineID(), text: line))
            case .jsonl:
                switch HostRequest.decode(line: line) {
                case .prompt(let id, let text): enqueue(Prompt(id: id ?? nextLineID(), text: text))
                case .interrupt(let id): interrupt(id: id)
                case .permissionAnswer(_, let requestID, let behavior, let message):
                    // Only the Claude stream-json mode asks for permission; other engines say so.
                    engine.answerPermission(requestID: requestID, behavior: behavior, message: message, context: self)
                case .unknown(let type): emit(.notice("ignored a message of unknown type '\(type)'"))
                case .malformed(let reason): emit(.notice("ignored a malformed message (\(reason))"))
                }
            }
        }
    }

    private func nextLineID() -> String {
        lineCounter += 1
        return "line-\(lineCounter)"
    }

    private func enqueue(_ prompt: Prompt) {
        if queue.count - queueHead >= AgentLoop.maxQueuedPrompts {
            emit(.notice("prompt queue is full (\(AgentLoop.maxQueuedPrompts)); dropped prompt \(prompt.id)"))
            emit(.done(turn: prompt.id, status: .error, exit: -1))
            return
        }
        queue.append(prompt)
        startQueuedPrompts()
    }

    private func startQueuedPrompts() {
        while queueHead < queue.count, engine.canStart, crashCode == nil {
            let prompt = queue[queueHead]
            queueHead += 1
            engine.start(prompt, context: self)
        }
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead > 1024 {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
    }

    /// 0x03 or `interrupt` without id: the running reply. With an id: that reply, or that queued
    /// prompt (which then ends as interrupted without running).
    private func interrupt(id: String?) {
        if id == nil || id == engine.runningTurn {
            engine.interrupt(context: self)
            return
        }
        if let id, let index = queue[queueHead...].firstIndex(where: { $0.id == id }) {
            queue.remove(at: index)
            emit(.done(turn: id, status: .interrupted, exit: interruptedExitCode))
        }
    }

    // MARK: - Out-FIFO

    private func attachIfDue() {
        guard !outFifo.isAttached else { return }
        let now = now()
        guard now >= nextAttempt else { return }
        nextAttempt = now + Double(options.attachIntervalMs) / 1000
        switch outFifo.tryAttach() {
        case .noReader:
            lastAttachError = nil
        case .failed(let error):
            if case .missing = error, (try? FifoSafety.ensureDirectory(options.pipeDirectory)) != nil,
               (try? FifoSafety.create(options.outFifoPath, policy: policy)) == true {
                if !created.contains(options.outFifoPath) { created.append(options.outFifoPath) }
                log("\(options.outFifoPath) had vanished; created it again")
                return
            }
            if lastAttachError != error.description {
                lastAttachError = error.description
                log("cannot open the out-FIFO: \(error)")
            }
        case .attached:
            lastAttachError = nil
            var first: [OutputFrame] = []
            if options.wire == .jsonl { first.append(framer.hello(pid: getpid())) }
            let dropped = output.takeDroppedCount()
            if dropped > 0 { first.append(framer.dropNotice(bytes: dropped)) }
            output.prepend(first)
            nextHeartbeat = options.heartbeatInterval > 0 ? now + options.heartbeatInterval : .infinity
        }
    }

    private func detach() {
        outFifo.detach()
        output.restartHeadFrame()
        output.enforceLimit()
        nextAttempt = now() + Double(options.attachIntervalMs) / 1000
        nextHeartbeat = .infinity
    }

    private func heartbeatIfDue() {
        guard options.wire == .jsonl, options.heartbeatInterval > 0, outFifo.isAttached else { return }
        let now = now()
        guard now >= nextHeartbeat else { return }
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        output.append(framer.heartbeat(ts: Double(realtime.tv_sec) + Double(realtime.tv_nsec) / 1e9))
        nextHeartbeat = now + options.heartbeatInterval
    }

    private func flush() {
        guard outFifo.isAttached, !output.isEmpty else { return }
        if output.droppedBytes > 0, output.headOffset == 0 {
            output.prepend([framer.dropNotice(bytes: output.takeDroppedCount())])
        }
        if outFifo.write(from: &output) == .readerGone { detach() }
    }

    // MARK: - Deleted or replaced FIFOs and lock file

    private func checkPipesIfDue() {
        let now = now()
        guard now >= nextPipeCheck else { return }
        nextPipeCheck = now + options.pipeCheckInterval
        var problems: [String] = []
        if let lock, !lock.isCurrent {
            do {
                try FifoSafety.ensureDirectory(options.pipeDirectory)
                do {
                    try lock.reacquire()
                    log("lock file \(lock.path) had been deleted or replaced; took it again")
                } catch {
                    if case .held = error {
                        log("\(error); stopping")
                        lostLock = true
                        stopRequested = true
                        return
                    }
                    problems.append(error.description)
                }
            } catch {
                problems.append(error.description)
            }
        }
        if let inFifo, !inFifo.isCurrent, let reason = reopenInFifo(inFifo) { problems.append(reason) }
        if outFifo.isAttached, !outFifo.isCurrent {
            log("out-FIFO \(options.outFifoPath) was deleted or replaced; attaching to the one at that path")
            detach()
        }
        let problem = problems.isEmpty ? nil : problems.joined(separator: "; ")
        if let problem, problem != lastPipeProblem { log(problem) }
        lastPipeProblem = problem
    }

    /// Opens the FIFO now at the in-FIFO's path (creating it when missing) in place of the one
    /// that was deleted or replaced. Returns why it cannot, if it cannot (keeping the old one).
    private func reopenInFifo(_ old: InFifo) -> String? {
        let path = options.inFifoPath
        var what = "was replaced; reopened the FIFO now at that path"
        do {
            if case .missing = FifoSafety.inspect(path) {
                try FifoSafety.ensureDirectory(options.pipeDirectory)
                if try FifoSafety.create(path, policy: policy), !created.contains(path) { created.append(path) }
                what = "had been deleted; created it again"
            }
            let fresh = try InFifo(path: path, policy: policy)
            // Prompts already in the old FIFO still count; a line cut off there cannot be finished.
            old.readAvailable { bytes in
                for event in splitter.feed(bytes) { handleInput(event) }
            }
            let partial = splitter.discardPartialLine()
            old.close()
            inFifo = fresh
            log("in-FIFO \(path) \(what)")
            if partial > 0 { emit(.notice("discarded \(partial) bytes of an unfinished line in the replaced in-FIFO")) }
            return nil
        } catch {
            return "in-FIFO \(path) was deleted or replaced and cannot be used again: \(error); prompts cannot reach this agent until it can"
        }
    }

    // MARK: - Shutdown

    private func finish() -> Int32 {
        engine.shutdown()
        ProcessTree.endDescendants()
        if let crashCode {
            // Let an attached reader see the reply up to the crash, for at most 200 ms.
            let deadline = now() + 0.2
            while outFifo.isAttached, !output.isEmpty, now() < deadline {
                flush()
                if outFifo.isAttached, !output.isEmpty {
                    var fd = pollfd(fd: outFifo.fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&fd, 1, 20)
                }
            }
            log("scripted crash: exiting with status \(crashCode)")
        } else {
            flush()
        }
        outFifo.detach()
        inFifo?.close()
        if lostLock { return AgentLoop.lockHeldExitCode }
        removeCreatedFifos()
        lock?.release(removing: true)
        return crashCode ?? 0
    }

    private func removeCreatedFifos() {
        for path in created {
            do { try FifoSafety.remove(path) } catch { log("not removing \(path): \(error)") }
        }
        created.removeAll()
    }
}
