// HealthDelta: one health report told as its changes from the report before it, for clients that
// hold that report (the TUI through the server). Between two runs a silent instance's component
// changes only in what the run itself implies: its uptime (checked_at − first_seen) and one more
// trend entry (its unchanged state). Such components are left out; one whose agent stays away
// changes besides only in its failure count and the reason that counts them: it comes as those
// two (`counted`); the rest (new, changed) come whole, and the names in order only when the set
// or the order changed. `apply` rebuilds exactly
// the report the monitor made (equal to it), or nil when the client does not hold the base run.
// 1,000 silent instances: a few hundred bytes every check instead of ~1 MB of JSON to decode.

public struct HealthDelta: Codable, Equatable, Sendable {
    /// The run this delta applies to.
    public var baseRun: Int
    public var enabled: Bool
    public var state: HealthState
    public var reason: String
    public var checkedAt: Double
    public var run: Int
    /// Components that are new or differ from what the base implies.
    public var changed: [ComponentReport]
    /// Components that changed besides the run only in their failure count and reason.
    public var counted: [Counted]
    /// Every component's name in the report's order; nil when it is the base's.
    public var order: [String]?

    public struct Counted: Codable, Equatable, Sendable {
        public var name: String
        public var consecutiveFailures: Int
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case name, reason
            case consecutiveFailures = "consecutive_failures"
        }
    }

    enum CodingKeys: String, CodingKey {
        case enabled, state, reason, run, changed, counted, order
        case baseRun = "base_run", checkedAt = "checked_at"
    }

    /// The changes from `base` to `report`.
    public init(from base: HealthReport, to report: HealthReport) {
        baseRun = base.run
        enabled = report.enabled
        state = report.state
        reason = report.reason
        checkedAt = report.checkedAt
        run = report.run
        var before: [String: ComponentReport] = [:]
        for component in base.components { before[component.name] = component }
        changed = []
        counted = []
        for component in report.components {
            guard let old = before[component.name] else {
                changed.append(component)
                continue
            }
            var implied = Self.implied(by: old, checkedAt: report.checkedAt)
            if implied == component { continue }
            implied.consecutiveFailures = component.consecutiveFailures
            implied.reason = component.reason
            if implied == component {
                counted.append(Counted(name: component.name, consecutiveFailures: component.consecutiveFailures,
                                       reason: component.reason))
            } else {
                changed.append(component)
            }
        }
        let names = report.components.map(\.name)
        order = names.elementsEqual(base.components.lazy.map(\.name)) ? nil : names
    }

    /// The report this delta describes, built on `base`; nil when `base` is not the run it needs
    /// (or a component it does not change is missing from it).
    public func apply(to base: HealthReport) -> HealthReport? {
        guard base.run == baseRun else { return nil }
        var before: [String: ComponentReport] = [:]
        for component in base.components { before[component.name] = component }
        var fresh: [String: ComponentReport] = [:]
        for component in changed { fresh[component.name] = component }
        var counts: [String: Counted] = [:]
        for count in counted { counts[count.name] = count }
        var components: [ComponentReport] = []
        components.reserveCapacity(order?.count ?? base.components.count)
        for name in order ?? base.components.map(\.name) {
            if let component = fresh[name] {
                components.append(component)
            } else if let old = before[name] {
                var component = Self.implied(by: old, checkedAt: checkedAt)
                if let count = counts[name] {
                    component.consecutiveFailures = count.consecutiveFailures
                    component.reason = count.reason
                }
                components.append(component)
            } else {
                return nil
            }
        }
        return HealthReport(enabled: enabled, state: state, reason: reason, checkedAt: checkedAt, run: run, components: components)
    }

    /// What one more run finding the same as `old` makes of it (HealthMonitor.account).
    static func implied(by old: ComponentReport, checkedAt: Double) -> ComponentReport {
        var next = old
        next.uptime = checkedAt - old.firstSeen
        next.trend.append(old.state)
        if next.trend.count > HealthMonitor.trendLength { next.trend.removeFirst(next.trend.count - HealthMonitor.trendLength) }
        return next
    }
}
