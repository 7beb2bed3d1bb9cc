// `cc-bridge-tui list`: the instances in pipe_dir, their pipe state and whether an agent listens;
// through the server when one runs, which adds what each instance is doing (its activity).

import ArgumentParser
import BridgeCore
import Foundation

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List instances and their pipes.")

    @OptionGroup var options: CommonOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let config = try options.loadConfig()
        let directory = config.pipeDirectory
        var scan = InstanceScanner.scan(directory, policy: options.policy)
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
        let rows = scan.instances.map { info in
            ListedInstance(info: info, listening: info.isReady && writer.isListening(info.inPath), activity: activities[info.name])
        }
        if json {
            let document = ListDocument(pipeDir: directory, error: scan.directoryError, instances: rows)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(document), as: UTF8.self))
        } else {
            if let error = scan.directoryError {
                FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
            } else if rows.isEmpty {
                print("no instances in \(directory)")
            }
            for row in rows {
                let state = row.status == "ready" ? (row.listening ? "listening" : "no agent") : "broken"
                var line = "\(row.name.padding(toLength: max(row.name.count, 20), withPad: " ", startingAt: 0))  \(state)"
                if let activity = row.activity { line += "  \(activity)" }
                if let reason = row.reason { line += "  (\(reason))" }
                print(line)
            }
        }
        if scan.directoryError != nil { throw ExitCode(1) }
    }
}

struct ListDocument: Encodable {
    var pipeDir: String
    var error: String?
    var instances: [ListedInstance]
    enum CodingKeys: String, CodingKey { case pipeDir = "pipe_dir", error, instances }
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
        case name, status, reason, listening, activity
        case inPath = "in_path", outPath = "out_path"
    }
}
