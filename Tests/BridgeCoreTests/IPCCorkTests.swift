// IPCConnection's cork on a real socket pair: frames sent while corked wait (nothing reaches the
// peer) and leave together at uncork, in order; a cork never holds bytes past the next poll turn.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct IPCCorkTests {
    /// The connection on one end of a stream socket pair, the other end for the test to read.
    final class Pair {
        let loop: EventLoop
        let connection: IPCConnection
        let peer: Int32

        init() throws {
            loop = try EventLoop()
            var fds: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw SystemError("socketpair") }
            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            connection = IPCConnection(fd: fds[0], loop: loop, maxFrameBytes: 1 << 20, pauseReadingAbove: 8 << 20)
            connection.start()
            peer = fds[1]
        }

        deinit {
            connection.close()
            close(peer)
        }

        /// What has arrived at the other end so far (never waits).
        func arrived() -> [UInt8] {
            var all: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(peer, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if n <= 0 { return all }
                all += buffer[0..<n]
            }
        }
    }

    static func frame(_ n: Int) -> [UInt8] { IPCMessage.event(IPCEvent(name: "e", data: ["n": .int(n)])).encoded() }

    @Test func corkedFramesWaitAndLeaveTogetherInOrderAtUncork() throws {
        let pair = try Pair()
        pair.connection.cork()
        for n in 1...3 { pair.connection.send(Self.frame(n)) }
        #expect(pair.arrived().isEmpty, "a corked connection wrote before uncork")
        #expect(pair.connection.queuedBytes == (1...3).map { Self.frame($0).count }.reduce(0, +))
        pair.connection.uncork()
        #expect(pair.arrived() == (1...3).flatMap(Self.frame))
        #expect(pair.connection.queuedBytes == 0)
        // Uncorked, a frame is written at once again.
        pair.connection.send(Self.frame(4))
        #expect(pair.arrived() == Self.frame(4))
    }

    @Test func aCorkHoldsNothingPastTheNextPollTurn() throws {
        let pair = try Pair()
        pair.connection.cork()
        pair.connection.send(Self.frame(1))
        #expect(pair.arrived().isEmpty)
        pair.loop.runOnce(timeout: 1)
        #expect(pair.arrived() == Self.frame(1), "the socket was writable: the queued frame goes at the poll turn")
    }
}
