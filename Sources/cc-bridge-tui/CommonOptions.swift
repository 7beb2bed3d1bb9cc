// CommonOptions: --pipe-dir, --config and --allow-unsafe-pipes, shared by every subcommand,
// and the config loading they imply (config errors exit 2 with file:line:key).

import ArgumentParser
import BridgeCore
import Foundation

struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Pipe directory (default: docker.pipe_dir from the config).")
    var pipeDir: String?

    @Option(name: .long, help: "Config file (default: $CC_BRIDGE_CONFIG or ~/.config/cc-bridge/config.yaml).")
    var config: String?

    @Flag(name: .long, help: "Use pipes other users can write: a 0666 FIFO, a pipe_dir writable by others without the sticky bit or owned by another user. FIFOs owned by others stay refused.")
    var allowUnsafePipes = false

    @Option(name: .customLong("host"), help: "A remote host, ssh://[user@]host[:port] or NAME=ssh://..., added to the config's hosts: (repeatable; docs/remote.md).")
    var hostOptions: [String] = []

    var policy: PipePolicy { PipePolicy(allowUnsafe: allowUnsafePipes) }

    /// The loaded config, with --pipe-dir applied. Warnings go to standard error.
    func loadConfig(quiet: Bool = false) throws -> BridgeConfig {
        try CommonOptions.loadConfig(path: config, pipeDir: pipeDir, quiet: quiet)
    }

    static func loadConfig(path: String?, pipeDir: String?, quiet: Bool = false) throws -> BridgeConfig {
        var loaded: BridgeConfig
        do {
            loaded = try ConfigLoader.load(override: path)
        } catch {
            FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
            throw ExitCode(2)
        }
        if !quiet { for warning in loaded.warnings { FileHandle.standardErrorWrite("warning: \(warning)") } }
        if let pipeDir { loaded.docker.pipeDir = pipeDir }
        return loaded
    }

    /// A validated instance name, or exit 2 with the reason.
    func instanceName(_ raw: String) throws -> InstanceName {
        do {
            return try InstanceName(validating: raw)
        } catch {
            FileHandle.standardErrorWrite("cc-bridge-tui: invalid instance name \"\(InstanceScanner.displayName(raw))\": \(error)")
            throw ExitCode(2)
        }
    }

    /// "No such instance": neither of its FIFOs is in the pipe directory and, when
    /// `historyDirectory` is given, it has no history file there either. Every command says it
    /// the same way and exits 1.
    func requireInstance(_ name: InstanceName, config: BridgeConfig, historyDirectory: String? = nil) throws {
        let directory = config.pipeDirectory
        var known = [name.inFifoPath(in: directory), name.outFifoPath(in: directory)]
        if let historyDirectory { known.append(HistoryStore.historyPath(instance: name.rawValue, stateDirectory: historyDirectory)) }
        if known.contains(where: { FileManager.default.fileExists(atPath: $0) }) { return }
        FileHandle.standardErrorWrite(CommonOptions.noSuchInstance(name.rawValue, directory: directory))
        throw ExitCode(CommonOptions.noSuchInstanceStatus)
    }

    static let noSuchInstanceStatus: Int32 = 1

    static func noSuchInstance(_ raw: String, directory: String) -> String {
        "cc-bridge-tui: no such instance \"\(InstanceScanner.displayName(raw))\": no FIFOs for it in \(directory)"
    }
}

extension CommonOptions {
    /// The options every subcommand shares, with whether each takes a value.
    static let globalOptions: [String: Bool] = ["--pipe-dir": true, "--config": true, "--allow-unsafe-pipes": false, "--host": true]

    /// Moves shared options written before the subcommand to just after it, so
    /// `cc-bridge-tui --pipe-dir D list` means `cc-bridge-tui list --pipe-dir D` (the parser only
    /// reads a subcommand's options after its name). Anything else is left as it is.
    /// `subcommands`: each subcommand's name and the names of its own subcommands (`pipes`:
    /// `create`, `remove`); the options go after the innermost one named.
    static func globalOptionsAfterSubcommand(_ arguments: [String], subcommands: [String: Set<String>]) -> [String] {
        var moved: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
            if let takesValue = globalOptions[name] {
                let inline = argument.contains("=")
                let count = (takesValue && !inline) ? 2 : 1
                moved += arguments[index..<min(arguments.count, index + count)]
                index += count
                continue
            }
            // Only leading shared options are moved, and only in front of a subcommand's name.
            guard let inner = subcommands[argument], !moved.isEmpty else { return arguments }
            let end = (index + 1 < arguments.count && inner.contains(arguments[index + 1])) ? index + 2 : index + 1
            return Array(arguments[index..<end]) + moved + arguments[end...]
        }
        return arguments
    }
}

extension FileHandle {
    static func standardErrorWrite(_ line: String) {
        FileHandle.standardError.write(Data((line.hasSuffix("\n") ? line : line + "\n").utf8))
    }
}
