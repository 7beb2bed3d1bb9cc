// HealthReport: what a run of the health checks found, in the shape `health --json` prints.
// Every check and component has a state and, always, a reason a person can act on.

public enum HealthState: String, Codable, Sendable, CaseIterable {
    case healthy, degraded, unhealthy, unknown

    /// For roll-ups: unknown says nothing either way and ranks below healthy.
    var severity: Int {
        switch self {
        case .unknown: 0
        case .healthy: 1
        case .degraded: 2
        case .unhealthy: 3
        }
    }

    /// The worst known state; unknown only when nothing is known.
    public static func worst(_ states: [HealthState]) -> HealthState {
        states.max { $0.severity < $1.severity } ?? .unknown
    }
}

public struct CheckResult: Codable, Equatable, Sendable {
    /// `pipes`, `agent`, `activity`, `container`, `session` for an instance; the component's own
    /// name for the global checks.
    public var name: String
    public var state: HealthState
    public var reason: String
    public var details: [String: String]

    public init(_ name: String, _ state: HealthState, _ reason: String, details: [String: String] = [:]) {
        self.name = name
        self.state = state
        self.reason = reason
        self.details = details
    }
}

public enum ComponentKind: String, Codable, Sendable {
    case global, instance
}

public struct ComponentReport: Codable, Equatable, Sendable {
    public var name: String
    public var kind: ComponentKind
    /// The reported state: an instance whose checks fail is `degraded` until it has failed
    /// `max_consecutive_failures` checks in a row, then `unhealthy`. Global checks as seen.
    public var state: HealthState
    public var reason: String
    /// An instance's five checks; for a global component its one check, which carries the details.
    public var checks: [CheckResult]
    public var consecutiveFailures: Int
    public var recoveryAttempts: Int
    public var lastRecovery: String?
    /// Whether recovery may recreate this instance's FIFOs.
    public var managed: Bool
    public var firstSeen: Double
    public var uptime: Double
    /// The last reported states, oldest first (at most HealthMonitor.trendLength).
    public var trend: [HealthState]

    enum CodingKeys: String, CodingKey {
        case name, kind, state, reason, checks, managed, uptime, trend
        case consecutiveFailures = "consecutive_failures", recoveryAttempts = "recovery_attempts"
        case lastRecovery = "last_recovery", firstSeen = "first_seen"
    }
}

public struct HealthReport: Codable, Equatable, Sendable {
    public var enabled: Bool
    public var state: HealthState
    public var reason: String
    public var checkedAt: Double
    /// 1 for the first run of a monitor.
    public var run: Int
    public var components: [ComponentReport]

    public func component(_ name: String) -> ComponentReport? { components.first { $0.name == name } }

    enum CodingKeys: String, CodingKey {
        case enabled, state, reason, run, components
        case checkedAt = "checked_at"
    }
}
