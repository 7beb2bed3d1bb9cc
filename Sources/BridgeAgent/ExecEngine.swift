// ExecEngine: `--exec CMD` runs CMD once per prompt, the prompt as its last argument (argv, no
// shell), streaming stdout and stderr. The reply ends when the child has exited and its output
// pipe reached EOF (or 200 ms after the exit, should a grandchild keep the pipe open). Whatever
// the child started (its process group, and with the subreaper every orphan) ends with the turn.
// An interrupt escalates (InterruptEscalation) while the child ignores it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore

public final class ExecEngine: ReplyEngine {
    static let drainGrace = 0.2
    let command: [String]
    private var turn: Prompt?
    private var child: ChildProcess?
    private var interrupted = false
    private var reapedAt: Double?
    private var escalation: InterruptEscalation

    public init(command: [String], escalation: InterruptEscalation = InterruptEscalation()) {
        self.command = command
        self.escalation = escalation
    }

    public var canStart: Bool { turn == nil }
    public var runningTurn: String? { turn?.id }
    public var childPID: pid_t? { child?.pid }

    public func start(_ prompt: Prompt, context: EngineContext) {
        turn = prompt
        interrupted = false
        reapedAt = nil
        do {
            child = try ChildProcess.spawn(command + [prompt.text], withStdin: false)
        } catch {
            context.emit(.output(turn: prompt.id, bytes: Array("[cc-bridge-agent] cannot run \(describe(command)): \(error)\n".utf8)))
            finish(.error, exit: 127, context: context)
        }
    }

    public func interrupt(context: EngineContext) {
        guard let child, turn != nil else { return }
        interrupted = true
        child.signalGroup(escalation.begin(now: context.now()))
    }

    public func pollRequests(context: EngineContext) -> [PollRequest] {
        guard let child, child.outputFD >= 0, !context.outputBacklogged else { return [] }
        return [PollRequest(fd: child.outputFD, events: Int16(POLLIN))]
    }

    public func handle(fd: Int32, revents: Int16, context: EngineContext) {
        guard let child, fd == child.outputFD, let turn else { return }
        switch readChunk(fd) {
        case nil: child.closeOutput()
        case let bytes?: if !bytes.isEmpty { context.emit(.output(turn: turn.id, bytes: bytes)) }
        }
    }

    public func tick(context: EngineContext) {
        guard let child else { return }
        if reapedAt == nil, child.reap() { reapedAt = context.now() }
        if reapedAt == nil, let signal = escalation.due(now: context.now()) {
            child.signalGroup(signal)
            context.emit(.notice(escalation.notice(sent: signal)))
        }
        guard let reapedAt else { return }
        if child.outputFD >= 0 {
            // Exited: take what is still in the pipe (not while the reader is behind), then wait
            // briefly for EOF in case a grandchild still holds the write end.
            if context.outputBacklogged { return }
            drain: while let turn {
                switch readChunk(child.outputFD) {
                case nil: child.closeOutput(); break drain
                case let bytes? where bytes.isEmpty: break drain
                case let bytes?: context.emit(.output(turn: turn.id, bytes: bytes))
                }
                if context.outputBacklogged { return }
            }
            if child.outputFD >= 0 {
                if context.now() - reapedAt < ExecEngine.drainGrace { return }
                child.closeOutput()
            }
        }
        let code = child.exitCode ?? 0
        let status: DoneStatus = interrupted ? .interrupted : (code == 0 ? .ok : .error)
        finish(status, exit: code, context: context)
    }

    public func nextDeadline() -> Double? {
        guard let reapedAt else { return escalation.nextDeadline }
        return reapedAt + ExecEngine.drainGrace
    }

    public func shutdown() {
        child?.terminate()
        child = nil
    }

    private func finish(_ status: DoneStatus, exit: Int32, context: EngineContext) {
        guard let turn else { return }
        self.turn = nil
        child?.killGroupRemnants()
        child = nil
        reapedAt = nil
        escalation.end()
        context.endDescendants(sparing: nil)
        context.emit(.done(turn: turn.id, status: status, exit: exit))
    }
}
