// TUIRuntime: runs the TUI. One thread and one EventLoop: stdin bytes, the engine's events and
// signals become Actions; the pure reducer updates AppState and returns Effects, which run here;
// frames are drawn by the pacer (at most ~60 a second, none while nothing changed).
// Everything per instance that is not pixels (channels, turns, history, outbox, the agent's
// liveness) is the SessionHub's: the server's (ServerSessionSource) or, with `--no-server`, one in
// this process (LocalSessionSource); either's events become Actions through SessionActions, and
// its health reports (HealthScheduler) become Actions too.

import BridgeCore
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
    /// With `attach`: detaching returns to the instance list instead of leaving (`--stay`).
    public var stayAfterDetach = false
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
    /// Where `s` saves (nil: `exports` under the state directory). The demo's state is private
    /// and removed when it ends; what the user saved is not.
    public var exportDirectory: String?
    /// Through this server, or nil for the in-process hub (`--no-server`).
    public var server: TUIServerConnection?
    /// Remote hosts whose instances are listed too, as `HOST/NAME` (`--host`, `hosts:`).
    public var hosts: [RemoteHost] = []
    /// How ssh is run for them.
    public var ssh = SSHSettings()

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
    /// Another process reads the instance's out-FIFO (ReaderLock).
    case readerBusy(String)
    /// The server could not be reached or would not subscribe us.
    case server(String)

    public var description: String {
        switch self {
        case .notATerminal:
            "standard input is not a terminal; the TUI needs one (use `list`, `send` or `tail` in scripts)"
        case .noSuchInstance(let name, let directory): "no instance \"\(name)\" in \(directory)"
        case .backend(let message): message
        case .readerBusy(let why): "not attaching: \(why)"
        case .server(let why): why
        }
    }
}

public final class TUIRuntime {
    private let options: TUIOptions
    private let loop: EventLoop
    private var source: SessionSource!
    private let backend = NcursesBackend()
    private var state: AppState
    private var decoder = InputDecoder()
    private var pacer = FramePacer()
    private var dirty = true
    private var frameTimer: EventLoop.TimerID?
    private var escapeTimer: EventLoop.TimerID?
    private var expiryTimer: EventLoop.TimerID?
    private var notifyTimer: EventLoop.TimerID?
    /// Ticks once a second while the health panel is open, so its uptimes count on between
    /// checks; none while it is closed (an idle TUI wakes for nothing).
    private var healthClock: EventLoop.TimerID?
    /// The status expiry the timer is set for; the timer is only touched when it changes.
    private var scheduledExpiry: Double?
    private var firstFrameDone = false
    private let stats: RuntimeStats

    public init(options: TUIOptions) throws {
        self.options = options
        stats = RuntimeStats(environment: options.environment)
        loop = try EventLoop()
        let now = Date().timeIntervalSince1970
        let stateDirectory = options.stateDirectory ?? StatePaths.directory(environment: options.environment)
        // `s` saves under the state directory, never into whatever directory the TUI started in.
        state = AppState(
            settings: options.config.tui, theme: options.theme, size: Size(rows: 24, cols: 80),
            saveDirectory: options.exportDirectory ?? stateDirectory + "/exports", now: now,
            timeZoneOffset: TimeZone.current.secondsFromGMT())
        state.pipeDirectory = options.config.pipeDirectory
        state.mouse = options.mouse
        state.promptIDPrefix = "t\(String(UInt64(now * 1000), radix: 36))-"
        if let server = options.server {
            source = ServerSessionSource(loop: loop, connection: server)
        } else {
            source = LocalSessionSource(loop: loop, options: options, stateDirectory: stateDirectory)
        }
        if !options.hosts.isEmpty {
            source = HostsSessionSource(loop: loop, local: source, hosts: options.hosts, ssh: options.ssh)
        }
        source.onReport = { [unowned self] report in self.handle(report) }
    }

