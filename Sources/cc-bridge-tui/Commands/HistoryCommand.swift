// `cc-bridge-tui history <instance>`: the turns kept in the instance's history file, oldest
// first. Read-only: it never compacts or rewrites the file a running TUI may be appending to.

import ArgumentParser
import BridgeCore
import Foundation

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show an instance's recent turns from its history file.")

    @OptionGroup var options: CommonOptions
    @Argument(help: "Instance name.") var instance: String
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Show at most this many of the newest turns.") var limit: Int = 20

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let config = try options.loadConfig()
        let name = try options.instanceName(instance)
        try options.requireInstance(name, config: config, historyDirectory: StatePaths.directory())
        let snapshot = SessionSnapshot.read(instance: name, settings: config.docker.session,
                                            stateDirectory: StatePaths.directory(), now: Date().timeIntervalSince1970)
        let path = snapshot.path
        let contents = snapshot.contents
        if let error = contents.error {
            FileHandle.standardErrorWrite("cc-bridge-tui: \(path): \(error)")
            throw ExitCode(1)
        }
        let turns = Array(contents.turns.suffix(limit))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let document = HistoryDocument(instance: name.rawValue, path: path, warnings: contents.warnings,
                                           total: contents.turns.count, turns: turns)
            print(String(decoding: try encoder.encode(document), as: UTF8.self))
            return
        }
        for warning in contents.warnings { FileHandle.standardErrorWrite("warning: \(warning)") }
        if turns.isEmpty {
            print("no turns recorded for \(name) (\(path))")
            return
        }
        for turn in turns {
            var head = "\(HealthText.timestamp(turn.sentAt))  \(HealthText.pad(turn.status.rawValue, 11))"
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
