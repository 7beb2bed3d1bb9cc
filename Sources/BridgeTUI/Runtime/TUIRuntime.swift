// TUIRuntime: runs the TUI. One thread and one EventLoop: stdin bytes, the engine's events and
// signals become Actions; the pure reducer updates AppState and returns Effects, which run here;
// frames are drawn by the pacer (at most ~60 a second, none while nothing changed).

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
    public var mouse: Bool
    /// Called on the loop once the first frame is on screen (benchmarks, demo notes).
    public var onFirstFrame: (() -> Void)?
    public var environment = ProcessInfo.processInfo.environment

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
    private var interruptCounter = 0
    private var firstFrameDone = false
    private let stats: RuntimeStats

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
        var hubOptions = InstanceHub.Options(directory: options.config.pipeDirectory)
        hubOptions.policy = options.policy
        hubOptions.maxLineBytes = options.config.tui.maxLineBytes
        hub = InstanceHub(loop: loop, options: hubOptions) { [unowned self] event in self.handle(event) }
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
            backend.stop()
            stats.finish()
        }
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
        if events.contains(.hangup) && !events.contains(.readable) {
            loop.stop()   // the terminal went away
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
        case .output(let name, let batch):
            dispatch(.output(instance: name, lines: batch.lines, replacesLast: batch.replacesOpenLine))
        case .stream(let name, let event):
            switch event {
            case .modeChanged(let mode):
                dispatch(.streamState(instance: name, text: mode == .framed ? "framed (ccb-jsonl/1)" : "plain"))
            case .notice(let text):
                dispatch(.streamState(instance: name, text: text))
            default:
                break
            }
        case .attachment(let name, let attachment):
            switch attachment {
            case .attached: dispatch(.streamState(instance: name, text: "attached"))
            case .reattaching(let why): dispatch(.streamState(instance: name, text: why))
            case .failed(let why): dispatch(.streamState(instance: name, text: "error: \(why)"))
            }
        case .delivered(let name, let id, let error):
            if id.hasPrefix("interrupt-") {
                if let error { dispatch(.notice(StatusMessage("interrupt not delivered: \(error)", kind: .error))) }
            } else {
                dispatch(.sendResult(instance: name, promptID: id, error: error?.description))
            }
        }
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
            hub.send(text, to: instance, promptID: promptID, timeout: 2)
        case .interrupt(let instance):
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
    private func scheduleExpiry() {
        if let expiryTimer { loop.cancel(expiryTimer) }
        expiryTimer = nil
        guard let expires = state.status?.expires else { return }
        let wait = max(0, expires - Date().timeIntervalSince1970) + 0.01
        expiryTimer = loop.schedule(after: wait) { [unowned self] in
            self.expiryTimer = nil
            self.dispatch(.tick(now: Date().timeIntervalSince1970))
        }
    }
}
