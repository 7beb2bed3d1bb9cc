// TUIRuntime: runs the TUI. One thread and one EventLoop: stdin bytes, the engine's events and
// signals become Actions; the pure reducer updates AppState and returns Effects, which run here;
// frames are drawn by the pacer (at most ~60 a second, none while nothing changed).
// Per instance it keeps a session (tracker, history file, outbox: see InstanceSession), fed by
// the engine's events and the send effect; a HealthMonitor runs its probes on a background
// queue and posts the result back. Timers run only when something is due: session deadlines,
// an outbox retry every 0.5 s while prompts wait, the next health check.

import BridgeCore
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct TUIOptions {
    public var config: BridgeConfig
    public var theme: Theme
    public var policy = PipePolicy.strict
    /// Full screen on this instance (`attach`), or nil for every instance.
    public var attach: String?
    public var mouse: Bool
    /// Called on the loop once the first frame is on screen (benchmarks, demo notes).
    public var onFirstFrame: (() -> Void)?
    public var environment = ProcessInfo.processInfo.environment
    /// Where the config was (or would have been) loaded from, for the health panel's `config` row.
    public var configPath = ""
    /// Instances whose FIFOs this host creates; health recovery may recreate them (the demo's).
    public var managedInstances: Set<String> = []
    /// State directory for history files (nil: `$XDG_STATE_HOME/cc-bridge-tui`).
    public var stateDirectory: String?

    public init(config: BridgeConfig, theme: Theme, mouse: Bool? = nil) {
        self.config = config
        self.theme = theme
        self.mouse = mouse ?? config.tui.mouse
    }
}

public enum TUIRuntimeError: Error, CustomStringConvertible {
    case notATerminal
    case noSuchInstance(String, directory: String)
    case backend(String)

    public var description: String {
        switch self {
        case .notATerminal:
            "standard input is not a terminal; the TUI needs one (use `list`, `send` or `tail` in scripts)"
        case .noSuchInstance(let name, let directory): "no instance \"\(name)\" in \(directory)"
        case .backend(let message): message
        }
    }
}

public final class TUIRuntime {
    private let options: TUIOptions
    private let loop: EventLoop
    private var hub: InstanceHub!
    private let backend = NcursesBackend()
    private var state: AppState
    private var decoder = InputDecoder()
    private var pacer = FramePacer()
    private var dirty = true
    private var frameTimer: EventLoop.TimerID?
    private var escapeTimer: EventLoop.TimerID?
    private var expiryTimer: EventLoop.TimerID?
    /// The status expiry the timer is set for; the timer is only touched when it changes.
    private var scheduledExpiry: Double?
    private var interruptCounter = 0
    private var firstFrameDone = false
    private let stats: RuntimeStats
    // Sessions, history and outbox
    private let stateDirectory: String
    private var sessions: [String: InstanceSession] = [:]
    /// Prompts handed to the hub and not yet answered: prompt id -> (instance, text).
    private var pendingSends: [String: (instance: String, text: String)] = [:]
    private var sessionTimer: EventLoop.TimerID?
    private var sessionTimerDue: Double?
    private var outboxTimer: EventLoop.TimerID?
    // Health
    private var monitor: HealthMonitor?
    private var healthTimer: EventLoop.TimerID?
    private var healthProbeRunning = false

    public init(options: TUIOptions) throws {
        self.options = options
        stats = RuntimeStats(environment: options.environment)
        loop = try EventLoop()
        let now = Date().timeIntervalSince1970
        state = AppState(
            settings: options.config.tui, theme: options.theme, size: Size(rows: 24, cols: 80),
            saveDirectory: FileManager.default.currentDirectoryPath, now: now,
            timeZoneOffset: TimeZone.current.secondsFromGMT())
        state.pipeDirectory = options.config.pipeDirectory
        state.mouse = options.mouse
        state.promptIDPrefix = "t\(String(UInt64(now * 1000), radix: 36))-"
        stateDirectory = options.stateDirectory ?? StatePaths.directory(environment: options.environment)
        var hubOptions = InstanceHub.Options(directory: options.config.pipeDirectory)
        hubOptions.policy = options.policy
        hubOptions.maxLineBytes = options.config.tui.maxLineBytes
        hub = InstanceHub(loop: loop, options: hubOptions) { [unowned self] event in self.handle(event) }
        if options.config.docker.health.enabled {
            monitor = HealthMonitor(config: options.config, configPath: options.configPath, policy: options.policy,
                                    docker: DockerClient(environment: options.environment), managed: options.managedInstances)
            monitor?.reopen = { [unowned self] _ in self.hub.rescan() }
        } else {
            state.healthEnabled = false
        }
    }