    /// Runs until the user quits or a terminating signal arrives. The terminal is restored on
    /// every way out (see TerminalGuard for crashes).
    public func run() throws {
        guard isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0 else { throw TUIRuntimeError.notATerminal }
        try source.start()
        state.healthEnabled = source.healthEnabled
        if let name = options.attach {
            // A remote instance: its host connects in the background; attach waits for it (only).
            if let hosts = source as? HostsSessionSource, let why = hosts.waitForHost(of: name, timeout: 40) {
                source.stop()
                throw TUIRuntimeError.server("cannot attach \(name): \(why)")
            }
            guard source.currentInstances.contains(where: { $0.name == name }) else {
                source.stop()
                throw TUIRuntimeError.noSuchInstance(name, directory: options.config.pipeDirectory)
            }
            if let why = source.readerRefusal(of: name) {
                source.stop()
                throw TUIRuntimeError.readerBusy(why)
            }
            state.selected = name
            state.detachQuits = !options.stayAfterDetach
            _ = reduce(state: &state, action: .command(.attach))
        }
        do {
            try backend.start(mouse: options.mouse, environment: options.environment)
        } catch {
            source.stop()
            throw TUIRuntimeError.backend("\(error)")
        }
        defer {
            source.stop()
            backend.stop()
            stats.finish()
        }
        // After the backend installed TerminalGuard: TERM, HUP and INT end the TUI cleanly
        // through the loop (so the demo can stop its agents); a second one restores and exits.
        // TSTP (the Ctrl-Z key, or from outside) and CONT are job control: give the terminal back,
        // stop, re-establish.
        SignalPipe.route([SIGTERM, SIGHUP, SIGINT, SIGWINCH, SIGTSTP, SIGCONT])
        if let notice = backend.notice { dispatch(.notice(StatusMessage(notice, kind: .error))) }
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
        let inputs = TypingBurst.mark(backend.readInput(into: &decoder))
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
            if sig == SIGTSTP || sig == SIGCONT {
                // suspend() returns once we are continued; the SIGCONT that follows repaints once more.
                if sig == SIGTSTP { backend.suspend() } else { backend.resume() }
                draw()
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

    // MARK: session events

    private func handle(_ report: SessionSourceReport) {
        switch report {
        case .event(let event):
            for action in SessionActions.actions(for: event, now: Self.now()) { dispatch(action) }
        case .health(let report):
            dispatch(.healthUpdated(HealthRows.rows(report), perInstance: HealthRows.perInstance(report)))
        case .status(let message):
            dispatch(.notice(message))
        case .marker(let instance, let text):
            dispatch(.marker(instance: instance, text: text, at: Self.now()))
        case .hosts(let hosts):
            dispatch(.hostsChanged(hosts))
        }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    // MARK: health

    /// `r`: check now, whatever the schedule.
    private func checkHealthNow() {
        guard source.healthEnabled else {
            dispatch(.notice(StatusMessage("health checks are disabled (docker.health.enabled: false)", kind: .info,
                                           expires: Self.now() + 5)))
            return
        }
        source.checkHealth()
    }

    // MARK: reducer and effects

    private func dispatch(_ action: Action) {
        let effects = reduce(state: &state, action: action)
        dirty = true
        for effect in effects { run(effect) }
        scheduleNotificationFlush()
        scheduleFrame()
        scheduleExpiry()
        updateHealthClock()
    }

    private func updateHealthClock() {
        if state.healthVisible, healthClock == nil {
            healthClock = loop.schedule(after: 1, repeating: 1) { [unowned self] in
                self.dispatch(.tick(now: Date().timeIntervalSince1970))
            }
        } else if !state.healthVisible, let clock = healthClock {
            loop.cancel(clock)
            healthClock = nil
        }
    }

    private func run(_ effect: Effect) {
        switch effect {
        case .send(let instance, let promptID, let text):
            source.send(text, to: instance, promptID: promptID)
        case .cancelQueued(let instance, let id):
            source.cancelQueued(instance: instance, id: id)
        case .interrupt(let instance):
            source.interrupt(instance)
        case .saveScrollback(let instance, let path):
            guard let target = state.instance(named: instance) else { return }
            let text = ScrollbackExport.text(of: target, timestamps: target.view.timestamps, timeZoneOffset: state.timeZoneOffset)
            do {
                try FileManager.default.createDirectory(atPath: state.saveDirectory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
                let saved = try ExportFile.claim(path)
                try text.write(toFile: saved, atomically: true, encoding: .utf8)
                dispatch(.notice(StatusMessage("saved \(target.scrollback.count) lines to \(saved)", kind: .info,
                                               expires: Date().timeIntervalSince1970 + 5)))
            } catch let error as ExportFile.SaveError {
                dispatch(.notice(StatusMessage("could not save to \(error)", kind: .error)))
            } catch {
                dispatch(.notice(StatusMessage("could not save to \(path): \(error.localizedDescription)", kind: .error)))
            }
        case .copyToClipboard(let text):
            backend.copyToClipboard(text)
        case .refreshHealth:
            source.rescan()
            checkHealthNow()
        case .quit:
            loop.stop()
        case .setMouse(let on):
            backend.setMouse(on)
        case .suspend:
            backend.suspend(wholeJob: true)
            draw()
        case .answerPermission(let instance, let requestID, let behavior, let message):
            source.answerPermission(instance: instance, requestID: requestID, behavior: behavior, message: message) { [unowned self] answered in
                guard !answered else { return }
                self.dispatch(.notice(StatusMessage("\(instance): that request is no longer waiting (its turn ended)", kind: .error,
                                                    expires: Date().timeIntervalSince1970 + 10)))
            }
        case .notify(let text):
            backend.writeRaw(TerminalNotifier.bytes(text, mode: options.config.tui.notify,
                                                    inTmux: !(options.environment["TMUX"] ?? "").isEmpty))
        case .setTitle(let text):
            backend.setTitle(text)
        }
        scheduleNotificationFlush()
    }

    /// Notifications held back by the rate limit go out on a tick once the interval has passed.
    private func scheduleNotificationFlush() {
        guard !state.notifications.held.isEmpty, notifyTimer == nil else { return }
        let wait = max(0, state.notifications.lastAt + NotificationQueue.interval - Date().timeIntervalSince1970) + 0.01
        notifyTimer = loop.schedule(after: wait) { [unowned self] in
            self.notifyTimer = nil
            self.dispatch(.tick(now: Date().timeIntervalSince1970))
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
