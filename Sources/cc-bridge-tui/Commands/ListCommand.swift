// `cc-bridge-tui list`: the instances in pipe_dir, their pipe state and whether an agent listens;
// through the server when one runs, which adds what each instance is doing (its activity).
// With remote hosts (`hosts:`, `--host`) it asks each host's server too, all at once (HostSurvey),
// adds a HOST column and one line per host with its state and round trip; a failing host is
// said and never hides the others (exit 3: some host failed, the rest is listed).

import ArgumentParser
import BridgeCore
import Foundation

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List instances and their pipes.")

    @OptionGroup var options: CommonOptions
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Seconds each remote host may take (connecting included).") var hostTimeout: Double = 20

    /// Some host could not be listed; the others (and the local instances) were.
    static let partialFailure: Int32 = 3

    func run() throws {
        let config = try options.loadConfig()
        let directory = config.pipeDirectory
        var scan = InstanceScanner.scan(directory, policy: options.policy)
        let hosts = try options.remoteHosts(config)
        // Only remote hosts in use (no local pipe directory at all): nothing local to list.
        if !hosts.isEmpty && !FileManager.default.fileExists(atPath: directory) { scan.directoryError = nil }
        let writer = PromptWriter(policy: options.policy)
        var activities: [String: String] = [:]
        if let server = ServerClient.running(config) {
            let answer = try server.call("list")
            let listed = answer["instances"]?.arrayValue ?? []
            let names = Set(listed.compactMap { $0["instance"]?.stringValue })
            scan.instances = scan.instances.filter { names.contains($0.name) }
            for entry in listed {
                guard let name = entry["instance"]?.stringValue, let state = entry["activity"]?["state"]?.stringValue else { continue }
                activities[name] = state + (entry["activity"]?["count"]?.intValue.map { " \($0)" } ?? "")
            }
        }
        var rows = scan.instances.map { info in
            ListedInstance(info: info, listening: info.isReady && writer.isListening(info.inPath), activity: activities[info.name])
        }
        let reports = HostSurvey.run(hosts: hosts, ssh: SSHSettings.from(), timeout: hostTimeout)
        if !hosts.isEmpty {
            for index in rows.indices { rows[index].host = "local" }
            for report in reports { rows += ListedInstance.remote(report) }
        }
        let hostRows = reports.map(ListedHost.init)
        let failedHosts = hostRows.filter { $0.state == "failed" }.count
        if json {
            var document = ListDocument(pipeDir: directory, error: scan.directoryError, instances: rows)
            if !hosts.isEmpty { document.hosts = hostRows }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(document), as: UTF8.self))
        } else {
            if let error = scan.directoryError {
                FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
            } else if rows.isEmpty {
                print("no instances in \(directory)")
            }
            let hostWidth = hosts.isEmpty ? 0 : max(5, rows.map { $0.host?.count ?? 0 }.max() ?? 0)
            if !hosts.isEmpty { print("HOST".padding(toLength: hostWidth, withPad: " ", startingAt: 0) + "  INSTANCE") }
            for row in rows {
                if let host = row.host { Swift.print(host.padding(toLength: hostWidth, withPad: " ", startingAt: 0) + "  ", terminator: "") }
                let state = row.status == "ready" ? (row.listening ? "listening" : "no agent") : "broken"
                var line = "\(row.name.padding(toLength: max(row.name.count, 20), withPad: " ", startingAt: 0))  \(state)"
                if let activity = row.activity { line += "  \(activity)" }
                if let reason = row.reason { line += "  (\(reason))" }
                print(line)
            }
            for host in hostRows {
                var line = "host \(host.name) (\(host.url)): \(host.state)"
                if let rtt = host.roundTripMs { line += ", round trip \(String(format: "%.2f", rtt)) ms" }
                if let count = host.instances { line += ", \(count) instance\(count == 1 ? "" : "s")" }
                if let error = host.error { line += ": \(error) [\(host.errorCode ?? "")]" }
                (host.state == "failed" ? FileHandle.standardErrorWrite : { print($0) })(line)
            }
        }
        if scan.directoryError != nil { throw ExitCode(1) }
        if failedHosts > 0 { throw ExitCode(Self.partialFailure) }
    }
}

struct ListDocument: Encodable {
    var pipeDir: String
    var error: String?
    var instances: [ListedInstance]
    /// Only with remote hosts.
    var hosts: [ListedHost]?
    enum CodingKeys: String, CodingKey { case pipeDir = "pipe_dir", error, instances, hosts }
}

/// A remote host's line in `list`: its state, round trip and instance count, or its error.
struct ListedHost: Encodable {
    var name: String
    var url: String
    var state: String
    var roundTripMs: Double?
    var instances: Int?
    var error: String?
    var errorCode: String?

    init(_ report: HostReport) {
        name = report.host.name
        url = report.host.url
        roundTripMs = report.roundTrip.map { $0 * 1000 }
        switch report.result {
        case .success(let answer):
            state = "ready"
            instances = answer["instances"]?.arrayValue?.count ?? 0
        case .failure(let failure):
            state = "failed"
            error = failure.message
            errorCode = failure.code.rawValue
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, url, state, instances, error
        case roundTripMs = "round_trip_ms", errorCode = "error_code"
    }
}

struct ListedInstance: Encodable {
    var name: String
    var status: String
    var reason: String?
    var inPath: String
    var outPath: String
    var listening: Bool
    /// What the server says the instance is doing (only through the server).
    var activity: String?
    /// The host's name ("local" for ours) when remote hosts are listed too.
    var host: String?

    init(info: InstanceInfo, listening: Bool, activity: String? = nil) {
        name = info.name
        status = info.isReady ? "ready" : "broken"
        reason = info.brokenReason
        inPath = info.inPath
        outPath = info.outPath
        self.listening = listening
        self.activity = activity
    }

    enum CodingKeys: String, CodingKey {
        case name, status, reason, listening, activity, host
        case inPath = "in_path", outPath = "out_path"
    }

    /// The instances a host's server listed (its names, as HOST/NAME takes them).
    static func remote(_ report: HostReport) -> [ListedInstance] {
        guard case .success(let answer) = report.result else { return [] }
        return (answer["instances"]?.arrayValue ?? []).compactMap { entry in
            guard let name = entry["instance"]?.stringValue else { return nil }
            let status = entry["status"]?.stringValue ?? "broken"
            let info = InstanceInfo(name: name, inPath: entry["in_path"]?.stringValue ?? "", outPath: entry["out_path"]?.stringValue ?? "",
                                    status: status == "ready" ? .ready : .broken(entry["reason"]?.stringValue ?? "broken"))
            let activity = entry["activity"]?["state"]?.stringValue.map { $0 + (entry["activity"]?["count"]?.intValue.map { " \($0)" } ?? "") }
            var row = ListedInstance(info: info, listening: status == "ready" && activity != "agent_down", activity: activity)
            row.host = report.host.name
            return row
        }
    }
}
