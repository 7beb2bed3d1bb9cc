// PersistentEngine: `--persistent CMD` keeps one child (Claude Code, say) and writes each prompt
// line to its stdin at once, as the upstream agent does; the child's stdin pipe is the queue.
// When the child dies it is restarted with RestartBackoff, and the out stream says so. Prompts
// that arrive while no child runs wait for the next one.
// Turn ends (jsonl only) are a heuristic, the child has no framing of its own: a `❯` in its
// output, `turnQuietPeriod` seconds of silence, or the child's death.
// An interrupt escalates (InterruptEscalation) only while the child goes on printing without a
// `❯`: a child that falls silent or prints its prompt has obeyed (it may print nothing at all).
// When the child dies, whatever it left behind (its group, adopted orphans) is ended with it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore

public final class PersistentEngine: ReplyEngine {
    /// A prompt's bytes on their way to the child's stdin.
    struct PendingInput {
        var turn: String
        var bytes: [UInt8]
        var written = 0
    }

    static let markerBytes: [UInt8] = [0xE2, 0x9D, 0xAF]  // ❯
    static let maxPendingInputBytes = 64 << 20

    let command: [String]
    let trackTurns: Bool
    let quietPeriod: Double
    public var backoff = RestartBackoff()

    private var child: ChildProcess?
    private var startedAt = 0.0
    private var restartAt: Double?
    private var gaveUp = false
    private var input: [PendingInput] = []
    private var pendingInputBytes = 0
    /// Turns whose prompt reached the child and that wait for their end, oldest first.
    private var turns: [String] = []
    private var interruptedTurns: Set<String> = []
    private var lastActivity = 0.0
    private var markerTail: [UInt8] = []
    private var escalation: InterruptEscalation
    /// Whether the child printed anything (without a `❯`) since the last interrupt signal.
    private var printedSinceSignal = false

    public init(command: [String], trackTurns: Bool, quietPeriod: Double,
                escalation: InterruptEscalation = InterruptEscalation()) {
        self.command = command
        self.trackTurns = trackTurns
        self.quietPeriod = quietPeriod
        self.escalation = escalation
    }

    public var canStart: Bool { true }
    public var runningTurn: String? { turns.first }
    public var childPID: pid_t? { child?.pid }

    public func begin(context: EngineContext) { spawn(context: context) }

    public func start(_ prompt: Prompt, context: EngineContext) {
        let bytes = Array((prompt.text + "\n").utf8)
        if pendingInputBytes + bytes.count > PersistentEngine.maxPendingInputBytes {
            context.emit(.notice("the child is not reading its input; dropped a prompt of \(bytes.count) bytes"))
            if trackTurns { context.emit(.done(turn: prompt.id, status: .error, exit: -1)) }
            return
        }
        input.append(PendingInput(turn: prompt.id, bytes: bytes))
        pendingInputBytes += bytes.count
        if gaveUp {
            gaveUp = false
            backoff.reset()
            spawn(context: context)
        }
        writeInput(context: context)
    }

    public func interrupt(context: EngineContext) {
        guard let child else { return }
        if let turn = turns.first { interruptedTurns.insert(turn) }
        printedSinceSignal = false
        child.signalGroup(escalation.begin(now: context.now()))
    }

    public func pollRequests(context: EngineContext) -> [PollRequest] {
        child?.pollRequests(outputBacklogged: context.outputBacklogged, inputPending: !input.isEmpty) ?? []
    }

    public func handle(fd: Int32, revents: Int16, context: EngineContext) {
        child?.handle(fd: fd, revents: revents, received: { received($0, context: context) }, writeInput: { writeInput(context: context) })
    }

    public func tick(context: EngineContext) {
        let now = context.now()
        if let child, child.reap() {
            // Take the dead child's last words first; while the reader is behind, wait for it.
            if child.outputFD >= 0 && context.outputBacklogged { return }
            while child.outputFD >= 0, let bytes = readChunk(child.outputFD), !bytes.isEmpty {
                received(bytes, context: context)
                if context.outputBacklogged { return }
            }
            childDied(child, context: context)
        }
        if let child, escalation.nextDeadline.map({ now >= $0 }) == true {
            if printedSinceSignal, let signal = escalation.due(now: now) {
                printedSinceSignal = false
                child.signalGroup(signal)
                context.emit(.notice(escalation.notice(sent: signal)))
            } else {
                escalation.end()
            }
        }
        if let restartAt, now >= restartAt {
            self.restartAt = nil
            spawn(context: context)
        }
        if trackTurns, child != nil, let turn = turns.first, now - lastActivity >= quietPeriod {
            endTurn(turn, status: .ok, exit: 0, context: context)
        }
    }

