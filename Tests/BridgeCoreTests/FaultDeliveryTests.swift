// FaultDeliveryTests: a reader that leaves between our open and our first write (the upstream
// agent reopens the in-FIFO per prompt) makes write fail with EPIPE before a byte went in: the
// prompt is retried, not failed. EPIPE after part of a prompt went in is still reported.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// Fails the first `count` writes with EPIPE.
final class EPIPEOnce: @unchecked Sendable {
    let lock = NSLock()
    var left: Int
    init(_ count: Int) { left = count }
    func take() -> Bool { lock.withLock { if left > 0 { left -= 1; return true } else { return false } } }
}

/// Bytes one thread reads and another checks.
final class ReceivedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    var value: [UInt8] { lock.withLock { bytes } }
    func append(_ more: ArraySlice<UInt8>) { lock.withLock { bytes += more } }
}

@Suite struct FaultDeliveryTests {
    /// A writer whose first writes fail with EPIPE as `fail` says; with `partial`, the first write
    /// puts one byte in and every later one fails.
    func failingWriter(fail: EPIPEOnce, partial: Bool = false) -> PromptWriter {
        var syscalls = Syscalls.live
        let calls = EPIPEOnce(0)
        syscalls.write = { fd, buffer, count in
            let call = calls.lock.withLock { calls.left += 1; return calls.left }
            if partial {
                // One byte goes in, then the reader is gone.
                if call == 1 { return Syscalls.live.write(fd, buffer, 1) }
                errno = EPIPE
                return -1
            }
            if fail.take() {
                errno = EPIPE
                return -1
            }
            return Syscalls.live.write(fd, buffer, count)
        }
        return PromptWriter(syscalls: syscalls)
    }

    func delivery(_ path: String, _ loop: EventLoop, fail: EPIPEOnce, partial: Bool = false,
                  done: @escaping (String, SendError?) -> Void) -> PromptDelivery {
        PromptDelivery(path: path, loop: loop, writer: failingWriter(fail: fail, partial: partial), completion: done)
    }

    @Test func synchronousSendOpensAgainAfterEPIPEBeforeAnyByte() throws {
        // `cc-bridge-tui send` (PromptWriter.send): the same race, the same answer. Seen as a flaky
        // sendReachesAReaderThatReopensPerPrompt under load before send retried.
        let tmp = TempDir()
        let path = tmp.file("a.in.fifo")
        try FifoSafety.create(path)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let fail = EPIPEOnce(2)
        // The agent side reads on another thread (send waits until the bytes were taken).
        let got = ReceivedBytes()
        let readerFD = reader
        let readerThread = Thread {
            var buffer = [UInt8](repeating: 0, count: 64)
            let start = Date()
            while got.value.count < 6 && Date().timeIntervalSince(start) < 10 {
                let n = read(readerFD, &buffer, buffer.count)
                if n > 0 { got.append(buffer[0..<n]) } else { usleep(1000) }
            }
        }
        readerThread.start()
        let result = failingWriter(fail: fail).send(Array("hello\n".utf8), to: path, timeout: 5)
        #expect(result.failure == nil, "\(String(describing: result.failure))")
        for _ in 0..<1000 where got.value.count < 6 { usleep(10_000) }
        #expect(got.value == Array("hello\n".utf8))
        #expect(fail.left == 0)
    }

    @Test func epipeBeforeAnyByteIsRetried() throws {
        let tmp = TempDir()
        let path = tmp.file("a.in.fifo")
        try FifoSafety.create(path)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let loop = try EventLoop()
        var results: [(String, SendError?)] = []
        let d = delivery(path, loop, fail: EPIPEOnce(2)) { results.append(($0, $1)) }
        d.enqueue(.init(promptID: "p1", bytes: Array("hello\n".utf8), timeout: 5))
        // The reader reads as an agent does: delivery completes once the bytes were taken.
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(spin(loop, timeout: 10) {
            let n = read(reader, &buffer, buffer.count)
            if n > 0 { got += buffer[0..<n] }
            return results.count == 1
        })
        #expect(results.first?.0 == "p1")
        #expect(results.first?.1 == nil, "\(String(describing: results.first?.1))")
        #expect(String(decoding: got, as: UTF8.self) == "hello\n")
    }

    @Test func epipeAfterPartOfThePromptIsReported() throws {
        let tmp = TempDir()
        let path = tmp.file("a.in.fifo")
        try FifoSafety.create(path)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let loop = try EventLoop()
        var results: [(String, SendError?)] = []
        let d = delivery(path, loop, fail: EPIPEOnce(1), partial: true) { results.append(($0, $1)) }
        d.enqueue(.init(promptID: "p1", bytes: Array("hello\n".utf8), timeout: 5))
        #expect(spin(loop, timeout: 10) { results.count == 1 })
        #expect(results.first?.1 == .brokenPipe)
    }
}
