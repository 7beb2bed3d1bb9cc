// OneShotSendTests: `cc-bridge-tui send`'s path (the TUI's PromptDelivery on a private loop)
// against real FIFOs: a reading agent, no agent, and an agent that holds the pipe without reading.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct OneShotSendTests {
    @Test func deliversToAReaderAndFailsWithoutOne() throws {
        let tmp = TempDir()
        let path = tmp.file("a.in.fifo")
        try FifoSafety.create(path)
        guard case .failure(.agentNotListening) = OneShotSend.send(Array("nobody\n".utf8), to: path, timeout: 0.3) else {
            Issue.record("no reader must be \"agent not listening\"")
            return
        }
        let reader = try Child.python("""
        import os, sys
        fd = os.open(sys.argv[1], os.O_RDONLY)
        data = b""
        while not data.endswith(b"\\n"):
            data += os.read(fd, 100)
        sys.stdout.write(data.decode())
        """, [path])
        #expect(try OneShotSend.send(Array("hello there\n".utf8), to: path, timeout: 10).get() == .read)
        #expect(reader.waitForExit(timeout: 10))
        #expect(reader.output() == "hello there\n")
    }

    /// Held open, never read: written once, then reported "written, not yet read" when the
    /// stall window passes.
    @Test func readerThatDoesNotReadGetsOneCopyAndANotReadReport() throws {
        let tmp = TempDir()
        let (path, holder) = try fifoWithIdleReader(in: tmp)
        #expect(holder >= 0)
        defer { close(holder) }
        #expect(try OneShotSend.send(Array("once\n".utf8), to: path, timeout: 0.2).get() == .writtenNotRead)
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = read(holder, &buffer, buffer.count)
        #expect(n == 5 && String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "once\n")
    }
}
