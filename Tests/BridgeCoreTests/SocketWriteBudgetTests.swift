// SocketWriteBudgetTests: IPCConnections on real socket pairs sharing one SocketWriteBudget,
// read at once by the test (clients that keep up). While output is drained turn after turn, the
// connections together write no more than `share` times the drained bytes (plus a starved
// connection's trickle); an answer queued behind others that take all the credit still leaves
// while the drain goes on; once a turn drains nothing, every connection catches up at once, and
// output the drain keeps up with, however fast, never holds a client back. The
// server wires the budget to its drain: ServerCore reports every byte it reads, escapes included,
// and a drain that stopped at its read budget.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SocketWriteBudgetTests {
    /// `count` connections on one loop and one budget; the other ends for the test to read.
    final class Fan {
        let loop: EventLoop
        let budget: SocketWriteBudget
        var connections: [IPCConnection] = []
        var peers: [Int32] = []
        var arrived: [Int]

        init(count: Int, share: Int = 2, starvedWrite: Int = 16 << 10) throws {
            loop = try EventLoop()
            budget = SocketWriteBudget(loop: loop, share: share, starvedAfter: 0.05, starvedWrite: starvedWrite)
            arrived = Array(repeating: 0, count: count)
            for _ in 0..<count {
                var fds: [Int32] = [0, 0]
                guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw SystemError("socketpair") }
                _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
                var size: Int32 = 4 << 20   // room for everything: only the budget holds bytes back
                setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                let connection = IPCConnection(fd: fds[0], loop: loop, maxFrameBytes: 1 << 20, pauseReadingAbove: 64 << 20)
                connection.writeBudget = budget
                connection.start()
                connections.append(connection)
                peers.append(fds[1])
            }
        }

        deinit {
            for connection in connections { connection.close() }
            for fd in peers { close(fd) }
        }

        /// Reads every peer as far as it can (a client that keeps up); returns the bytes read now.
        @discardableResult
        func readAll() -> Int {
            var total = 0
            var buffer = [UInt8](repeating: 0, count: 256 << 10)
            for (index, fd) in peers.enumerated() {
                while true {
                    let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                    if n <= 0 { break }
                    arrived[index] += n
                    total += n
                }
            }
            return total
        }

        var queued: Int { connections.reduce(0) { $0 + $1.queuedBytes } }

        /// A drain that read `bytes` and stopped at its read budget (the agent is ahead).
        func drainedBehind(_ bytes: Int) {
            budget.fellBehind()
            budget.drained(bytes)
        }
    }

    static func frame(_ bytes: Int) -> [UInt8] {
        IPCMessage.event(IPCEvent(name: "output", data: [:], attachment: [UInt8](repeating: 0x61, count: bytes))).encoded()
    }

    @Test func whileOutputIsDrainedTheConnectionsTogetherWriteTheirShareAndNoMore() throws {
        let fan = try Fan(count: 8)
        let chunk = 64 << 10, turns = 20
        let frame = Self.frame(chunk)
        var written = 0
        let started = MonotonicClock.now()
        for _ in 0..<turns {
            fan.loop.runOnce(timeout: 0)
            fan.drainedBehind(chunk)
            for connection in fan.connections { connection.send(frame) }
            written += fan.readAll()
        }
        // Twice the drained bytes in credit, plus 16 KiB per connection for each 50 ms it starved.
        let starvedRounds = Int((MonotonicClock.now() - started) / 0.05) + 1
        let bound = 2 * chunk * turns + starvedRounds * 8 * (16 << 10)
        #expect(written <= bound, "wrote \(written) bytes while \(chunk * turns) were drained (bound \(bound))")
        #expect(written >= 2 * chunk * (turns - 1), "the connections did not get the credit the drain gave: \(written)")
        #expect(fan.queued > 0, "nothing was held back: every client got every frame during the flood")
        #expect(fan.budget.isLimited)

        // The flood is over: after a turn with no drain, every connection writes all it holds.
        for _ in 0..<50 where fan.queued > 0 {
            fan.loop.runOnce(timeout: 0.1)
            fan.readAll()
        }
        #expect(fan.queued == 0)
        #expect(!fan.budget.isLimited)
        #expect(fan.arrived.allSatisfy { $0 == frame.count * turns }, "\(fan.arrived)")
    }

    @Test func anAnswerBehindOthersThatTakeAllTheCreditStillLeavesWhileTheDrainGoesOn() throws {
        let fan = try Fan(count: 2, share: 1, starvedWrite: 1024)
        // The first connection always has more queued than the credit a turn brings, and its
        // descriptor comes first in the poll: without the trickle the second would never write.
        fan.drainedBehind(16)
        fan.connections[0].send(Self.frame(256 << 10))
        let answer = IPCMessage.response(id: 7, result: ["ok": true]).encoded()
        fan.connections[1].send(answer)
        let more = Self.frame(64)
        let deadline = MonotonicClock.now() + 2
        while fan.arrived[1] < answer.count && MonotonicClock.now() < deadline {
            fan.loop.runOnce(timeout: 0.005)
            fan.drainedBehind(16)
            fan.connections[0].send(more)   // more each turn than the turn's credit
            fan.readAll()
            #expect(fan.budget.isLimited)
        }
        #expect(fan.arrived[1] == answer.count, "an answer waited behind another client's flood")
        #expect(fan.connections[0].queuedBytes > 0, "the first connection was not holding the credit: nothing tested")
    }

    @Test func fastOutputTheDrainKeepsUpWithDoesNotHoldBackAClientCatchingUp() throws {
        // 256 KiB read every turn (a fast agent), every drain emptying its FIFO, while a client
        // takes a 4 MiB backlog: nothing to protect, so nothing is held back.
        let fan = try Fan(count: 1)
        let backlog = Self.frame(4 << 20)
        fan.budget.drained(256 << 10)
        fan.connections[0].send(backlog)
        for _ in 0..<200 where fan.arrived[0] < backlog.count {
            fan.loop.runOnce(timeout: 0.001)
            fan.budget.drained(256 << 10)
            fan.readAll()
        }
        #expect(fan.arrived[0] == backlog.count, "held back while the drain kept up: \(fan.arrived[0]) of \(backlog.count)")
        #expect(!fan.budget.isLimited)
        // The drain falls behind: from now on the writes follow it.
        fan.drainedBehind(256 << 10)
        #expect(fan.budget.isLimited)
    }

    @Test func theServerReportsEveryByteOfOutputItDrainsAndWhenItFallsBehind() throws {
        let f = try ServerFixture()
        var reported = 0, behind = 0
        f.core.onOutputDrained = { reported += $0 }
        f.core.onDrainFellBehind = { behind += 1 }
        let out = f.dir + "/a" + InstanceScanner.outSuffix
        _ = try FifoSafety.create(f.dir + "/a" + InstanceScanner.inSuffix)
        _ = try FifoSafety.create(out)
        #expect(f.spin { f.core.list().contains { $0.info.name == "a" } })
        let writer = open(out, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        try #require(writer >= 0)
        defer { close(writer) }
        // Styled: every byte read counts, escapes too (they cost the wire more than the text does).
        let lines = (1...2000).map { "line \($0) of the \u{1B}[1;31mflood\u{1B}[0m\n" }.joined()
        let bytes = Array(lines.utf8)
        var done = 0
        #expect(f.spin {
            if done < bytes.count {
                let n = bytes[done...].withUnsafeBytes { Glibc.write(writer, $0.baseAddress, $0.count) }
                if n > 0 { done += n }
            }
            return reported == bytes.count
        }, "reported \(reported) of \(bytes.count) bytes")
        #expect(behind == 0, "a drain that emptied its FIFO said it fell behind")

        // A writer faster than the server (a thread writing 16 MiB without pause): some drain
        // reads its whole budget while more keeps coming, and says it fell behind.
        let flooding = Thread {
            let fd = open(out, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return }
            let block = [UInt8](repeating: 0x61, count: 1023) + [0x0A]
            for _ in 0..<(16 << 10) where block.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
            close(fd)
        }
        flooding.start()
        #expect(f.spin(60) { behind > 0 }, "no drain fell behind a writer that never paused")
        _ = f.spin(60) { flooding.isFinished }
    }
}
