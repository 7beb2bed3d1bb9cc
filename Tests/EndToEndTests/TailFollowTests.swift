// TailFollowTests: `cc-bridge-tui tail --follow` through an agent restart, with the real agent:
// its FIFOs vanish when it exits (it removes the pipes it created) and come back with the next
// agent; tail waits for them, reopens, says so once on standard error, and prints the new
// agent's output.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct TailFollowTests {
    static func startAgent(_ pipes: String) throws -> Running {
        let agent = try Running(try Binaries.agent, ["serve", "--name", "bot", "--pipe-dir", pipes, "--protocol", "plain",
                                                     "--heartbeat", "0", "--echo"])
        let fifos = ["/bot.in.fifo", "/bot.out.fifo"].map { pipes + $0 }
        #expect(eventually { fifos.allSatisfy { FileManager.default.fileExists(atPath: $0) } }, "agent made no FIFOs")
        return agent
    }

    @Test func tailFollowKeepsFollowingThroughAnAgentRestart() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        var agent = try Self.startAgent(pipes)
        defer { agent.signal(SIGKILL) }
        let tail = try Running(tui, ["tail", "bot", "--follow", "--pipe-dir", pipes])
        defer { tail.signal(SIGKILL) }
        usleep(300_000)
        #expect(try run(tui, ["send", "bot", "before-restart", "--pipe-dir", pipes, "--timeout", "10"]).status == 0)
        #expect(eventually { tail.stdout.contains("before-restart") }, "tail printed: \(tail.stdout.debugDescription)")

        // The agent stops and removes its FIFOs; they stay away for longer than tail's rescans.
        agent.signal(SIGTERM)
        #expect(agent.wait(timeout: 10) != nil)
        #expect(!FileManager.default.fileExists(atPath: pipes + "/bot.out.fifo"), "the agent removes its FIFOs")
        usleep(2_500_000)
        #expect(tail.wait(timeout: 0) == nil, "tail exited while the pipes were gone: \(tail.stderr)")

        agent = try Self.startAgent(pipes)
        let sent = try run(tui, ["send", "bot", "after-restart", "--pipe-dir", pipes, "--timeout", "10"])
        #expect(sent.status == 0, "send failed: \(sent.stderr)")
        #expect(eventually { tail.stdout.contains("after-restart") }, "tail printed: \(tail.stdout.debugDescription)")
        // One line while waiting, one when back; no read error.
        let notices = tail.stderr.split(separator: "\n")
        #expect(notices.count == 2, "stderr: \(tail.stderr.debugDescription)")
        #expect(notices.first?.contains("waiting for them to come back") == true)
        #expect(notices.last?.contains("pipes are back") == true)
        #expect(!tail.stderr.contains("Bad file descriptor"))
        tail.signal(SIGINT)
        _ = tail.wait(timeout: 5)
    }

    @Test func tailFollowReopensAReplacedOutFifoWithOneNotice() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        let tail = try Running(tui, ["tail", "bot", "--follow", "--pipe-dir", pipes])
        defer { tail.signal(SIGKILL) }
        usleep(300_000)
        let out = pipes + "/bot.out.fifo"
        // Swapped at once (no moment without a FIFO), as a container restart with a bind mount does.
        #expect(unlink(out) == 0 && mkfifo(out, 0o600) == 0)
        // Blocks until tail has reopened the new FIFO (its next rescan).
        let writer = try Running("/bin/sh", ["-c", "printf 'after the swap\\n' > \"$0\"", out])
        defer { writer.signal(SIGKILL) }
        #expect(eventually { tail.stdout.contains("after the swap\n") }, "tail printed: \(tail.stdout.debugDescription)")
        #expect(tail.stderr.split(separator: "\n").count == 1, "stderr: \(tail.stderr.debugDescription)")
        #expect(tail.stderr.contains("out-FIFO was replaced"))
    }
}
