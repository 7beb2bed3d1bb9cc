// PipeChannelTests: the out-FIFO reader and the prompt writer on real FIFOs and real processes.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// Drains an OutputChannel through the event loop into `received`.
final class Drain {
    let channel: OutputChannel
    var received: [UInt8] = []
    var eofs = 0
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    init(_ channel: OutputChannel, loop: EventLoop) {
        self.channel = channel
        loop.watch(channel.readFD, for: .readable) { [unowned self] _ in self.pump() }
    }

    func pump() {
        while true {
            let outcome = buffer.withUnsafeMutableBytes { channel.read(into: $0) }
            switch outcome {
            case .bytes(let n): received.append(contentsOf: buffer[0..<n])
            case .endOfFile: eofs += 1; return
            default: return
            }
        }
    }
}

@Suite struct PipeChannelTests {
    /// The upstream agent's way: a blocking open, one chunk, close — 1,000 times.
    static let perChunkWriter = """
    import os, sys
    path = sys.argv[1]
    for i in range(1000):
        fd = os.open(path, os.O_WRONLY)
        os.write(fd, ("chunk %04d " % i).encode() + b"x" * 100 + b"\\n")
        os.close(fd)
    """

    @Test func writerThatReopensPerChunkLosesNothingAndNeverBlocks() throws {
        let tmp = TempDir()
        let path = tmp.file("a.out.fifo")
        try FifoSafety.create(path)
        let channel = OutputChannel(path: path)
        try channel.open()
        let loop = try EventLoop()
        let drain = Drain(channel, loop: loop)
        let writer = try Child.python(Self.perChunkWriter, [path])

        let expected = (0..<1000).map { String(format: "chunk %04d ", $0) + String(repeating: "x", count: 100) + "\n" }.joined()
        let done = spin(loop, timeout: 60) { drain.received.count >= expected.utf8.count }
        #expect(done)
        #expect(writer.waitForExit(timeout: 10), "the per-chunk writer was left blocked")
        #expect(String(decoding: drain.received, as: UTF8.self) == expected)
        #expect(drain.eofs == 0, "holding our own write end means no EOF between chunks")
    }

    @Test func agentKilledMidLineLeavesThePartialLineReadable() throws {
        let tmp = TempDir()
        let path = tmp.file("a.out.fifo")
        try FifoSafety.create(path)
        let channel = OutputChannel(path: path)
        try channel.open()
        let loop = try EventLoop()
        let drain = Drain(channel, loop: loop)
        let agent = try Child.python("""
        import os, sys, time
        fd = os.open(sys.argv[1], os.O_WRONLY)
        os.write(fd, b"complete line\\npartial li")
        time.sleep(60)
        """, [path])
        #expect(spin(loop, timeout: 20) { drain.received.count >= 24 })
        agent.kill()
        loop.runOnce(timeout: 0.1)
        #expect(String(decoding: drain.received, as: UTF8.self) == "complete line\npartial li")
    }

    @Test func fifoWithNoPeerNeverStallsTheLoop() throws {
        let tmp = TempDir()
        let path = tmp.file("idle.out.fifo")
        try FifoSafety.create(path)
        let channel = OutputChannel(path: path)
        try channel.open()   // no writer anywhere: must return at once
        let loop = try EventLoop()
        _ = Drain(channel, loop: loop)
        var fired = 0
        loop.schedule(after: 0.01, repeating: 0.01) { fired += 1 }
        #expect(spin(loop, timeout: 10) { fired >= 5 })
        // No busy polling: a handful of wake-ups for five timer firings.
        #expect(loop.wakeups < 50)
    }

    @Test func recreatedFifoIsNoticedByInode() throws {
        let tmp = TempDir()
        let path = tmp.file("a.out.fifo")
        try FifoSafety.create(path)
        let channel = OutputChannel(path: path)
        try channel.open()
        #expect(!channel.isStale())
        unlink(path)
        #expect(channel.isStale())
        try FifoSafety.create(path)
        #expect(channel.isStale())
        try channel.open()
        #expect(!channel.isStale())
    }