    /// Runs until the user quits or a terminating signal arrives. The terminal is restored on
    /// every way out (see TerminalGuard for crashes).
    public func run() throws {
        guard isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0 else { throw TUIRuntimeError.notATerminal }
        hub.start()
        if let name = options.attach {
            guard hub.currentInstances.contains(where: { $0.name == name }) else {
                hub.stop()
                throw TUIRuntimeError.noSuchInstance(name, directory: options.config.pipeDirectory)
            }
            state.selected = name
            _ = reduce(state: &state, action: .command(.attach))
        }
        do {
            try backend.start(mouse: options.mouse, environment: options.environment)
        } catch {
            hub.stop()
            throw TUIRuntimeError.backend("\(error)")
        }
        defer {
            hub.stop()
            for session in sessions.values { session.store.flush() }
            backend.stop()
            stats.finish()
        }
        scheduleHealth()
        // After the backend installed TerminalGuard: TERM, HUP and INT end the TUI cleanly
        // through the loop (so the demo can stop its agents); a second one restores and exits.
        SignalPipe.route([SIGTERM, SIGHUP, SIGINT, SIGWINCH])
        loop.watch(SignalPipe.open(), for: .readable) { [unowned self] _ in self.handleSignals() }
        loop.watch(STDIN_FILENO, for: .readable) { [unowned self] events in self.readInput(events) }
        dispatch(.resize(rows: backend.size.rows, cols: backend.size.cols))
        draw()
        loop.run()
    }

    // MARK: input

    private func readInput(_ events: PollEvents) {
        // The terminal went away. A hung-up tty also polls readable (read then returns 0 or
        // EIO), so POLLHUP alone must end the loop, or it would spin on stdin.
        if events.contains(.hangup) || events.contains(.error) || events.contains(.invalid) {
            loop.stop()
            return
        }
        let inputs = backend.readInput(into: &decoder)
        if !inputs.isEmpty {
            if stats.enabled { stats.keyRead(at: MonotonicClock.now()) }
            dispatch(.tick(now: Date().timeIntervalSince1970))
        }
        for input in inputs { dispatch(action(for: input)) }
        if let escapeTimer { loop.cancel(escapeTimer) }
        escapeTimer = nil
        if let wait = decoder.pendingTimeout {
            escapeTimer = loop.schedule(after: wait) { [unowned self] in
                self.escapeTimer = nil
                for input in self.decoder.flushPending() { self.dispatch(self.action(for: input)) }
            }
        }
    }

    private func action(for input: InputEvent) -> Action {
        switch input {
        case .key(let key): .key(key)
        case .paste(let text): .paste(text)
        case .pasteRefused(let bytes): .pasteRefused(bytes: bytes)
        case .mouse(let mouse): .mouse(mouse)
        }
    }

    private func handleSignals() {
        for sig in SignalPipe.drain() {
            if sig == SIGWINCH {
                if let size = backend.pollResize() { dispatch(.resize(rows: size.rows, cols: size.cols)) }
                continue
            }
            // Graceful first; should the loop not get there, the next signal restores and exits.
            signal(sig) { sig in
                TerminalGuard.emergencyRestore()
                _exit(128 + sig)
            }
            loop.stop()
        }
    }

    // MARK: engine events

    private func handle(_ event: EngineEvent) {
        switch event {
        case .instancesChanged(let list, let directoryError):
            dispatch(.instancesChanged(list))
            if let directoryError { dispatch(.notice(StatusMessage(directoryError, kind: .error))) }
            for info in list where sessions[info.name] == nil { openSession(info.name) }
        case .output(let name, let batch):
            dispatch(.output(instance: name, batch: batch))
            let now = Self.now()
            monitor?.noteOutput(instance: name, at: now)
            // Finished lines only: an open line is counted once it ends (it may still change).
            let finishedBytes = batch.finishedTextByteCount
            if let session = sessions[name], finishedBytes > 0 {
                sessionChanged(session, session.tracker.output(byteCount: finishedBytes, at: now) { batch.finishedText })
            }
            pumpOutbox(name)
        case .stream(let name, let event):
            let now = Self.now()
            let session = sessions[name]
            switch event {
            case .modeChanged(let mode):
                session?.tracker.framing = mode == .framed ? .framed : .plain
                dispatch(.streamState(instance: name, text: mode == .framed ? "framed (ccb-jsonl/1)" : "plain"))
            case .notice(let text):
                dispatch(.streamState(instance: name, text: text))
            case .done(let id, let status, let exit):
                if let session { sessionChanged(session, session.tracker.framedDone(id: id, status: status, exit: exit, at: now)) }
            case .replyMarker:
                if let session { sessionChanged(session, session.tracker.replyMarker(at: now)) }
            case .heartbeat:
                session?.tracker.heartbeat(at: now)
                monitor?.noteHeartbeat(instance: name, at: now)
            case .hello, .chunkStarted:
                break
            }
            pumpOutbox(name)
        case .attachment(let name, let attachment):
            switch attachment {
            case .attached: dispatch(.streamState(instance: name, text: "attached"))
            case .reattaching(let why): dispatch(.streamState(instance: name, text: why))
            case .failed(let why): dispatch(.streamState(instance: name, text: "error: \(why)"))
            }
        case .delivered(let name, let id, let error):
            if id.hasPrefix("interrupt-") {
                if let error { dispatch(.notice(StatusMessage("interrupt not delivered: \(error)", kind: .error))) }
                return
            }
            let text = pendingSends.removeValue(forKey: id)?.text ?? state.instance(named: name)?.inFlight[id] ?? ""
            delivered(name, id: id, text: text, error: error)
        }
    }

