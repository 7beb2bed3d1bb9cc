// GoneInstances: the policy for instances whose pipes vanished from pipe_dir. Such an instance
// is gone for a grace period (an agent restarting removes and recreates its FIFOs, and should
// come back as it was); when its pipes are back in time it is simply there again, otherwise it
// is removed. Pure: the SessionHub feeds it the names each scan lists and the clock, and runs
// the timer at `nextDeadline`.

public struct GoneInstances: Sendable {
    /// Seconds a vanished instance is kept (as gone) before it is removed.
    public let grace: Double
    /// The names the last scan listed.
    private var listed: Set<String> = []
    /// Gone instance -> when it is removed.
    public private(set) var removeAt: [String: Double] = [:]

    public init(grace: Double) { self.grace = max(0, grace) }

    /// A scan listed `names` at `now`: instances listed before and missing now are gone from
    /// here on (returned, sorted); gone ones listed again are back and forgotten here.
    public mutating func update(listed names: Set<String>, now: Double) -> [String] {
        let went = listed.subtracting(names).sorted()
        for name in names { removeAt[name] = nil }
        for name in went { removeAt[name] = now + grace }
        listed = names
        return went
    }

    /// The gone instances whose grace ran out by `now`, sorted; they are forgotten here.
    public mutating func expired(now: Double) -> [String] {
        let due = removeAt.filter { $0.value <= now }.keys.sorted()
        for name in due { removeAt[name] = nil }
        return due
    }

    /// When the next gone instance is due for removal.
    public var nextDeadline: Double? { removeAt.values.min() }

    public func isGone(_ name: String) -> Bool { removeAt[name] != nil }
}
