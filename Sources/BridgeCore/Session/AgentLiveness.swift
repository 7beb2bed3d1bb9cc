// AgentLiveness: whether an agent serves an instance, from the cheapest facts there are.
// The hub holds a write end of every out-FIFO (so a dead agent never gives EOF there), so it
// asks the in-FIFO instead: open(O_WRONLY|O_NONBLOCK) fails with ENXIO only while no process has
// it open for reading. Our agent always holds its read end; the upstream agent reopens it per
// prompt, a gap of microseconds, so one ENXIO is a hint and two in a row (a probe interval
// apart) mean the agent is gone. Output, heartbeats and a successful open are signs of life; a
// framed `hello` from another pid means the agent was replaced even if no probe saw the gap (once
// the agent was seen down, the next hello is its comeback, whatever its pid).
// Pure: the hub does the probing and feeds the results in.

public struct AgentLiveness: Sendable {
    public enum State: Equatable, Sendable { case unknown, up, down }

    public private(set) var state: State = .unknown
    /// The agent was seen up at least once (a later comeback is a restart).
    public private(set) var seenUp = false
    private var helloPid: Int?
    private var misses = 0
    /// ENXIO probes in a row that make the agent down.
    public static let missesToDown = 2

    public init() {}

    /// The result of one in-FIFO probe.
    public mutating func probed(listening: Bool) -> [AgentLifecycleSign] {
        if listening {
            misses = 0
            return alive()
        }
        misses += 1
        guard misses >= Self.missesToDown, state != .down else { return [] }
        return down(.noReader)
    }

    /// Output or a heartbeat: something writes the out-FIFO.
    public mutating func signOfLife() -> [AgentLifecycleSign] {
        misses = 0
        return alive()
    }

    /// The instance's FIFOs vanished (or were replaced by something unsafe).
    public mutating func pipesGone() -> [AgentLifecycleSign] {
        misses = 0
        guard state != .down else { return [] }
        return down(.pipesGone)
    }

    /// A framed `hello`: sent by every agent when it attaches to the out-FIFO.
    public mutating func hello(pid: Int) -> [AgentLifecycleSign] {
        defer { helloPid = pid }
        misses = 0
        if state == .up, let old = helloPid, old != pid {
            return down(.replaced) + alive()
        }
        return alive()
    }

    private mutating func alive() -> [AgentLifecycleSign] {
        guard state != .up else { return [] }
        let wasDown = state == .down
        state = .up
        defer { seenUp = true }
        return wasDown && seenUp ? [.back] : [.seen]
    }

    private mutating func down(_ why: ExitSign) -> [AgentLifecycleSign] {
        let wasUp = state == .up
        state = .down
        // Whoever says hello next is the comeback (already told as `back` if a probe saw it
        // first), not a replacement of the agent that left.
        helloPid = nil
        return wasUp ? [.exited(why)] : []
    }
}

public enum AgentLifecycleSign: Equatable, Sendable {
    case exited(ExitSign)
    case back
    /// Alive for the first time (or after it was down before it was ever seen up).
    case seen
}