    // MARK: sessions, history, outbox

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// Creates the instance's session and shows its history: the earlier conversation in the
    /// scrollback, the prompt line's history, the prompts still queued.
    private func openSession(_ name: String) {
        guard let valid = try? InstanceName(validating: name) else { return }
        let session = InstanceSession(name: valid, settings: options.config.docker.session, stateDirectory: stateDirectory)
        sessions[name] = session
        let warnings = session.store.load()
        let now = Self.now()
        for turn in session.tracker.restore(session.store.turns, at: now) { session.store.record(turn) }
        dispatch(.historyRestored(instance: name, turns: session.tracker.turns, inputs: session.store.inputs.map(\.text),
                                  queue: session.outbox.list()))
        if let first = warnings.first {
            dispatch(.notice(StatusMessage("history of \(name): \(first)", kind: .info, expires: now + 10)))
        }
        reportStoreError(session)
        monitor?.updateSession(instance: name, summary: session.tracker.summary(), framing: session.tracker.framing)
        scheduleSessionTick()
        if session.outbox.count > 0 { scheduleOutbox() }
    }

    /// Records turns the tracker changed, tells the reducer and the health monitor.
    private func sessionChanged(_ session: InstanceSession, _ turns: [Turn]) {
        if !turns.isEmpty {
            for turn in turns { session.store.record(turn) }
            reportStoreError(session)
            dispatch(.turnsChanged(instance: session.name, turns: turns))
            monitor?.updateSession(instance: session.name, summary: session.tracker.summary(), framing: session.tracker.framing)
        }
        scheduleSessionTick()
    }

    /// A failed history write (a full disk above all) is shown once; the UI keeps working and
    /// the store keeps everything in memory until a write succeeds again.
    private func reportStoreError(_ session: InstanceSession) {
        guard let error = session.store.lastError else {
            session.errorShown = false
            return
        }
        guard !session.errorShown else { return }
        session.errorShown = true
        dispatch(.notice(StatusMessage("\(session.name): \(error)", kind: .error, expires: Self.now() + 15)))
    }

    private func delivered(_ name: String, id: String, text: String, error: SendError?) {
        let now = Self.now()
        let session = sessions[name]
        switch error {
        case nil:
            if let session { sessionChanged(session, session.tracker.promptSent(id: id, text: text, at: now)) }
            dispatch(.sendResult(instance: name, promptID: id, error: nil))
        case .agentNotListening? where session != nil && !text.isEmpty:
            queue(text, id: id, in: session!, reason: "agent not listening")
        case let error?:
            if let session { sessionChanged(session, session.tracker.promptFailed(id: id, text: text, reason: error.description, at: now)) }
            dispatch(.sendResult(instance: name, promptID: id, error: error.description))
        }
    }

    /// Puts a prompt in the instance's outbox (persisted with its history) instead of losing it.
    private func queue(_ text: String, id: String, in session: InstanceSession, reason: String) {
        do {
            try session.outbox.enqueue(text: text, id: id, at: Self.now())
        } catch {
            dispatch(.sendResult(instance: session.name, promptID: id, error: "\(reason), and \(error)"))
            return
        }
        reportStoreError(session)
        dispatch(.sendQueued(instance: session.name, promptID: id, reason: reason))
        dispatch(.outboxChanged(instance: session.name, entries: session.outbox.list()))
        scheduleOutbox()
    }

