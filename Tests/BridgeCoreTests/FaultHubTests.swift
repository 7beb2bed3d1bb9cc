// FaultHubTests: the engine (InstanceHub on a real EventLoop and real FIFOs) under faults: agents
// killed mid-line and mid-escape-sequence, the out-FIFO swapped for a regular file or a symlink and
// back, pipe_dir deleted and recreated, hostile input sizes (a 100 MiB line, NUL bytes, invalid
// UTF-8, 10,000 one-byte writes, 6,000 spinner frames). The hub must keep running, show nothing
// unsafe, keep memory bounded and resume once a FIFO is back.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// A hub on a private pipe_dir with instance `a`, and helpers to write to its out-FIFO.
final class FaultHub {
    let tmp = TempDir()
    let loop: EventLoop
    let recorder = HubRecorder()
    var hub: InstanceHub!
    /// Bytes of finished lines ever reported (the scrollback itself is bounded and trims).
    var finishedBytes = 0
    var finishedLines = 0
    var dir: String { tmp.file("pipes") }
    var outPath: String { dir + "/a.out.fifo" }
    var inPath: String { dir + "/a.in.fifo" }

    init(maxLines: Int = 10_000) throws {
        loop = try EventLoop()
        recorder.scrollback = Scrollback(maxLines: maxLines, maxBytes: 8 << 20)
        try makeFifos()
        var options = InstanceHub.Options(directory: dir)
        options.rescanInterval = 0.05
        hub = InstanceHub(loop: loop, options: options) { [unowned self] event in
            if case .output(_, let batch) = event {
                let finished = batch.endsWithOpenLine ? batch.lines.dropLast() : batch.lines[...]
                finishedBytes += finished.reduce(0) { $0 + $1.text.utf8.count }
                finishedLines += finished.count
            }
            recorder.handle(event)
        }
        hub.start()
    }

    func makeFifos() throws {
        try FifoSafety.ensureDirectory(dir)
        try FifoSafety.create(inPath)
        try FifoSafety.create(outPath)
    }

    /// Writes like the upstream agent: open, write, close.
    func write(_ bytes: [UInt8]) throws {
        let fd = try FifoSafety.open(outPath, flags: O_WRONLY)
        defer { close(fd) }
        var rest = bytes[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 { rest = rest.dropFirst(n) } else if errno == EAGAIN { loop.runOnce(timeout: 0.001) } else { break }
        }
    }
    func write(_ text: String) throws { try write(Array(text.utf8)) }

    var attachedCount: Int { recorder.attachments.filter { $0.0 == "a" && $0.1 == .attached }.count }
    func spin(_ timeout: Double = 20, _ condition: () -> Bool) -> Bool { BridgeCoreTests.spin(loop, timeout: timeout, until: condition) }
    var allSanitized: Bool { recorder.lines.allSatisfy(isSanitized) }
}

@Suite(.serialized) struct FaultHubTests {
    @Test func agentKilledMidLineAndMidEscapeSequenceShowsNothingUnsafeAndTheNextAgentIsSeen() throws {
        let h = try FaultHub()
        #expect(h.spin { h.attachedCount == 1 })
        // Three agents in turn die (SIGKILL) after half a line, inside a CSI and inside an OSC title.
        func agentDies(after text: String) throws {
            let agent = try Child.python("""
            import os, sys, time
            fd = os.open(sys.argv[1], os.O_WRONLY)
            os.write(fd, sys.argv[2].encode())
            time.sleep(60)
            """, [h.outPath, text])
            let visible = String(text.prefix { $0 != "\u{1B}" })
            #expect(h.spin { h.recorder.lines.last?.hasPrefix(visible) == true }, "lines: \(h.recorder.lines)")
            agent.kill(SIGKILL)
        }
        try agentDies(after: "half a li")
        try h.write("\n")
        #expect(h.spin { h.recorder.lines.last == "half a li" })
        // A cut CSI: the newline inside it still ends the line (terminals execute C0 controls inside
        // a CSI); the next byte that can end a CSI does end it, as on a terminal.
        try agentDies(after: "csi next: \u{1B}[3")
        try h.write("\nZafter csi\n")
        #expect(h.spin { h.recorder.lines.last == "after csi" }, "lines: \(h.recorder.lines)")
        // A cut OSC swallows what follows until BEL/ST or its 4 KiB cap, as on a terminal; the
        // unfinished line stays shown.
        try agentDies(after: "title next: \u{1B}]0;evil ti")
        try h.write("\n\u{07}after restart\n")
        #expect(h.spin { h.recorder.lines.contains { $0.hasSuffix("after restart") } }, "lines: \(h.recorder.lines)")
        #expect(h.recorder.lines.contains("half a li"))
        #expect(h.allSanitized)
        #expect(h.attachedCount == 1, "a dead writer must not detach: we hold our own write end")
    }

