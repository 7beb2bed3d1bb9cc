// `cc-bridge-tui tail`: an instance's output, sanitized (or raw with --raw). Without --follow it
// prints what is buffered now and exits; with --follow it keeps reading until interrupted.

import ArgumentParser
import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "Print an instance's output.")

    @OptionGroup var options: CommonOptions
    @Argument(help: "Instance name.") var instance: String
    @Flag(name: [.short, .long], help: "Keep reading until interrupted.") var follow = false
    @Flag(help: "Bytes exactly as they came (escape sequences included).") var raw = false
    @Option(help: "Without --follow: seconds to wait for output before exiting.") var wait: Double = 0.2

    func run() throws {
        let config = try options.loadConfig()
        let name = try options.instanceName(instance)
        let channel = OutputChannel(path: name.outFifoPath(in: config.pipeDirectory), policy: options.policy)
        do {
            try channel.open()
        } catch {
            FileHandle.standardErrorWrite("cc-bridge-tui: \(name): \(error)")
            throw ExitCode(1)
        }
        let loop = try EventLoop()
        var printer = TailPrinter(raw: raw, maxLineBytes: config.tui.maxLineBytes)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { buffer.deallocate() }
        var idleTimer: EventLoop.TimerID?

        func armIdleTimer() {
            if let idleTimer { loop.cancel(idleTimer) }
            if follow {
                // A quiet stream: show the unfinished line so a prompt marker is visible.
                idleTimer = loop.schedule(after: 0.1) { printer.flushOpenLine() }
            } else {
                idleTimer = loop.schedule(after: wait) { loop.stop() }
            }
        }

        loop.watch(channel.readFD, for: .readable) { _ in
            while true {
                switch channel.read(into: buffer) {
                case .bytes(let n):
                    if !printer.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) { loop.stop(); return }
                case .wouldBlock, .endOfFile:
                    armIdleTimer()
                    return
                case .failed(let error):
                    FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
                    loop.stop()
                    return
                }
            }
        }
        if follow {
            // The out-FIFO replaced under us (container restart): reopen and go on.
            loop.schedule(after: 1, repeating: 1) {
                if channel.isStale() { try? channel.open() }
            }
        }
        armIdleTimer()
        loop.run()
        printer.flushOpenLine()
        printer.finish()
    }
}

/// Writes decoded lines to standard output as they complete.
struct TailPrinter {
    let raw: Bool
    private var decoder: StreamDecoder
    private var batch = OutputBatch()
    private var events: [StreamEvent] = []
    /// What of the current unfinished line is already on screen.
    private var printedOpen = ""
    private var open: OutputLine?

    init(raw: Bool, maxLineBytes: Int) {
        self.raw = raw
        decoder = StreamDecoder(maxLineBytes: maxLineBytes)
    }

    /// Returns false when standard output is gone (EPIPE): time to stop.
    mutating func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if raw { return Self.emit(Array(bytes)) }
        batch.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
        decoder.feed(bytes, into: &batch, events: &events)
        var out = ""
        for (index, line) in batch.lines.enumerated() {
            let continues = index == 0 && batch.replacesOpenLine
            let stillOpen = batch.endsWithOpenLine && index == batch.lines.count - 1
            let alreadyShown = continues ? printedOpen : ""
            if stillOpen {
                if !continues { printedOpen = "" }
                open = line
                continue
            }
            out += line.text.hasPrefix(alreadyShown) ? String(line.text.dropFirst(alreadyShown.count)) : "\n" + line.text
            out += "\n"
            open = nil
            printedOpen = ""
        }
        return out.isEmpty || Self.emit(Array(out.utf8))
    }

    /// Prints the unfinished line (for prompts and markers that end without a newline).
    mutating func flushOpenLine() {
        guard let open, !raw else { return }
        let text = open.text
        if text.hasPrefix(printedOpen) {
            let rest = String(text.dropFirst(printedOpen.count))
            if !rest.isEmpty { _ = Self.emit(Array(rest.utf8)) }
        } else {
            _ = Self.emit(Array(("\n" + text).utf8))
        }
        printedOpen = text
    }

    mutating func finish() {
        if open != nil && !printedOpen.isEmpty { _ = Self.emit([0x0A]) }
    }

    static func emit(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}
