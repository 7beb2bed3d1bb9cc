// `cc-bridge-tui send`: one prompt to an instance's in-FIFO, through the same non-blocking
// delivery as the TUI's (OneShotSend). Never hangs: with no agent listening it exits 1 once the
// timeout has passed.

import ArgumentParser
import BridgeCore
import Foundation

struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "Send one prompt to an instance (- reads it from standard input).")

    @OptionGroup var options: CommonOptions
    @Argument(help: "Instance name.") var instance: String
    @Argument(help: "The prompt words, or - for standard input.") var prompt: [String] = []
    @Option(help: "Seconds to wait for the agent before giving up.") var timeout: Double = 2
    @Option(help: "Seconds to wait for a listener (overrides --timeout when longer).") var wait: Double?
    @Flag(help: "Send the interrupt byte (0x03) instead of a prompt.") var interrupt = false

    func validate() throws {
        if !interrupt && prompt.isEmpty { throw ValidationError("missing the prompt (words, or - for standard input)") }
        if timeout < 0 || (wait ?? 0) < 0 { throw ValidationError("timeouts must not be negative") }
    }

    func run() throws {
        let config = try options.loadConfig()
        let name = try options.instanceName(instance)
        let path = name.inFifoPath(in: config.pipeDirectory)
        let bytes: [UInt8]
        if interrupt {
            bytes = PromptWriter.interruptByte
        } else {
            var text = prompt == ["-"]
                ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                : prompt.joined(separator: " ")
            while text.hasSuffix("\n") { text.removeLast() }
            let line = PlainPrompt.line(for: text)
            if line.joinedLines {
                FileHandle.standardErrorWrite("note: the prompt has newlines; the plain protocol takes one line, so they were sent as spaces")
            }
            bytes = line.bytes
        }
        switch OneShotSend.send(bytes, to: path, policy: options.policy, timeout: max(timeout, wait ?? 0)) {
        case .success: return
        case .failure(let error):
            FileHandle.standardErrorWrite("cc-bridge-tui: \(name): \(error)")
            throw ExitCode(1)
        }
    }
}
