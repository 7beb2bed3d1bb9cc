// `cc-bridge-tui send`: one prompt to an instance. When a server runs for the pipe directory it
// goes through the server (recorded in the history with origin `cli`, queued in its outbox when
// no agent reads, seen by every subscriber); otherwise straight into the in-FIFO, through the
// same non-blocking delivery as the TUI's (OneShotSend). Standard error says which. Never hangs: with no agent listening it exits 1 once the
// timeout has passed. Every outcome has its own exit code and wording (docs/protocol.md,
// "Delivery"), so a script never resends a prompt that is in the pipe. What went in (bytes, protocol,
// whether the agent read it) is printed on standard output.

import ArgumentParser
import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "Send one prompt to an instance (- reads it from standard input).",
        discussion: """
        The prompt is one line (plain protocol): line breaks and tabs become spaces; control \
        characters, escape sequences and invisible format characters are removed. A prompt over \
        1 MiB, or standard input that is not UTF-8, is refused.

        Exit status:
          0  delivered: the agent read the whole prompt (through a server: it is in the pipe)
          1  not delivered: nothing of it is in the pipe (no agent, pipe full, unsafe pipes)
          2  usage, config or prompt refused before sending (too large, not UTF-8)
          3  written, not yet read: the whole prompt waits in the in-FIFO (through a server: in its
             outbox); do not send it again
          4  torn: the agent stopped reading (or Ctrl-C came) mid-prompt; the part written was ended with a newline
          5  --wait-reply: delivered, but the turn did not end within --timeout (what came is printed)

        --wait-reply prints the reply on standard output (the delivery line goes to standard \
        error) once the turn ends, exit 0. Exact with the framed protocol (ccb-jsonl/1: the \
        `done` that carries the prompt's id), best effort with plain (the first ❯ marker after \
        the prompt went in; plain has no turn ids). With a server running, the server waits for \
        the turn and hands the reply over; without one it reads the instance's out-FIFO itself, \
        so no other process (a TUI, attach, tail) may be reading it: then it sends nothing and \
        exits 1 naming that process. A turn that ends failed, timed out or interrupted exits 1.
        """)

    enum Status {
        static let notDelivered: Int32 = 1
        static let refused: Int32 = 2
        static let writtenNotRead: Int32 = 3
        static let torn: Int32 = 4
        static let replyTimedOut: Int32 = 5
        static let signalled: Int32 = 130
    }

    @OptionGroup var options: CommonOptions
    @Argument(help: "Instance name, or HOST/NAME for one on a remote host.") var instance: String
    @Argument(help: "The prompt words, or - for standard input.") var prompt: [String] = []
    @Option(help: """
        Seconds the agent may take nothing from the pipe before giving up (a stall, not a total time; default 2). \
        With --wait-reply: seconds to wait for the end of the reply (default docker.session.request_timeout, 120).
        """)
    var timeout: Double?
    @Option(help: "Seconds to wait for a listener (overrides --timeout when longer).") var wait: Double?
    @Flag(help: "Send the interrupt byte (0x03) instead of a prompt; only to cc-bridge-agent (another agent would read it as a prompt line).")
    var interrupt = false
    @Flag(help: "After delivering, wait for the turn to end and print the reply (exact with framed agents, best effort with plain).")
    var waitReply = false
    @Option(name: .customLong("id"), help: """
        Your id for the prompt (through a server): the same id sent again is not sent twice and gets the first answer, \
        also after a server restart.
        """)
    var promptID: String?

    static let deliveryTimeout = 2.0

    func validate() throws {
        if !interrupt && prompt.isEmpty { throw ValidationError("missing the prompt (words, or - for standard input)") }
        if (timeout ?? 0) < 0 || (wait ?? 0) < 0 { throw ValidationError("timeouts must not be negative") }
        if interrupt && waitReply { throw ValidationError("--interrupt and --wait-reply do not go together") }
        if let promptID, !PromptIDLedger.isValidID(promptID) {
            throw ValidationError("--id must be 1 to \(PromptIDLedger.maxIDLength) letters, digits and . _ : -")
        }
    }

    func run() throws {
        let config = try options.loadConfig()
        if let (server, name) = try options.remoteTarget(instance, config: config) {
            // HOST/NAME: through that host's server, over ssh.
            if interrupt { return try interruptThroughServer(server, name: name) }
            if waitReply { return try sendAndWaitThroughServer(server, name: name, config: config) }
            return try sendThroughServer(server, name: name)
        }
        let name = try options.instanceName(instance)
        try options.requireInstance(name, config: config)
        let path = name.inFifoPath(in: config.pipeDirectory)
        // Only cc-bridge-agent (framed or plain) takes 0x03 as an interrupt; cc-bridge's
        // container_agent.py would pass it on as a "^C" prompt line (docs/protocol.md).
        if interrupt && !AgentLockProbe.ourAgentServes(name.rawValue, in: config.pipeDirectory) {
            FileHandle.standardErrorWrite("cc-bridge-tui: \(name): this agent cannot be interrupted "
                + "(no cc-bridge-agent holds \(AgentLockProbe.path(for: name.rawValue, in: config.pipeDirectory))); nothing sent")
            throw ExitCode(Status.notDelivered)
        }
        let server = interrupt ? nil : ServerClient.running(config)
        if waitReply {
            // The server is the instance's one reader: it waits for the turn and hands the reply over.
            if let server { return try sendAndWaitThroughServer(server, name: name, config: config) }
            FileHandle.standardErrorWrite("cc-bridge-tui: no server runs for \(config.pipeDirectory); writing to the in-FIFO directly")
            return try sendAndWaitForReply(name, config: config)
        }
        if let server { return try sendThroughServer(server, name: name) }
        FileHandle.standardErrorWrite("cc-bridge-tui: no server runs for \(config.pipeDirectory); writing to the in-FIFO directly")
        let bytes = interrupt ? PromptWriter.interruptByte : try plainLine(promptText())
        // Ctrl-C (or SIGTERM, SIGHUP) mid-prompt must not leave a cut line for the next prompt to
        // glue onto: the writer ends it and says torn.
        SignalPipe.route([SIGINT, SIGTERM, SIGHUP])
        let result = OneShotSend.send(bytes, to: path, policy: options.policy,
                                      timeout: max(timeout ?? SendCommand.deliveryTimeout, wait ?? 0)) {
            !SignalPipe.drain().isEmpty
        }
        // What went in, on standard output (the plain protocol carries no turn id).
        let what = interrupt ? "the interrupt byte 0x03" : "\(bytes.count) bytes"
        try report(result, name, what: what, protocolNote: "plain protocol (no turn id)") { print($0) }
    }

    /// Says what the delivery did (through `say`: stdout, or stderr under --wait-reply) and
    /// throws its exit status unless the agent read the whole prompt.
    private func report(_ result: Result<SendOutcome, SendError>, _ name: InstanceName, what: String,
                        protocolNote: String, say: (String) -> Void) throws {
        switch result {
        case .success(.read):
            say("delivered to \(name): \(what), \(protocolNote), read by the agent")
        case .success(.writtenNotRead):
            say("delivered to \(name): \(what), \(protocolNote), in the pipe, not yet read")
            FileHandle.standardErrorWrite("cc-bridge-tui: \(name): written, not yet read: the whole prompt is in the in-FIFO "
                + "but the agent has not taken it; it gets the prompt when it reads again "
                + "(do not send it again, or it runs twice)")
            throw ExitCode(Status.writtenNotRead)
        case .failure(let error):
            FileHandle.standardErrorWrite("cc-bridge-tui: \(name): \(error)")
            throw ExitCode(error.isTorn ? Status.torn : Status.notDelivered)
        }
    }

    /// Through the running server: it records the prompt (origin `cli`), queues it when no
    /// agent reads, and answers once the agent has it, it is queued, or it failed.
    private func sendThroughServer(_ server: ServerClient, name: InstanceName) throws {
        let text = try promptText()
        FileHandle.standardErrorWrite("cc-bridge-tui: sending through \(server.said)")
        var params: [String: JSONValue] = ["instance": .string(name.rawValue), "text": .string(text), "origin": "cli"]
        if let promptID { params["id"] = .string(promptID) }
        let answer = try server.call("send", .object(params),
                                     timeout: max(timeout ?? SendCommand.deliveryTimeout, wait ?? 0) + 10)
        let id = answer["prompt_id"]?.stringValue ?? "?"
        let where_ = server.host.map { "\($0.name)/\(name)" } ?? "\(name)"
        switch answer["result"]?.stringValue {
        case "delivered":
            print("delivered to \(where_) through \(server.host == nil ? "the server" : server.said): prompt \(id), origin cli")
        case "queued":
            print("queued for \(where_) in \(server.host == nil ? "the server's" : server.said + "'s") outbox: prompt \(id), origin cli")
            FileHandle.standardErrorWrite("cc-bridge-tui: \(name): \(answer["reason"]?.stringValue ?? "not delivered yet"); the server "
                + "delivers it when the agent reads again (do not send it again)")
            throw ExitCode(Status.writtenNotRead)
        default:
            FileHandle.standardErrorWrite("cc-bridge-tui: \(name): \(answer["error"]?.stringValue ?? "not delivered")")
            throw ExitCode(Status.notDelivered)
        }
    }

    /// `--interrupt HOST/NAME`: the host's server sends what that agent understands, if anything.
    private func interruptThroughServer(_ server: ServerClient, name: InstanceName) throws {
        FileHandle.standardErrorWrite("cc-bridge-tui: sending through \(server.said)")
        let answer = try server.call("interrupt", ["instance": .string(name.rawValue)])
        let where_ = server.host.map { "\($0.name)/\(name)" } ?? "\(name)"
        switch answer["route"]?.stringValue {
        case "framed": print("interrupt sent to \(where_) through \(server.said): an interrupt message (framed protocol)")
        case "interrupt_byte": print("interrupt sent to \(where_) through \(server.said): the interrupt byte 0x03")
        default:
            FileHandle.standardErrorWrite("cc-bridge-tui: \(where_): this agent cannot be interrupted (not a cc-bridge-agent); nothing sent")
            throw ExitCode(Status.notDelivered)
        }
    }

    /// `--wait-reply`: the prompt goes in through the one-shot delivery while the out-FIFO is
    /// read (ReplyWait); the reply is printed as it comes, the exit status says how the turn ended.
    private func sendAndWaitForReply(_ name: InstanceName, config: BridgeConfig) throws {
        let text = try promptText()
        // One reader per out-FIFO: with a TUI (or attach, tail) reading this instance, the reply
        // would be split between us; it is theirs, and nothing is sent.
        let readerLock: ReaderLock
        do {
            readerLock = try ReaderLock.acquire(instance: name, pipeDirectory: config.pipeDirectory,
                                                stateDirectory: StatePaths.directory())
        } catch {
            FileHandle.standardErrorWrite("cc-bridge-tui: \(error). --wait-reply must read the reply from the out-FIFO "
                + "and will not take it from that reader, so nothing was sent. Send without --wait-reply and read the "
                + "reply there; the coming server (one reader per instance, many viewers) is the way to do both.")
            throw ExitCode(Status.notDelivered)
        }
        defer { withExtendedLifetime(readerLock) {} }
        SignalPipe.route([SIGINT, SIGTERM, SIGHUP])
        var waitOptions = ReplyWait.Options(pipeDirectory: config.pipeDirectory)
        waitOptions.policy = options.policy
        waitOptions.maxLineBytes = config.tui.maxLineBytes
        waitOptions.sendTimeout = max(SendCommand.deliveryTimeout, wait ?? 0)
        waitOptions.replyTimeout = timeout ?? config.docker.session.requestTimeout
        waitOptions.promptID = "cli-\(getpid())-\(Int(Date().timeIntervalSince1970))"
        var printer = TailPrinter()
        var sent: (count: Int, note: String) = (0, "")
        let outcome = ReplyWait(name: name, options: waitOptions).run(prompt: { mode in
            if mode == .framed {
                let cleaned = PromptText.clean(text, keepLines: true)
                SendCommand.noteRemoved(cleaned.removed)
                let bytes = Array(HostMessage.prompt(id: waitOptions.promptID, text: cleaned.text).encode().utf8) + [0x0A]
                sent = (bytes.count, "framed protocol (id \(waitOptions.promptID))")
                return bytes
            }
            let bytes = plainLine(text)
            sent = (bytes.count, "plain protocol (no turn id)")
            return bytes
        }, onDelivered: {
            FileHandle.standardErrorWrite("delivered to \(name): \(sent.count) bytes, \(sent.note), read by the agent; the reply follows")
        }, onOutput: { batch in
            _ = printer.write(batch)
        }, stop: { !SignalPipe.drain().isEmpty })
        func stderr(_ line: String) { FileHandle.standardErrorWrite(line) }
        switch outcome {
        case .notAttached(let why):
            stderr("cc-bridge-tui: \(name): \(why); nothing sent")
            throw ExitCode(Status.notDelivered)
        case .notDelivered(let result):
            try report(result, name, what: "\(sent.count) bytes", protocolNote: sent.note, say: stderr)
        case .ended(let mode, let status, let exit):
            // Plain: the unfinished line is the `❯ ` marker, not reply text.
            if mode == .framed { printer.flushOpenLine() }
            printer.finish()
            if let status, status != .ok {
                stderr("cc-bridge-tui: \(name): the turn ended \(status.rawValue)" + (exit.map { " (exit \($0))" } ?? ""))
                throw ExitCode(Status.notDelivered)
            }
        case .timedOut(let mode):
            printer.flushOpenLine()
            printer.finish()
            let end = mode == .framed ? "no done for id \(waitOptions.promptID)" : "no ❯ marker"
            stderr("cc-bridge-tui: \(name): delivered, but the turn did not end within \(Self.seconds(waitOptions.replyTimeout)) s "
                + "(\(end)); what came so far is on standard output (exit 5)")
            throw ExitCode(Status.replyTimedOut)
        case .stopped:
            printer.flushOpenLine()
            printer.finish()
            stderr("cc-bridge-tui: \(name): stopped while waiting for the reply")
            throw ExitCode(Status.signalled)
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    static func noteRemoved(_ removed: Int) {
        if removed > 0 {
            FileHandle.standardErrorWrite("note: removed \(removed) control character\(removed == 1 ? "" : "s"), "
                + "escape sequence\(removed == 1 ? "" : "s") or invisible format character\(removed == 1 ? "" : "s") from the prompt")
        }
    }

    /// The prompt as one plain line (notes on stderr about what changed).
    private func plainLine(_ text: String) -> [UInt8] {
        let line = PlainPrompt.line(for: text)
        if line.joinedLines {
            FileHandle.standardErrorWrite("note: the prompt has newlines; the plain protocol takes one line, so they were sent as spaces")
        }
        SendCommand.noteRemoved(line.removed)
        return line.bytes
    }

    /// The prompt's text, or exit 2 with the reason (too large, not UTF-8).
    func promptText() throws -> String {
        var text: String
        if prompt == ["-"] {
            let (raw, total) = SendCommand.readStandardInput(keeping: PromptText.maxBytes + 4096)
            var size = total
            var kept = raw
            while kept.last == 0x0A || kept.last == 0x0D { kept.removeLast(); size -= 1 }
            if let refusal = PromptText.sizeRefusal(size) { return try refuse(refusal) }
            switch PromptText.decodeUTF8(kept) {
            case .success(let decoded): text = decoded
            case .failure(let error): return try refuse(error.description)
            }
        } else {
            text = prompt.joined(separator: " ")
            while text.hasSuffix("\n") { text.removeLast() }
            if let refusal = PromptText.sizeRefusal(text.utf8.count) { return try refuse(refusal) }
        }
        return text
    }

    private func refuse(_ reason: String) throws -> String {
        FileHandle.standardErrorWrite("cc-bridge-tui: \(reason)")
        throw ExitCode(Status.refused)
    }

    /// Standard input, at most `limit` bytes kept; the rest is counted, not held.
    static func readStandardInput(keeping limit: Int) -> (bytes: [UInt8], total: Int) {
        var kept: [UInt8] = []
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            total += n
            if kept.count < limit { kept += buffer[0..<min(n, limit - kept.count)] }
        }
        return (kept, total)
    }
}
