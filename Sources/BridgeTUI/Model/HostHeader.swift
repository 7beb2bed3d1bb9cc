// HostHeader: one remote host as the instance list's header row shows it (its name and how its
// connection stands), and ListRows: the list's rows, local instances first, then per host its
// header and its instances (`HOST/NAME`). Pure: render and mouse use the same rows.

public struct HostHeader: Hashable, Sendable {
    public enum Connection: Hashable, Sendable {
        case connecting
        /// Connected; the last measured round trip in seconds, if one was measured yet.
        case connected(roundTrip: Double?)
        /// The connection failed or dropped; retrying in `inSeconds` (`why` says what happened).
        case retrying(why: String, inSeconds: Double)
        /// A failure no retry cures (host key mismatch, authentication refused, binary missing).
        case failed(String)
        case stopped
    }

    public var name: String
    public var connection: Connection

    public init(name: String, connection: Connection) {
        self.name = name
        self.connection = connection
    }

    /// "connected 0.3 ms", "connecting", "failed: host key mismatch ...".
    public var stateText: String {
        switch connection {
        case .connecting: "connecting"
        case .connected(let rtt?): "connected " + Self.milliseconds(rtt)
        case .connected(nil): "connected"
        case .retrying(let why, let delay): "retrying in \(Int(delay.rounded(.up))) s: \(why)"
        case .failed(let why): "failed: \(why)"
        case .stopped: "stopped"
        }
    }

    public var level: HealthLevel {
        switch connection {
        case .connected: .healthy
        case .connecting, .stopped: .unknown
        case .retrying: .degraded
        case .failed: .unhealthy
        }
    }

    /// "0.3 ms", "12 ms", "1.2 s".
    static func milliseconds(_ seconds: Double) -> String {
        let ms = seconds * 1000
        if ms < 10 { return String(format: "%.1f ms", ms) }
        if ms < 1000 { return "\(Int(ms.rounded())) ms" }
        return String(format: "%.1f s", seconds)
    }

    /// The host an instance name belongs to ("build1" for "build1/claude-1"), nil for local.
    public static func host(of instance: String) -> String? {
        guard let slash = instance.firstIndex(of: "/") else { return nil }
        return String(instance[..<slash])
    }
}

/// One row of the instance list.
public enum ListRow: Hashable, Sendable {
    /// A host's name (the group's title row).
    case host(HostHeader)
    /// Under it, how its connection stands ("● connected 0.3 ms", "✖ failed: host key mismatch").
    case hostState(HostHeader)
    /// Index into `AppState.instances`.
    case instance(Int)
}

public enum ListRows {
    /// Local instances (no header), then each host's header and its instances, in host order.
    /// Without hosts: the instances as they are.
    public static func of(_ state: AppState) -> [ListRow] {
        guard !state.hosts.isEmpty else { return state.instances.indices.map(ListRow.instance) }
        var local: [ListRow] = []
        var byHost: [String: [ListRow]] = [:]
        for (index, instance) in state.instances.enumerated() {
            if let host = HostHeader.host(of: instance.name), state.hosts.contains(where: { $0.name == host }) {
                byHost[host, default: []].append(.instance(index))
            } else {
                local.append(.instance(index))
            }
        }
        var rows = local
        for header in state.hosts { rows += [.host(header), .hostState(header)] + (byHost[header.name] ?? []) }
        return rows
    }

    /// The row of the selected instance.
    public static func selectedRow(_ rows: [ListRow], selected: Int?) -> Int {
        guard let selected else { return 0 }
        return rows.firstIndex(of: .instance(selected)) ?? 0
    }
}
