// HostNaming: a remote host's session events and health reports, renamed for the TUI that shows
// many hosts: instance `NAME` of host `HOST` becomes `HOST/NAME` (the address `attach`, `send`
// and the list use), and the reverse for requests going back. Pure.

import BridgeCore

enum HostNaming {
    static func address(host: String, instance: String) -> String { host + "/" + instance }

    /// ("build1", "claude-1") for "build1/claude-1" when build1 is one of `hosts`; nil otherwise.
    static func split(_ address: String, hosts: Set<String>) -> (host: String, instance: String)? {
        guard let (host, instance) = HostAddress.split(address), hosts.contains(host) else { return nil }
        return (host, instance)
    }
}

extension SessionEvent {
    /// The same event with every instance name passed through `rename`.
    func renamingInstances(_ rename: (String) -> String) -> SessionEvent {
        switch self {
        case .instancesChanged(let list, let error):
            return .instancesChanged(list.map { info in
                var info = info
                info.name = rename(info.name)
                return info
            }, directoryError: error)
        case .instanceRemoved(let name, let after): return .instanceRemoved(instance: rename(name), after: after)
        case .output(let name, let batch): return .output(instance: rename(name), batch: batch)
        case .stream(let name, let event): return .stream(instance: rename(name), event: event)
        case .attachment(let name, let state): return .attachment(instance: rename(name), state: state)
        case .historyRestored(let name, let turns, let inputs, let queue):
            return .historyRestored(instance: rename(name), turns: turns, inputs: inputs, queue: queue)
        case .promptAccepted(let name, let id, let text, let at, let origin):
            return .promptAccepted(instance: rename(name), promptID: id, text: text, at: at, origin: origin)
        case .promptQueued(let name, let id, let reason): return .promptQueued(instance: rename(name), promptID: id, reason: reason)
        case .promptFailed(let name, let id, let error): return .promptFailed(instance: rename(name), promptID: id, error: error)
        case .turnsChanged(let name, let turns): return .turnsChanged(instance: rename(name), turns: turns)
        case .outboxChanged(let name, let entries): return .outboxChanged(instance: rename(name), entries: entries)
        case .activityChanged(let name, let activity): return .activityChanged(instance: rename(name), activity: activity)
        case .lifecycle(let name, let change): return .lifecycle(instance: rename(name), change: change)
        case .notice(let name, let notice): return .notice(instance: rename(name), notice: notice)
        }
    }
}

extension HealthReport {
    /// Several hosts' reports as one: components renamed `HOST/NAME`, the worst state, the
    /// reasons of the ones not healthy.
    static func merged(_ parts: [(host: String?, report: HealthReport)]) -> HealthReport? {
        let enabled = parts.filter { $0.report.enabled }
        guard var merged = enabled.first(where: { $0.host == nil })?.report ?? enabled.first?.report else { return parts.first?.report }
        merged.components = enabled.flatMap { part in
            part.report.components.map { component in
                var component = component
                if let host = part.host { component.name = HostNaming.address(host: host, instance: component.name) }
                return component
            }
        }
        func rank(_ state: HealthState) -> Int { [.unknown: 0, .healthy: 1, .degraded: 2, .unhealthy: 3][state] ?? 0 }
        let worst = enabled.map(\.report).max { rank($0.state) < rank($1.state) }
        if let worst, rank(worst.state) > rank(merged.state) {
            merged.state = worst.state
            merged.reason = worst.reason
        }
        return merged
    }
}
