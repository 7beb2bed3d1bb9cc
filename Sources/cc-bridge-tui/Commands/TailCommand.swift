// `cc-bridge-tui tail`: an instance's output, sanitized (or raw with --raw). Without --follow it
// prints what is buffered now and exits; with --follow it keeps reading until interrupted, and
// through an agent restart: pipes that vanish are waited for and reopened, with a notice on
// standard error. It runs the TUI's own engine path (InstanceHub: OutputChannel, StreamDecoder,
// OutputProcessor, limited to this one instance) and prints the packed batches it reports.
// When a server runs for the pipe directory (it is then the out-FIFO's one reader), tail is its
// client instead (TailThroughServer): the server's kept lines, then live ones.

import ArgumentParser
import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "Print an instance's output.")

    @OptionGroup var options: CommonOptions
    @Argument(help: "Instance name, or HOST/NAME for one on a remote host.") var instance: String
    @Flag(name: [.short, .long], help: "Keep reading until interrupted, also through agent restarts.") var follow = false
    @Flag(help: "Bytes exactly as they came (escape sequences included).") var raw = false
    @Option(help: "Without --follow: seconds to wait for output before exiting.") var wait: Double = 0.2

    func run() throws {
        let config = try options.loadConfig()
        if let (server, name) = try options.remoteTarget(instance, config: config) {
            // HOST/NAME: the host's server over ssh (reconnecting with --follow).
            guard !raw else {
                FileHandle.standardErrorWrite("cc-bridge-tui: \(instance): --raw needs the out-FIFO itself, which is on \(server.said); leave out --raw")
                throw ExitCode(1)
            }
            return try TailThroughServer(server: server, instance: name.rawValue, follow: follow, wait: wait).run()
        }
        let name = try options.instanceName(instance)
        try options.requireInstance(name, config: config)
        if let server = ServerClient.running(config) {
            guard !raw else {
                FileHandle.standardErrorWrite("cc-bridge-tui: \(name): --raw needs the out-FIFO itself, and the server "
                    + "(pid \(server.record.map { String($0.pid) } ?? "?")) reads it; leave out --raw, or stop the server")
                throw ExitCode(1)
            }
            return try TailThroughServer(server: server, instance: name.rawValue, follow: follow, wait: wait).run()
        }
        // One reader per out-FIFO: next to a TUI (or another tail) reading this instance, a
        // second reader would split the stream between them.
        let readerLock: ReaderLock
        do {
            readerLock = try ReaderLock.acquire(instance: name, pipeDirectory: config.pipeDirectory,
                                                stateDirectory: StatePaths.directory())
        } catch {
            FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
            throw ExitCode(1)
        }
        defer { withExtendedLifetime(readerLock) {} }
        let loop = try EventLoop()
        var hubOptions = InstanceHub.Options(directory: config.pipeDirectory)
        hubOptions.policy = options.policy
        hubOptions.maxLineBytes = config.tui.maxLineBytes
        hubOptions.only = [name.rawValue]
        var printer = TailPrinter()
        var idleTimer: EventLoop.TimerID?
        var attached = false, started = false, waiting = false
        var failure: String?

        func armIdleTimer() {
            if let idleTimer { loop.cancel(idleTimer) }
            if follow {
                // A quiet stream: show the unfinished line so a prompt marker is visible.
                idleTimer = loop.schedule(after: 0.1) { printer.flushOpenLine() }
            } else {
                idleTimer = loop.schedule(after: wait) { loop.stop() }
            }
        }
        func notice(_ text: String) { FileHandle.standardErrorWrite("cc-bridge-tui: \(name): \(text)") }

        let hub = InstanceHub(loop: loop, options: hubOptions) { event in
            switch event {
            case .output(_, let batch):
                if !raw && !printer.write(batch) { loop.stop() }
                armIdleTimer()
            case .attachment(_, .attached):
                if waiting { notice("pipes are back; following the new agent") }
                attached = true
                waiting = false
            case .attachment(_, .reattaching(let why)), .attachment(_, .failed(let why)):
                attached = false
                if !started { failure = why; return }
                guard follow, !waiting else { return }
                // A replaced FIFO is reopened in the same rescan: then this one line says so.
                loop.schedule(after: 0) {
                    if attached { return notice(why) }
                    if !waiting { notice("\(why); waiting for them to come back") }
                    waiting = true
                }
            default:
                break
            }
        }
        if raw {
            hub.rawBytes = { _, bytes in
                if !TailPrinter.emit(bytes) { loop.stop() }
                armIdleTimer()
            }
        }
        hub.start()
        started = true
        guard attached else {
            hub.stop()
            let reason = failure
                ?? hub.currentInstances.first(where: { $0.name == name.rawValue })?.brokenReason
                ?? PipeSafetyError.missing(path: name.outFifoPath(in: config.pipeDirectory)).description
            FileHandle.standardErrorWrite("cc-bridge-tui: \(name): \(reason)")
            throw ExitCode(1)
        }
        armIdleTimer()
        loop.run()
        hub.stop()
        printer.flushOpenLine()
        printer.finish()
    }
}

