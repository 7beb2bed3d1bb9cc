// FaultTornDeliveryTests: the TUI's delivery (PromptDelivery, in the event loop) against python
// readers that read slowly or stop mid-prompt (Tests/Fixtures/scripted_reader.py), on real FIFOs.
// A large prompt to a slow reader arrives whole; one the reader stops taking is reported torn and
// ended with a newline, so the next prompt stays a line of its own. Prompt text never carries
// control bytes (the interrupt 0x03 above all) into the pipe.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// A FIFO with the scripted reader on it, and what it read.
struct ScriptedReader {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/scripted_reader.py").path
    let tmp = TempDir()
    let path: String
    let child: Child

    init(first: Int, pause: Double, rate: Double) throws {
        path = tmp.file("a.in.fifo")
        try FifoSafety.create(path)
        let out = tmp.file("received")
        child = try Child("/usr/bin/env", ["python3", ScriptedReader.script, path, out, String(first), String(pause), String(rate)])
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: out) { usleep(10_000) }
    }

    var received: [UInt8] { Array(FileManager.default.contents(atPath: tmp.file("received")) ?? Data()) }
}

@Suite struct FaultTornDeliveryTests {
    @Test func aLargePromptToASlowReaderIsDeliveredWholeInTheLoop() throws {
        // 200 KiB at 40 KB/s: about 5 s, with a 1 s timeout. It used to fail at the timeout with
        // "agent stopped reading" after about 140 KiB.
        let reader = try ScriptedReader(first: 1 << 30, pause: 0, rate: 40_000)
        defer { reader.child.kill() }
        let loop = try EventLoop()
        var results: [(String, SendError?)] = []
        let delivery = PromptDelivery(path: reader.path, loop: loop, writer: PromptWriter()) { results.append(($0, $1)) }
        let prompt = Array(repeating: UInt8(ascii: "p"), count: 200 << 10) + [0x0A]
        delivery.enqueue(.init(promptID: "big", bytes: prompt, timeout: 1))
        #expect(spin(loop, timeout: 30) { !results.isEmpty })
        #expect(results.first?.1 == nil, "\(String(describing: results.first?.1))")
        #expect(spin(loop, timeout: 20) { reader.received.count >= prompt.count })
        #expect(reader.received == prompt)
    }

    /// A prompt of at most PIPE_BUF bytes cannot be torn (one write puts it in whole or not at
    /// all), so it goes into a pipe whose last free slot the careful path keeps for a newline:
    /// the agent gets it as soon as it reads, instead of "not delivered" after the timeout.
    @Test func aSmallPromptGoesIntoTheSlotKeptForATornPromptsNewline() throws {
        let tmp = TempDir()
        let (path, reader) = try fifoWithIdleReader(in: tmp)
        #expect(reader >= 0)
        defer { close(reader) }
        let filler = open(path, O_WRONLY | O_NONBLOCK)
        #expect(filler >= 0)
        defer { close(filler) }
        guard let capacity = PipeSize.capacity(filler), capacity / PipeSize.page >= 4 else { return }
        // All slots but two in use, one of them partly: the careful path sees none it may take.
        let held = [UInt8](repeating: UInt8(ascii: "x"), count: capacity - 3 * PipeSize.page + 1)
        #expect(held.withUnsafeBytes { write(filler, $0.baseAddress, $0.count) } == held.count)
        let prompt = Array("hello\n".utf8)
        let result = PromptWriter().send(prompt, to: path, timeout: 0.3)
        #expect(result == .success(.writtenNotRead), "\(result)")
        var got = [UInt8](repeating: 0, count: held.count + 64)
        let n = got.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
        #expect(n == held.count + prompt.count && Array(got[held.count..<n]) == prompt)
    }

    @Test func aPromptTheReaderStopsTakingIsTornAndEndedSoTheNextStaysSeparate() throws {
        let reader = try ScriptedReader(first: 100_000, pause: 4, rate: 0)
        defer { reader.child.kill() }
        let loop = try EventLoop()
        var results: [String: SendError?] = [:]
        let delivery = PromptDelivery(path: reader.path, loop: loop, writer: PromptWriter()) { results[$0] = $1 }
        let prompt = Array(repeating: UInt8(ascii: "t"), count: 200 << 10) + [0x0A]
        delivery.enqueue(.init(promptID: "torn", bytes: prompt, timeout: 1))
        delivery.enqueue(.init(promptID: "next", bytes: Array("next one\n".utf8), timeout: 10))
        #expect(spin(loop, timeout: 30) { results.count == 2 })
        guard case .timedOut(let written, let total)?? = results["torn"] else {
            Issue.record("the torn prompt was reported as \(String(describing: results["torn"]))")
            return
        }
        #expect(written > 100_000 && written < total)
        #expect(results["next"] == .some(nil))
        #expect(spin(loop, timeout: 20) { reader.received.count >= written + 1 + 9 })
        let text = String(decoding: reader.received, as: UTF8.self)
        #expect(text.utf8.count == written + 1 + 9)
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).map(\.count) == [written, 8, 0])
        #expect(text.hasSuffix("\nnext one\n"))
    }

    @Test func aPromptCutOffByADetachIsEndedAndReportedTorn() throws {
        // The hub detaches an instance (its pipes vanished or became unsafe) while a large prompt
        // is half in: the part in the pipe must still be ended, and not be called "not delivered".
        let reader = try ScriptedReader(first: 100_000, pause: 3, rate: 0)
        defer { reader.child.kill() }
        let loop = try EventLoop()
        var results: [(String, SendError?)] = []
        let delivery = PromptDelivery(path: reader.path, loop: loop, writer: PromptWriter()) { results.append(($0, $1)) }
        let prompt = Array(repeating: UInt8(ascii: "d"), count: 200 << 10) + [0x0A]
        delivery.enqueue(.init(promptID: "cut", bytes: prompt, timeout: 30))
        #expect(spin(loop, timeout: 10) { reader.received.count >= 100_000 })
        _ = spin(loop, timeout: 0.3) { false }
        delivery.cancelAll(reason: .agentNotListening(waited: 0))
        #expect(results.count == 1)
        #expect(results.first?.1?.description.contains("torn after") == true, "\(String(describing: results.first?.1))")
        #expect(spin(loop, timeout: 15) { reader.received.last == 0x0A })
        let lines = String(decoding: reader.received, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[0].count > 100_000 && lines[0].count < prompt.count - 1, "\(lines.map(\.count))")
    }

    @Test func aPlainPromptLineCarriesNoControlBytes() {
        // A paste with 0x03 interrupted the agent's running reply: the plain line is cleaned.
        let line = PlainPrompt.line(for: "keep\u{03} going\tplease \u{1B}[1mnow\u{1B}[0m\u{202E}\u{200B}!\r\nok")
        #expect(String(decoding: line.bytes, as: UTF8.self) == "keep going please now! ok\n")
        #expect(!line.bytes.dropLast().contains { $0 < 0x20 || $0 == 0x7F })
    }
}
