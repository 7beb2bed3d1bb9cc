// Entry point of cc-bridge-tui: parses the command line and maps every failure to the exit codes
// the tool promises: 0 ok, 1 failure, 2 usage or config error.

import ArgumentParser
import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

@main
enum EntryPoint {
    static func main() {
        SignalSetup.ignoreSIGPIPE()
        do {
            let names = Dictionary(CCBridgeTUI.configuration.subcommands.map {
                ($0._commandName, Set($0.configuration.subcommands.map { $0._commandName }))
            }, uniquingKeysWith: { a, _ in a })
            let arguments = CommonOptions.globalOptionsAfterSubcommand(Array(CommandLine.arguments.dropFirst()), subcommands: names)
            try CommonOptions.refuseHostsWhereUnused(arguments, subcommands: Set(names.keys))
            var command = try CCBridgeTUI.parseAsRoot(arguments)
            try command.run()
        } catch {
            let code = CCBridgeTUI.exitCode(for: error)
            let message = CCBridgeTUI.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                exit(0)
            }
            if !message.isEmpty { FileHandle.standardErrorWrite(message) }
            // ArgumentParser's usage errors are 64 (EX_USAGE); ours are 2.
            exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

struct CCBridgeTUI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cc-bridge-tui",
        abstract: "Terminal client for cc-bridge's FIFO mode.",
        subcommands: [UICommand.self, AttachCommand.self, ListCommand.self, SendCommand.self, TailCommand.self,
                      PipesCommand.self, HealthCommand.self, StatusCommand.self, HistoryCommand.self, DemoCommand.self,
                      ServeCommand.self, ServerCommand.self, DialStdioCommand.self],
        defaultSubcommand: UICommand.self
    )
}