/// Writes a decoded stream's lines to standard output as they complete, straight from the packed
/// batch (one write per batch, no String per line). An unfinished line is printed only when
/// asked (`flushOpenLine`, after a quiet moment); what of it is already shown is not repeated.
struct TailPrinter {
    /// The current unfinished line, and how much of it is already on screen.
    private var open: [UInt8] = []
    private var printedOpen: [UInt8] = []
    /// The first line's rest when it finishes a partly shown line.
    private var head: [UInt8] = []
    /// The next batch starts with the whole of the unfinished line shown last (a resubscription
    /// from the line after the last finished one): only its rest is printed.
    private var resuming = false

    /// After a reconnect, before the resubscribed lines come.
    mutating func resumeAtShownLine() { resuming = !printedOpen.isEmpty }

    /// Returns false when standard output is gone (EPIPE): time to stop.
    mutating func write(_ batch: OutputBatch) -> Bool {
        guard !batch.isEmpty else { return true }
        var start = 0
        let finishedEnd = batch.finishedTextByteCount
        let replacesOpenLine = batch.replacesOpenLine || resuming
        resuming = false
        if replacesOpenLine && finishedEnd > 0 {
            // The first line finishes the line we may have shown part of.
            let shown = batch.withLine(0) { text, _, _ -> Bool in
                start = text.count + 1
                if text.starts(with: printedOpen) {
                    head.removeAll(keepingCapacity: true)
                    head.append(contentsOf: UnsafeBufferPointer(rebasing: text[printedOpen.count...]))
                } else {
                    head = [0x0A]
                    head.append(contentsOf: text)
                }
                head.append(0x0A)
                return head.withUnsafeBytes { Self.emit($0) }
            }
            guard shown else { return false }
        }
        if finishedEnd > 0 { printedOpen.removeAll(keepingCapacity: true) }
        if batch.endsWithOpenLine {
            if !(replacesOpenLine && batch.count == 1) { printedOpen.removeAll(keepingCapacity: true) }
            batch.withLine(batch.count - 1) { text, _, _ in open = Array(text) }
        } else {
            open.removeAll(keepingCapacity: true)
        }
        // The other finished lines, newlines included, straight from the batch in one write.
        guard finishedEnd > start else { return true }
        return batch.text.withUnsafeBytes { Self.emit(UnsafeRawBufferPointer(rebasing: $0[start..<finishedEnd])) }
    }

    /// Prints the unfinished line (for prompts and markers that end without a newline).
    mutating func flushOpenLine() {
        guard !open.isEmpty, open != printedOpen else { return }
        if open.starts(with: printedOpen) {
            _ = open[printedOpen.count...].withUnsafeBytes { Self.emit($0) }
        } else {
            _ = ([0x0A] + open).withUnsafeBytes { Self.emit($0) }
        }
        printedOpen = open
    }

    /// Ends a shown unfinished line, so the shell prompt starts on a line of its own.
    func finish() {
        if !open.isEmpty && !printedOpen.isEmpty { _ = [UInt8(0x0A)].withUnsafeBytes { Self.emit($0) } }
    }

    /// Writes all of `bytes` to standard output; false when it is gone.
    static func emit(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}
