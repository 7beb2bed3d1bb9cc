// FaultSendTests: `cc-bridge-tui send` against agents that read late, read slowly or stop
// reading mid-prompt (real FIFOs, python readers), and prompts that are too large, not UTF-8 or
// full of control bytes. Each outcome has its own exit code: 0 read, 1 not delivered, 2 refused
// before sending, 3 written but not yet read, 4 torn (and ended with a newline).

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Tests/Fixtures/scripted_reader.py: an in-FIFO reader that reads late, slowly or stops.
let scriptedReader = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/scripted_reader.py").path

struct ReaderSetup {
    let scratch = Scratch()
    var pipes: String { scratch.file("pipes") }
    var received: String { scratch.file("received") }
    let reader: Running

    init(first: Int, pause: Double, rate: Double) throws {
        let pipes = scratch.file("pipes")
        #expect(try run(try Binaries.tui, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        reader = try Running("/usr/bin/env", ["python3", scriptedReader, pipes + "/bot.in.fifo", scratch.file("received"),
                                              String(first), String(pause), String(rate)])
        let path = scratch.file("received")
        _ = eventually(timeout: 10) { FileManager.default.fileExists(atPath: path) }
    }

    func bytes() -> [UInt8] { Array(FileManager.default.contents(atPath: received) ?? Data()) }

    func send(_ words: [String], stdin: Data? = nil, timeout: String = "1") throws -> Finished {
        try run(try Binaries.tui, ["send", "bot"] + words + ["--pipe-dir", pipes, "--timeout", timeout], stdin: stdin, timeout: 60)
    }
}

@Suite(.serialized) struct FaultSendTests {
    @Test func anAgentThatReadsLateGetsThePromptOnceAndSendSaysWrittenNotRead() throws {
        let s = try ReaderSetup(first: 0, pause: 4, rate: 0)
        defer { s.reader.signal(SIGKILL) }
        let sent = try s.send(["hello", "late"])
        #expect(sent.status == 3, "stderr: \(sent.stderr)")
        #expect(sent.stderr.contains("written, not yet read") && sent.stderr.contains("do not send it again"), "stderr: \(sent.stderr)")
        #expect(eventually(timeout: 15) { s.bytes().count >= 11 })
        usleep(300_000)
        #expect(String(decoding: s.bytes(), as: UTF8.self) == "hello late\n")
    }

    @Test func aLargePromptToASlowReaderArrivesWhole() throws {
        // 200 KiB at 40 KB/s takes about 5 s, far past the 2 s timeout: it measures stalls only.
        let s = try ReaderSetup(first: 1 << 30, pause: 0, rate: 40_000)
        defer { s.reader.signal(SIGKILL) }
        let prompt = String(repeating: "abcdefgh", count: 200 << 7)   // 204,800 bytes
        let sent = try s.send(["-"], stdin: Data(prompt.utf8), timeout: "2")
        #expect(sent.status == 0, "stderr: \(sent.stderr)")
        #expect(eventually(timeout: 20) { s.bytes().count >= prompt.utf8.count + 1 })
        #expect(s.bytes() == Array((prompt + "\n").utf8))
    }

    @Test func aPromptTheAgentStopsReadingIsTornEndedAndTheNextStaysSeparate() throws {
        let s = try ReaderSetup(first: 100_000, pause: 4, rate: 0)
        defer { s.reader.signal(SIGKILL) }
        let prompt = String(repeating: "x", count: 200 << 10)
        let torn = try s.send(["-"], stdin: Data(prompt.utf8))
        #expect(torn.status == 4, "stderr: \(torn.stderr)")
        #expect(torn.stderr.contains("torn after") && torn.stderr.contains("ended with a newline"), "stderr: \(torn.stderr)")
        // The retry a user would make: it must not glue onto the torn part.
        let next = try s.send(["next", "prompt"], timeout: "10")
        #expect(next.status == 0, "stderr: \(next.stderr)")
        #expect(eventually(timeout: 20) { s.bytes().last == 0x0A && s.bytes().count > 100_000 && String(decoding: s.bytes(), as: UTF8.self).hasSuffix("next prompt\n") })
        let lines = String(decoding: s.bytes(), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3, "lines: \(lines.map(\.count))")
        #expect(lines.first.map { $0.count > 0 && $0.count < prompt.count && $0.allSatisfy { $0 == "x" } } == true)
        #expect(lines.dropFirst().first == "next prompt")
    }

    @Test func aPromptOverTheLimitIsRefusedWithBothSizesNeverCut() throws {
        let s = try ReaderSetup(first: 1 << 30, pause: 0, rate: 0)
        defer { s.reader.signal(SIGKILL) }
        let prompt = String(repeating: "y", count: (1 << 20) + 1000)
        let refused = try s.send(["-"], stdin: Data(prompt.utf8))
        #expect(refused.status == 2, "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("1,049,576") && refused.stderr.contains("1,048,576"), "stderr: \(refused.stderr)")
        usleep(300_000)
        #expect(s.bytes().isEmpty, "nothing of a refused prompt may reach the pipe")
    }

    @Test func controlBytesNeverReachThePipeAndInvalidUTF8IsRefused() throws {
        let s = try ReaderSetup(first: 1 << 30, pause: 0, rate: 0)
        defer { s.reader.signal(SIGKILL) }
        let hostile = "stop\u{03}this\tnow \u{1B}[31mred\u{1B}[0m \u{1B}]0;title\u{07}\u{202E}evil\u{7F}\u{9B}2J end"
        let sent = try s.send(["-"], stdin: Data(hostile.utf8), timeout: "5")
        #expect(sent.status == 0, "stderr: \(sent.stderr)")
        #expect(sent.stderr.contains("removed"), "stderr: \(sent.stderr)")
        #expect(eventually(timeout: 10) { s.bytes().last == 0x0A })
        #expect(String(decoding: s.bytes(), as: UTF8.self) == "stopthis now red evil end\n")
        let invalid = try s.send(["-"], stdin: Data([0x61, 0x62, 0xFF, 0x63]))
        #expect(invalid.status == 2, "stderr: \(invalid.stderr)")
        #expect(invalid.stderr.contains("not valid UTF-8") && invalid.stderr.contains("offset 2"), "stderr: \(invalid.stderr)")
    }
}

extension FaultSendTests {
    @Test func ctrlCMidPromptEndsTheTornPartAndSaysSo() throws {
        let s = try ReaderSetup(first: 100_000, pause: 4, rate: 0)
        defer { s.reader.signal(SIGKILL) }
        let prompt = String(repeating: "c", count: 200 << 10)
        let send = try Running(try Binaries.tui, ["send", "bot", "-", "--pipe-dir", s.pipes, "--timeout", "30"], stdin: Data(prompt.utf8))
        #expect(eventually(timeout: 10) { s.bytes().count >= 100_000 })
        usleep(500_000)
        send.signal(SIGINT)
        let finished = send.wait(timeout: 10)
        #expect(finished?.status == 4, "stderr: \(finished?.stderr ?? "still running")")
        #expect(finished?.stderr.contains("cancelled mid-prompt") == true)
        #expect(eventually(timeout: 20) { s.bytes().last == 0x0A })
        let lines = String(decoding: s.bytes(), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[0].count > 100_000 && lines[0].count < prompt.count, "lines: \(lines.map(\.count))")
    }
}