    /// Delivers the instance's queued prompts, oldest first, as far as its agent reads.
    private func pumpOutbox(_ name: String) {
        guard let session = sessions[name], session.outbox.count > 0,
              let info = hub.currentInstances.first(where: { $0.name == name }), info.isReady else { return }
        let framed = hub.mode(of: name) == .framed
        let writer = PromptWriter(policy: options.policy)
        let sender = OutboxSender(outbox: session.outbox) { entry in
            let bytes = framed ? Array(HostMessage.prompt(id: entry.id, text: entry.text).encode().utf8) + [0x0A]
                               : PlainPrompt.line(for: entry.text).bytes
            switch writer.send(bytes, to: info.inPath, timeout: 0) {
            case .success: return .delivered
            case .failure(.agentNotListening): return .notListening
            case .failure(let error): return .failed(error.description)
            }
        }
        let now = Self.now()
        let delivered = sender.pump(at: now)
        for entry in delivered {
            sessionChanged(session, session.tracker.promptSent(id: entry.id, text: entry.text, at: now))
        }
        reportStoreError(session)
        if !delivered.isEmpty {
            dispatch(.outboxChanged(instance: name, entries: session.outbox.list()))
            let count = delivered.count
            dispatch(.notice(StatusMessage("delivered \(count) queued prompt\(count == 1 ? "" : "s") to \(name)",
                                           kind: .info, expires: now + 5)))
        }
        if let failure = sender.lastFailure, failure != session.lastDeliveryFailure {
            dispatch(.notice(StatusMessage("queued prompt for \(name) not delivered: \(failure); will retry", kind: .error,
                                           expires: now + 10)))
        }
        session.lastDeliveryFailure = sender.lastFailure
    }

    /// Retries every 0.5 s, only while some prompt waits.
    private func scheduleOutbox() {
        guard outboxTimer == nil, sessions.values.contains(where: { $0.outbox.count > 0 }) else { return }
        outboxTimer = loop.schedule(after: 0.5) { [unowned self] in
            self.outboxTimer = nil
            for (name, session) in self.sessions.sorted(by: { $0.key < $1.key }) where session.outbox.count > 0 {
                self.pumpOutbox(name)
            }
            self.scheduleOutbox()
        }
    }

    /// One timer at the earliest session deadline (quiet period, request or idle timeout).
    private func scheduleSessionTick() {
        let due = sessions.values.compactMap { $0.tracker.nextDeadline() }.min()
        guard due != sessionTimerDue else { return }
        if let sessionTimer { loop.cancel(sessionTimer) }
        sessionTimer = nil
        sessionTimerDue = due
        guard let due else { return }
        sessionTimer = loop.schedule(after: max(0, due - Self.now()) + 0.01) { [unowned self] in
            self.sessionTimer = nil
            self.sessionTimerDue = nil
            let now = Self.now()
            for (_, session) in self.sessions.sorted(by: { $0.key < $1.key }) {
                let changed = session.tracker.tick(now: now)
                if changed.isEmpty {
                    self.monitor?.updateSession(instance: session.name, summary: session.tracker.summary(), framing: session.tracker.framing)
                }
                self.sessionChanged(session, changed)
            }
            self.scheduleSessionTick()
        }
    }

    // MARK: health

    /// A timer at the monitor's next due time (none while disabled or while a probe runs).
    private func scheduleHealth() {
        if let healthTimer { loop.cancel(healthTimer) }
        healthTimer = nil
        guard let monitor, !healthProbeRunning, let due = monitor.nextDue() else { return }
        healthTimer = loop.schedule(after: max(0, due - Self.now())) { [unowned self] in
            self.healthTimer = nil
            guard let monitor = self.monitor, !self.healthProbeRunning else { return }
            let now = Self.now()
            monitor.recoverIfDue(now: now)
            if let inputs = monitor.startCheck(now: now) { self.probeHealth(inputs) } else { self.scheduleHealth() }
        }
    }

    /// Runs the blocking probe on a background queue; the result is judged back on the loop.
    private func probeHealth(_ inputs: HealthInputs) {
        guard let monitor else { return }
        healthProbeRunning = true
        let probes = monitor.probes
        let loop = self.loop
        let runtime = LoopBound(value: self)
        DispatchQueue.global(qos: .utility).async {
            let observation = HealthProbe.observe(inputs, probes: probes)
            loop.post { runtime.value.healthObserved(observation) }
        }
    }

    private func healthObserved(_ observation: HealthObservation) {
        healthProbeRunning = false
        guard let monitor else { return }
        let report = monitor.apply(observation)
        monitor.recoverIfDue(now: Self.now())
        dispatch(.healthUpdated(HealthRows.rows(report), perInstance: HealthRows.perInstance(report)))
        scheduleHealth()
    }

