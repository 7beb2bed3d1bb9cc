// `cc-bridge-tui pipes create|remove <instance>`: manage an instance's FIFO pair safely.

import ArgumentParser
import BridgeCore
import Foundation

struct PipesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipes", abstract: "Create or remove an instance's FIFOs.",
        subcommands: [Create.self, Remove.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create <instance>.in.fifo and .out.fifo (mode 0660).")
        @OptionGroup var options: CommonOptions
        @Argument var instance: String

        func run() throws {
            let config = try options.loadConfig()
            let name = try options.instanceName(instance)
            let directory = config.pipeDirectory
            do {
                try FifoSafety.ensureDirectory(directory)
                for path in [name.inFifoPath(in: directory), name.outFifoPath(in: directory)] {
                    let created = try FifoSafety.create(path, policy: options.policy)
                    print("\(created ? "created" : "exists ") \(path)")
                }
            } catch {
                FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an instance's FIFOs (only FIFOs are ever removed; no FIFO at all is \"no such instance\", exit 1).")
        @OptionGroup var options: CommonOptions
        @Argument var instance: String

        func run() throws {
            let config = try options.loadConfig()
            let name = try options.instanceName(instance)
            try options.requireInstance(name, config: config)
            var failed = false
            // Reported like `create` does: one line per FIFO.
            for path in [name.inFifoPath(in: config.pipeDirectory), name.outFifoPath(in: config.pipeDirectory)] {
                do {
                    let removed = try FifoSafety.remove(path)
                    print("\(removed ? "removed" : "absent ") \(path)")
                } catch {
                    FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}
