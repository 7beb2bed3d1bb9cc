// RestartBackoff: when a persistent child dies it is restarted after 1 s, 2 s, 4 s … (at most
// 30 s), at most 5 times in a row. A child that stayed up for `stableAfter` (10) seconds starts the
// count afresh. Pure value type, so the schedule is tested without waiting.

public struct RestartBackoff: Sendable, Equatable {
    public var initialDelay: Double = 1
    public var maximumDelay: Double = 30
    public var maximumAttempts = 5
    public var stableAfter: Double = 10
    /// Restarts made since the last stable run.
    public private(set) var attempts = 0

    public init() {}

    public enum Decision: Equatable, Sendable {
        case restart(after: Double, attempt: Int)
        case giveUp(attempts: Int)
    }

    /// What to do about a child that died after running `uptime` seconds.
    public mutating func childDied(uptime: Double) -> Decision {
        if uptime >= stableAfter { attempts = 0 }
        guard attempts < maximumAttempts else { return .giveUp(attempts: attempts) }
        attempts += 1
        var delay = initialDelay
        for _ in 1..<attempts { delay = min(delay * 2, maximumDelay) }
        return .restart(after: min(delay, maximumDelay), attempt: attempts)
    }

    public mutating func reset() { attempts = 0 }
}