    @Test func sendWithNoReaderFailsWithinTheTimeout() throws {
        let tmp = TempDir()
        let path = tmp.file("a.in.fifo")
        try FifoSafety.create(path)
        let start = MonotonicClock.now()
        let result = PromptWriter().send(Array("hi\n".utf8), to: path, timeout: 0.3)
        let elapsed = MonotonicClock.now() - start
        guard case .agentNotListening = result.failure else {
            Issue.record("expected agentNotListening, got \(result)")
            return
        }
        #expect(elapsed >= 0.3)
        #expect(elapsed < 5, "send must give up near its timeout, not hang")
    }

    @Test func sendReachesAReaderThatReopensPerPrompt() throws {
        let tmp = TempDir()
        let path = tmp.file("a.in.fifo")
        try FifoSafety.create(path)
        // Like the upstream agent: blocking open, read to EOF, reopen.
        let agent = try Child.python("""
        import sys
        got = []
        while len(got) < 50:
            with open(sys.argv[1], "rb") as f:
                for line in f:
                    got.append(line.strip())
        sys.stdout.write("|".join(x.decode() for x in got))
        """, [path])
        let writer = PromptWriter()
        for i in 0..<50 {
            let result = writer.send(Array("prompt \(i)\n".utf8), to: path, timeout: 10)
            #expect(result.failure == nil, "prompt \(i): \(String(describing: result.failure))")
        }
        #expect(agent.waitForExit(timeout: 20))
        let output = agent.output()
        #expect(output == (0..<50).map { "prompt \($0)" }.joined(separator: "|"))
    }

    @Test func writeAllCompletesPartialWritesAndRetriesEINTRAndEAGAIN() throws {
        let tmp = TempDir()
        let path = tmp.file("a.in.fifo")
        try FifoSafety.create(path)
        let reader = try FifoSafety.open(path, flags: O_RDONLY)
        defer { close(reader) }
        // A write that accepts at most 3 bytes per call and fails with EINTR/EAGAIN in between.
        final class Script: @unchecked Sendable { var calls = 0 }
        let script = Script()
        var syscalls = Syscalls.live
        syscalls.write = { fd, buffer, count in
            script.calls += 1
            switch script.calls % 3 {
            case 1: errno = EINTR; return -1
            case 2: errno = EAGAIN; return -1
            default: return Glibc.write(fd, buffer, min(count, 3))
            }
        }
        let writer = PromptWriter(syscalls: syscalls)
        guard case .opened(let fd) = writer.tryOpen(path) else { Issue.record("open failed"); return }
        defer { close(fd) }
        let message = Array("hello, partial world\n".utf8)
        #expect(writer.writeAll(fd, message, deadline: MonotonicClock.now() + 5).failure == nil)
        var got = [UInt8](repeating: 0, count: 64)
        let n = read(reader, &got, 64)
        #expect(Array(got[0..<max(0, n)]) == message)
    }

    @Test func epipeIsReportedNotASignal() throws {
        var syscalls = Syscalls.live
        syscalls.write = { _, _, _ in errno = EPIPE; return -1 }
        let writer = PromptWriter(syscalls: syscalls)
        #expect(writer.writeAll(0, [1, 2, 3], deadline: MonotonicClock.now() + 1).failure == .brokenPipe)
    }

    @Test func fullPipeTimesOutInsteadOfBlocking() throws {
        let tmp = TempDir()
        let path = tmp.file("a.in.fifo")
        try FifoSafety.create(path)
        let reader = try FifoSafety.open(path, flags: O_RDONLY)   // never read from
        defer { close(reader) }
        let writer = PromptWriter()
        guard case .opened(let fd) = writer.tryOpen(path) else { Issue.record("open failed"); return }
        defer { close(fd) }
        let big = [UInt8](repeating: 0x41, count: 4 << 20)
        let result = writer.writeAll(fd, big, deadline: MonotonicClock.now() + 0.3)
        guard case .timedOut(let written, let total) = result.failure else {
            Issue.record("expected a timeout, got \(result)")
            return
        }
        #expect(written > 0 && written < total)
    }

    @Test func eventLoopPostWakesItFromAnotherThread() throws {
        let loop = try EventLoop()
        final class Flag: @unchecked Sendable { var value = false }
        let flag = Flag()
        Thread.detachNewThread {
            usleep(20_000)
            loop.post { flag.value = true }
        }
        #expect(spin(loop, timeout: 10) { flag.value })
    }
}