    /// `r`: check now, whatever the schedule.
    private func checkHealthNow() {
        guard let monitor else {
            dispatch(.notice(StatusMessage("health checks are disabled (docker.health.enabled: false)", kind: .info,
                                           expires: Self.now() + 5)))
            return
        }
        guard !healthProbeRunning else { return }
        if let healthTimer { loop.cancel(healthTimer) }
        healthTimer = nil
        probeHealth(monitor.inputs(now: Self.now()))
    }

    // MARK: reducer and effects

    private func dispatch(_ action: Action) {
        let effects = reduce(state: &state, action: action)
        dirty = true
        for effect in effects { run(effect) }
        scheduleFrame()
        scheduleExpiry()
    }

    private func run(_ effect: Effect) {
        switch effect {
        case .send(let instance, let promptID, let text):
            if let session = sessions[instance] {
                session.store.recordInput(text, at: Self.now())
                reportStoreError(session)
                if session.outbox.count > 0 {
                    // Behind the prompts already waiting, so the agent gets them in order.
                    let waiting = session.outbox.count
                    queue(text, id: promptID, in: session,
                          reason: "\(waiting) earlier prompt\(waiting == 1 ? "" : "s") waiting")
                    pumpOutbox(instance)
                    return
                }
            }
            pendingSends[promptID] = (instance, text)
            hub.send(text, to: instance, promptID: promptID, timeout: 2)
        case .cancelQueued(let instance, let id):
            guard let session = sessions[instance] else { return }
            session.outbox.cancel(id: id, at: Self.now())
            reportStoreError(session)
            dispatch(.outboxChanged(instance: instance, entries: session.outbox.list()))
        case .interrupt(let instance):
            if let session = sessions[instance] { sessionChanged(session, session.tracker.interruptSent(at: Self.now())) }
            interruptCounter += 1
            hub.interrupt(instance, promptID: "interrupt-\(interruptCounter)")
        case .saveScrollback(let instance, let path):
            guard let target = state.instance(named: instance) else { return }
            let text = ScrollbackExport.text(of: target, timestamps: target.view.timestamps, timeZoneOffset: state.timeZoneOffset)
            do {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                dispatch(.notice(StatusMessage("saved \(target.scrollback.count) lines to \(path)", kind: .info,
                                               expires: Date().timeIntervalSince1970 + 5)))
            } catch {
                dispatch(.notice(StatusMessage("could not save to \(path): \(error.localizedDescription)", kind: .error)))
            }
        case .copyToClipboard(let text):
            backend.copyToClipboard(text)
        case .refreshHealth:
            hub.rescan()
            checkHealthNow()
        case .quit:
            loop.stop()
        case .setMouse(let on):
            backend.setMouse(on)
        }
    }

    // MARK: frames

    private func scheduleFrame() {
        guard dirty, frameTimer == nil else { return }
        let wait = pacer.timeout(now: MonotonicClock.now(), dirty: dirty) ?? 0
        frameTimer = loop.schedule(after: wait) { [unowned self] in
            self.frameTimer = nil
            self.draw()
        }
    }

    private func draw() {
        if let size = backend.pollResize() {
            _ = reduce(state: &state, action: .resize(rows: size.rows, cols: size.cols))
        }
        let frame = render(state: state, size: backend.size)
        backend.present(frame, fullRepaint: state.needsFullRepaint)
        state.needsFullRepaint = false
        dirty = false
        let presented = MonotonicClock.now()
        stats.framePresented(at: presented)
        pacer.didDraw(at: presented)
        if !firstFrameDone {
            firstFrameDone = true
            options.onFirstFrame?()
        }
    }

    /// Wakes up when the status message should disappear (nothing else ticks while idle).
    /// Called after every action; during a flood that is every output batch, so it does nothing
    /// unless the status message's expiry changed.
    private func scheduleExpiry() {
        let expires = state.status?.expires
        guard expires != scheduledExpiry || (expires != nil && expiryTimer == nil) else { return }
        if let expiryTimer { loop.cancel(expiryTimer) }
        expiryTimer = nil
        scheduledExpiry = expires
        guard let expires else { return }
        let wait = max(0, expires - Date().timeIntervalSince1970) + 0.01
        expiryTimer = loop.schedule(after: wait) { [unowned self] in
            self.expiryTimer = nil
            self.scheduledExpiry = nil
            self.dispatch(.tick(now: Date().timeIntervalSince1970))
        }
    }
}
