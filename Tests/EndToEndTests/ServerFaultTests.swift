// ServerFaultTests: the server's fault rows of issue 13 that concern its socket and its clients,
// with the real `cc-bridge-tui serve` (detached, private state and runtime directories):
// - its socket file removed while it runs: it listens there again within a second, a client
//   connected before keeps its connection, and a `send` made at once still goes through;
// - its socket file replaced by a regular file: `server status` and `send` exit 1 saying what is
//   in the way and what to do; the server leaves the file alone and listens again once it is gone;
// - one `tail --follow` client stopped (SIGSTOP) and another killed (SIGKILL) mid-flood: the
//   server drains the whole flood meanwhile, the other client gets every line once and in order,
//   and the stopped one, resumed, says it fell behind and catches up with every line once.

import BridgeCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct ServerFaultTests {
    static func endpoint(_ s: ServerScratch) -> IPCEndpoint { IPCEndpoint(pipeDirectory: s.pipes, environment: s.environment) }

    @Test func theSocketRemovedWhileTheServerRunsIsMadeAgainAndCommandsGoOn() throws {
        let s = try ServerScratch()
        let agent = try ServerTests.startAgent(s)
        defer { agent.signal(SIGKILL) }
        let pid = try s.startServer()
        #expect(try eventually { try s.tui(["list"]).stdout.contains("idle") }, "the server never read bot")
        let before = try ServerTests.Subscriber(s)
        #expect(before.pump { before.subscribed })
        let socket = Self.endpoint(s).socketPath
        #expect(unlink(socket) == 0)
        // At once: the command waits the moment it takes the server to listen again.
        let sent = try s.tui(["send", "bot", "after the socket was removed"])
        #expect(sent.status == 0, "send: \(sent.stdout) \(sent.stderr)")
        #expect(sent.stdout.contains("delivered to bot through the server"), "send: \(sent.stdout)")
        #expect(eventually { s.logText.contains("the socket \(socket) is gone; listening there again") }, "log: \(s.logText)")
        // The connection made before the removal is still served.
        #expect(before.pump { before.lines.byID.values.contains("after the socket was removed") }, "events: \(before.events.map(\.name))")
        let status = try s.tui(["server", "status"])
        #expect(status.status == 0, "status: \(status.stdout) \(status.stderr)")
        #expect(status.stdout.contains("pid      \(pid)"))
        #expect(ServerScratch.alive(pid))
    }

    @Test func aSocketReplacedByAFileGivesAClearMessageAndTheServerListensAgainOnceItIsGone() throws {
        let s = try ServerScratch()
        let agent = try ServerTests.startAgent(s)
        defer { agent.signal(SIGKILL) }
        let pid = try s.startServer()
        #expect(try eventually { try s.tui(["list"]).stdout.contains("idle") }, "the server never read bot")
        let socket = Self.endpoint(s).socketPath
        #expect(unlink(socket) == 0)
        try "not a socket\n".write(toFile: socket, atomically: false, encoding: .utf8)
        let advice = "the server (pid \(pid)) runs but its socket \(socket) is a regular file, not a socket: remove it"
        let status = try s.tui(["server", "status"])
        #expect(status.status == 1, "status: \(status.stdout) \(status.stderr)")
        #expect(status.stderr.contains(advice) && status.stderr.contains("`cc-bridge-tui server stop` and start it again"),
                "status stderr: \(status.stderr)")
        let sent = try s.tui(["send", "bot", "while a file is in the way"])
        #expect(sent.status == 1, "send: \(sent.stdout) \(sent.stderr)")
        #expect(sent.stderr.contains(advice), "send stderr: \(sent.stderr)")
        #expect(eventually { s.logText.contains("the socket \(socket) is a regular file, not a socket; cannot listen there") },
                "log: \(s.logText)")
        // The server leaves a file it did not make alone.
        #expect((try? String(contentsOfFile: socket, encoding: .utf8)) == "not a socket\n")
        #expect(ServerScratch.alive(pid))
        #expect(unlink(socket) == 0)
        #expect(try eventually { try s.tui(["server", "status"]).status == 0 }, "log: \(s.logText)")
        let again = try s.tui(["send", "bot", "once the file is gone"])
        #expect(again.status == 0, "send: \(again.stdout) \(again.stderr)")
        #expect(try eventually { try s.tui(["history", "bot"]).stdout.contains("once the file is gone") })
        #expect(!(try s.tui(["history", "bot"]).stdout.contains("while a file is in the way")), "a refused send was recorded")
    }

    /// 11 MiB of numbered lines, more than one client's queue (8 MiB) and the socket buffers
    /// hold, less than the server keeps per instance (16 MiB), so a resumed client can catch up.
    static let floodLines = 110_000

    static func line(_ i: Int) -> String {
        "flood \(String(format: "%06d", i)) " + String(repeating: "abcdefghij", count: 9)
    }

    @Test func aClientStoppedAndAnotherKilledMidFloodLeaveTheDrainAndTheOtherClientWhole() throws {
        let s = try ServerScratch()
        try FifoSafety.create(s.pipes + "/flood.in.fifo")
        try FifoSafety.create(s.pipes + "/flood.out.fifo")
        _ = try s.startServer()
        #expect(try eventually { try s.tui(["list"]).stdout.contains("flood") }, "the server never listed flood")
        func tail() throws -> Running {
            try Running(try Binaries.tui, ["tail", "flood", "--follow", "--pipe-dir", s.pipes], environment: s.environment)
        }
        let reader = try tail(), stopped = try tail(), killed = try tail()
        defer { for t in [reader, stopped, killed] { t.signal(SIGCONT); t.signal(SIGKILL) } }
        // Each is subscribed once the server counts it (3 tails + this status call).
        #expect(try eventually { try s.tui(["server", "status"]).stdout.contains("clients  4") }, "status never showed 4 clients")
        kill(stopped.process.processIdentifier, SIGSTOP)
        let count = Self.floodLines
        let writer = try Running("/usr/bin/python3", ["-c", """
            import os, sys
            fd = os.open(sys.argv[1], os.O_WRONLY)
            data = "".join("flood %06d %s\\n" % (i, "abcdefghij" * 9) for i in range(1, \(count) + 1)).encode()
            half = len(data) // 2
            view = memoryview(data)
            sent = 0
            while sent < len(data):
                sent += os.write(fd, view[sent:sent + 65536])
                if sent >= half and not os.path.exists(sys.argv[2]):
                    open(sys.argv[2], "w").close()
            os.close(fd)
            """, s.pipes + "/flood.out.fifo", s.scratch.file("half")])
        defer { writer.signal(SIGKILL) }
        // Half way through, one client is killed outright.
        #expect(eventually(timeout: 60) { FileManager.default.fileExists(atPath: s.scratch.file("half")) })
        killed.signal(SIGKILL)
        // The server drains the whole flood while one client is stopped and one is dead.
        let wrote = writer.wait(timeout: 120)
        #expect(wrote?.status == 0, "writer: \(wrote?.stderr ?? "still running")")
        let last = Self.line(count) + "\n"
        #expect(eventually(timeout: 120) { reader.stdout.hasSuffix(last) }, "the reading client stopped at \(reader.stdout.suffix(200))")
        Self.expectEveryLineOnce(reader.stdout, count: count, who: "the reading client")
        // The dead client's connection is gone (2 tails + this status call).
        #expect(try eventually { try s.tui(["server", "status"]).stdout.contains("clients  3") }, "the killed client is still counted")
        // The stopped one, resumed, says it fell behind and catches up from what the server keeps.
        kill(stopped.process.processIdentifier, SIGCONT)
        #expect(eventually(timeout: 120) { stopped.stdout.hasSuffix(last) }, "the resumed client stopped at \(stopped.stdout.suffix(200))")
        #expect(stopped.stderr.contains("fell behind: the server skipped"), "the resumed client: \(stopped.stderr)")
        Self.expectEveryLineOnce(stopped.stdout, count: count, who: "the resumed client")
    }

    static func expectEveryLineOnce(_ text: String, count: Int, who: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == count, "\(who) printed \(lines.count) lines, not \(count)")
        var expected = 1
        for line in lines {
            guard line == Self.line(expected) else {
                Issue.record("\(who): line \(expected) is \(line.prefix(40).debugDescription)")
                return
            }
            expected += 1
        }
    }
}
