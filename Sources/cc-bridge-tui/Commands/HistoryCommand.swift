// `cc-bridge-tui history <instance>`: the turns kept in the instance's history, oldest first:
// from the server when one runs (it writes the history), else from the history file. Read-only:
// it never compacts or rewrites the file a running TUI or server may be appending to.

import ArgumentParser
import BridgeCore
import Foundation

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show an instance's recent turns from its history file.")

    @OptionGroup var options: CommonOptions
    @Argument(help: "Instance name, or HOST/NAME for one on a remote host.") var instance: String
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Show at most this many of the newest turns.") var limit: Int = 20

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let config = try options.loadConfig()
        let remote = try options.remoteTarget(instance, config: config)
        let name = try remote?.name ?? options.instanceName(instance)
        if remote == nil { try options.requireInstance(name, config: config, historyDirectory: StatePaths.directory()) }
        var path = HistoryStore.historyPath(instance: name.rawValue, stateDirectory: StatePaths.directory())
        var all: [Turn]
        var warnings: [String] = []
        if let server = remote?.server ?? ServerClient.running(config) {
            if let host = server.host { path = "\(host.name):" + (path.split(separator: "/").last.map(String.init) ?? path) }
            let answer = try server.call("history", ["instance": .string(name.rawValue), "limit": .int(limit)])
            all = try ServerClient.decode([Turn].self, answer["turns"])
        } else {
            let snapshot = SessionSnapshot.read(instance: name, settings: config.docker.session,
                                                stateDirectory: StatePaths.directory(), now: Date().timeIntervalSince1970)
            path = snapshot.path
            if let error = snapshot.contents.error {
                FileHandle.standardErrorWrite("cc-bridge-tui: \(path): \(error)")
                throw ExitCode(1)
            }
            all = snapshot.contents.turns
            warnings = snapshot.contents.warnings
        }
        let turns = Array(all.suffix(limit))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let document = HistoryDocument(instance: name.rawValue, path: path, warnings: warnings,
                                           total: all.count, turns: turns)
            print(String(decoding: try encoder.encode(document), as: UTF8.self))
            return
        }
        for warning in warnings { FileHandle.standardErrorWrite("warning: \(warning)") }
        if turns.isEmpty {
            print("no turns recorded for \(name) (\(path))")
            return
        }
        for turn in turns {
            var head = "\(HealthText.timestamp(turn.sentAt))  \(HealthText.pad(turn.status.rawValue, 11))"
            if let origin = turn.origin, origin != .tui { head += " from \(origin.rawValue)," }
            head += " first byte \(HealthText.seconds(turn.ttfb)), took \(HealthText.seconds(turn.duration))  [\(turn.id)]"
            if let error = turn.error { head += "  (\(error))" }
            print(head)
            print("  > " + Self.preview(turn.prompt, 200))
            var lines = turn.response.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.last?.isEmpty == true { lines.removeLast() }
            for line in lines {
                print("    " + InstanceScanner.displayName(String(line)))
            }
        }
    }

    /// One line, control characters shown as `?`, cut at `max` characters.
    static func preview(_ text: String, _ max: Int) -> String {
        let flat = InstanceScanner.displayName(text.replacingOccurrences(of: "\n", with: " "))
        return flat.count > max ? String(flat.prefix(max - 1)) + "…" : flat
    }
}

struct HistoryDocument: Encodable {
    var instance: String
    var path: String
    var warnings: [String]
    var total: Int
    var turns: [Turn]
}
