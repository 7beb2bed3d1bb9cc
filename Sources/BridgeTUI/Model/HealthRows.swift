// HealthRows: a HealthReport turned into the health panel's rows and the instance list's
// levels. Pure (table-tested); the runtime calls it with each new report.

import BridgeCore

public enum HealthRows {
    static func level(_ state: HealthState) -> HealthLevel { HealthLevel(rawValue: state.rawValue) ?? .unknown }

    /// One row per component: state, reason, last recovery, trend, uptime, recoveries.
    public static func rows(_ report: HealthReport) -> [HealthRow] {
        guard report.enabled else { return [] }
        return report.components.map { c in
            HealthRow(component: InstanceScanner.displayName(c.name), level: level(c.state), reason: c.reason,
                      detail: c.lastRecovery.map { "last recovery: \($0)" } ?? "",
                      trend: c.trend.map(level), uptime: c.uptime, firstSeen: c.firstSeen, recoveries: c.recoveryAttempts)
        }
    }

    /// The instance list's state per instance.
    public static func perInstance(_ report: HealthReport) -> [String: InstanceHealth] {
        var result: [String: InstanceHealth] = [:]
        for c in report.components where c.kind == .instance {
            result[c.name] = InstanceHealth(level(c.state), reason: c.reason)
        }
        return result
    }
}