    public func nextDeadline() -> Double? {
        var deadline = escalation.nextDeadline.map { min($0, restartAt ?? .infinity) } ?? restartAt
        if trackTurns, child != nil, !turns.isEmpty {
            deadline = min(deadline ?? .infinity, lastActivity + quietPeriod)
        }
        return deadline
    }

    public func shutdown() {
        child?.terminate()
        child = nil
    }

    // MARK: - Internals

    private func spawn(context: EngineContext) {
        do {
            child = try ChildProcess.spawn(command, withStdin: true)
            startedAt = context.now()
            lastActivity = startedAt
            writeInput(context: context)
        } catch {
            context.emit(.notice("cannot start \(describe(command)): \(error)"))
            scheduleRestart(afterExit: "could not be started", uptime: 0, context: context)
        }
    }

    private func received(_ bytes: [UInt8], context: EngineContext) {
        lastActivity = context.now()
        context.emit(.output(turn: turns.first, bytes: bytes))
        let window = markerTail + bytes
        markerTail = Array(window.suffix(2))
        let marked = containsMarker(window)
        if escalation.isActive {
            if marked { escalation.end() } else { printedSinceSignal = true }
        }
        guard trackTurns, let turn = turns.first else { return }
        if marked {
            markerTail = []
            endTurn(turn, status: interruptedTurns.contains(turn) ? .interrupted : .ok, exit: 0, context: context)
        }
    }

    private func containsMarker(_ bytes: [UInt8]) -> Bool {
        let m = PersistentEngine.markerBytes
        guard bytes.count >= m.count else { return false }
        for i in 0...(bytes.count - m.count) where bytes[i] == m[0] && bytes[i + 1] == m[1] && bytes[i + 2] == m[2] {
            return true
        }
        return false
    }

    private func endTurn(_ turn: String, status: DoneStatus, exit: Int32, context: EngineContext) {
        guard let index = turns.firstIndex(of: turn) else { return }
        turns.remove(at: index)
        let interrupted = interruptedTurns.remove(turn) != nil
        lastActivity = context.now()
        context.emit(.done(turn: turn, status: interrupted && status == .ok ? .interrupted : status, exit: exit))
    }

    private func writeInput(context: EngineContext) {
        guard let child, child.stdinFD >= 0 else { return }
        while var first = input.first {
            let n = first.bytes.withUnsafeBytes { raw in
                write(child.stdinFD, raw.baseAddress! + first.written, raw.count - first.written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                child.closeStdin()  // EPIPE: the child is going; its death is handled in tick
                return
            }
            first.written += n
            if first.written < first.bytes.count {
                input[0] = first
                continue
            }
            input.removeFirst()
            pendingInputBytes -= first.bytes.count
            if trackTurns {
                if turns.isEmpty { lastActivity = context.now() }
                turns.append(first.turn)
            }
        }
    }

    private func childDied(_ dead: ChildProcess, context: EngineContext) {
        dead.closeOutput()
        dead.closeStdin()
        dead.killGroupRemnants()
        child = nil
        escalation.end()
        context.endDescendants(sparing: nil)
        let code = dead.exitCode ?? 0
        // A prompt half written to the dead child is lost with it.
        if let first = input.first, first.written > 0 {
            input.removeFirst()
            pendingInputBytes -= first.bytes.count
            if trackTurns { turns.append(first.turn) }
        }
        for turn in turns {
            endTurn(turn, status: interruptedTurns.contains(turn) ? .interrupted : .error, exit: code, context: context)
        }
        markerTail = []
        scheduleRestart(afterExit: exitPhrase(code: code, signal: dead.killedBySignal),
                        uptime: context.now() - startedAt, context: context)
    }

    private func scheduleRestart(afterExit phrase: String, uptime: Double, context: EngineContext) {
        switch backoff.childDied(uptime: uptime) {
        case .restart(let delay, let attempt):
            restartAt = context.now() + delay
            context.emit(.notice("child \(phrase); restarting in \(formatSeconds(delay)) s (attempt \(attempt)/\(backoff.maximumAttempts))"))
        case .giveUp(let attempts):
            gaveUp = true
            context.emit(.notice("child \(phrase); gave up after \(attempts) restarts; the next prompt starts it again"))
            for pending in input where trackTurns {
                context.emit(.done(turn: pending.turn, status: .error, exit: -1))
            }
            input.removeAll()
            pendingInputBytes = 0
        }
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}