    @Test func outFifoReplacedByARegularFileThenRestoredResumes() throws {
        let h = try FaultHub()
        #expect(h.spin { h.attachedCount == 1 })
        try h.write("before\n")
        #expect(h.spin { h.recorder.lines.contains("before") })
        unlink(h.outPath)
        try "not a fifo\n".write(toFile: h.outPath, atomically: false, encoding: .utf8)
        #expect(h.spin { h.recorder.instances.first?.brokenReason == "out-FIFO is a regular file, not a FIFO" },
                "instances: \(h.recorder.instances)")
        #expect(h.spin { h.recorder.attachments.contains { if case .reattaching = $0.1 { true } else { false } } })
        #expect(try String(contentsOfFile: h.outPath, encoding: .utf8) == "not a fifo\n", "the file is never written")
        unlink(h.outPath)
        try FifoSafety.create(h.outPath)
        #expect(h.spin { h.attachedCount == 2 })
        try h.write("after\n")
        #expect(h.spin { h.recorder.lines.contains("after") })
        #expect(!h.recorder.lines.contains("not a fifo"))
    }

    @Test func outFifoReplacedByASymlinkThenRestoredResumes() throws {
        let h = try FaultHub()
        #expect(h.spin { h.attachedCount == 1 })
        // A symlink to another FIFO that someone else controls: refused, never read.
        let elsewhere = h.tmp.file("elsewhere.fifo")
        try FifoSafety.create(elsewhere)
        unlink(h.outPath)
        #expect(symlink(elsewhere, h.outPath) == 0)
        #expect(h.spin { h.recorder.instances.first?.brokenReason == "out-FIFO is a symlink" })
        unlink(h.outPath)
        try FifoSafety.create(h.outPath)
        #expect(h.spin { h.attachedCount == 2 })
        try h.write("back\n")
        #expect(h.spin { h.recorder.lines.contains("back") })
    }

    @Test func pipeDirDeletedAndRecreatedResumes() throws {
        let h = try FaultHub()
        #expect(h.spin { h.attachedCount == 1 })
        try h.write("one\n")
        #expect(h.spin { h.recorder.lines.contains("one") })
        try FileManager.default.removeItem(atPath: h.dir)
        #expect(h.spin { h.recorder.instances.isEmpty })
        #expect(h.hub.currentInstances.isEmpty)
        // The loop keeps turning while the directory is gone.
        var ticks = 0
        _ = h.loop.schedule(after: 0.01, repeating: 0.01) { ticks += 1 }
        #expect(h.spin { ticks >= 5 })
        try h.makeFifos()
        #expect(h.spin { h.attachedCount == 2 }, "attachments: \(h.recorder.attachments)")
        try h.write("two\n")
        #expect(h.spin { h.recorder.lines.contains("two") })
    }

    @Test func hundredMebibyteLineWithoutNewlineIsCappedAndEverythingAfterItIsShown() throws {
        let h = try FaultHub(maxLines: 5_000)
        #expect(h.spin { h.attachedCount == 1 })
        let total = 100 << 20
        let writer = try Child.python("""
        import os, sys
        fd = os.open(sys.argv[1], os.O_WRONLY)
        block = b"x" * (1 << 20)
        for _ in range(100): os.write(fd, block)
        os.write(fd, b"\\nthe line after\\n")
        """, [h.outPath])
        #expect(h.spin(120) { h.recorder.lines.last == "the line after" }, "last: \(h.recorder.lines.last?.prefix(80) ?? "-")")
        #expect(writer.waitForExit(timeout: 30))
        #expect(h.recorder.lines.dropLast().allSatisfy { $0.utf8.count <= h.hub.options.maxLineBytes })
        #expect(h.finishedBytes == total + "the line after".utf8.count, "nothing of the long line is lost")
        #expect(h.finishedLines == total / h.hub.options.maxLineBytes + 1)
        #expect(h.recorder.scrollback.byteCount <= 8 << 20)
    }

    @Test func nulBytesInvalidUTF8AndTenThousandOneByteWrites() throws {
        let h = try FaultHub()
        #expect(h.spin { h.attachedCount == 1 })
        try h.write([0x61, 0x00, 0x62, 0x00, 0x00, 0x63, 0x0A])                    // a NUL b NUL NUL c
        try h.write([0x78, 0xFF, 0xFE, 0xC3, 0x28, 0xE2, 0x82, 0x79, 0xED, 0xA0, 0x80, 0x0A])
        #expect(h.spin { h.recorder.lines.count >= 2 })
        #expect(h.recorder.lines[0] == "abc")
        #expect(h.recorder.lines[1].hasPrefix("x\u{FFFD}") && h.recorder.lines[1].contains("y"))
        // 10,000 one-byte writes (each its own open/write/close is too slow for a test; one writer,
        // one byte per write(2), which is what reaches the reader as 10,000 tiny reads at worst).
        let writer = try Child.python("""
        import os, sys
        fd = os.open(sys.argv[1], os.O_WRONLY)
        data = ("".join("%04d\\n" % i for i in range(2000))).encode()
        for i in range(len(data)): os.write(fd, data[i:i+1])
        """, [h.outPath])
        #expect(h.spin(60) { h.recorder.lines.last == "1999" }, "last: \(h.recorder.lines.suffix(2))")
        #expect(writer.waitForExit(timeout: 30))
        let numbers = h.recorder.lines.dropFirst(2)
        #expect(Array(numbers) == (0..<2000).map { String(format: "%04d", $0) }, "nothing lost, nothing reordered")
        #expect(h.allSanitized)
    }

    @Test func tenMinutesOfSpinnerFramesStayOneLine() throws {
        let h = try FaultHub()
        #expect(h.spin { h.attachedCount == 1 })
        // ~10 frames a second for 10 minutes = 6,000 frames, written as fast as the pipe takes them.
        let writer = try Child.python("""
        import os, sys
        fd = os.open(sys.argv[1], os.O_WRONLY)
        frames = ["\\u280b", "\\u2819", "\\u2839", "\\u2838", "\\u283c", "\\u2834"]
        for i in range(6000):
            os.write(fd, ("\\r\\x1b[2K%s Thinking\\u2026 (%ds)" % (frames[i % 6], i // 10)).encode())
        os.write(fd, b"\\r\\x1b[2Kfinished\\n")
        """, [h.outPath])
        #expect(h.spin(60) { h.recorder.lines.last == "finished" }, "last: \(h.recorder.lines.suffix(2))")
        #expect(writer.waitForExit(timeout: 30))
        #expect(h.recorder.lines == ["finished"], "spinner frames replace one line: \(h.recorder.lines.count) lines")
        #expect(h.recorder.scrollback.byteCount < (64 << 10) + 1024)   // one block: redraws replace, never pile up
    }
}
