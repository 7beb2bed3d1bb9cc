// CLIConsistencyTests: the commands agree with each other (issue 12): one exit status and one
// message for an instance that does not exist, `pipes remove` reports like `create`, and `send`
// says on standard output what it delivered.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct CLIConsistencyTests {
    @Test func noSuchInstanceIsExitOneWithTheSameMessageEverywhere() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        let environment = ["XDG_STATE_HOME": scratch.file("state")]
        #expect(try run(tui, ["pipes", "create", "real", "--pipe-dir", pipes]).status == 0)
        let message = "cc-bridge-tui: no such instance \"ghost\": no FIFOs for it in \(pipes)"
        let commands: [[String]] = [
            ["history", "ghost"], ["status", "ghost"], ["health", "--component", "ghost"],
            ["send", "ghost", "hi", "--timeout", "0.2"], ["tail", "ghost"], ["pipes", "remove", "ghost"],
        ]
        for command in commands {
            let result = try run(tui, command + ["--pipe-dir", pipes], timeout: 20, environment: environment)
            #expect(result.status == 1, "\(command): exit \(result.status), \(result.stderr)")
            #expect(result.stderr.hasPrefix(message + "\n"), "\(command): \(result.stderr.debugDescription)")
        }
        // An instance whose pipes are gone but whose history is kept still has a history.
        let history = scratch.file("state") + "/cc-bridge-tui/history"
        try FileManager.default.createDirectory(atPath: history, withIntermediateDirectories: true)
        try "".write(toFile: history + "/old.jsonl", atomically: true, encoding: .utf8)
        let old = try run(tui, ["history", "old", "--pipe-dir", pipes], environment: environment)
        #expect(old.status == 0, "\(old.stderr)")
    }

    @Test func pipesRemoveReportsWhatItRemoved() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        #expect(unlink(pipes + "/bot.out.fifo") == 0)
        let removed = try run(tui, ["pipes", "remove", "bot", "--pipe-dir", pipes])
        #expect(removed.status == 0)
        #expect(removed.stdout == "removed \(pipes)/bot.in.fifo\nabsent  \(pipes)/bot.out.fifo\n")
    }

    @Test func sendPrintsWhatItDelivered() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        let agent = try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, pipes, "bot"])
        defer { agent.signal(SIGKILL) }
        let sent = try run(tui, ["send", "bot", "hello", "--pipe-dir", pipes, "--timeout", "10"])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout == "delivered to bot: 6 bytes, plain protocol (no turn id), read by the agent\n")
    }
}

extension CLIConsistencyTests {
    /// `send --interrupt` goes only to cc-bridge-agent: an upstream-style agent would get 0x03
    /// as a "^C" prompt line (issue 12), so nothing is sent and it says why.
    @Test func sendInterruptOnlyToAnAgentThatUnderstandsIt() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "up", "--pipe-dir", pipes]).status == 0)
        let upstream = try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, pipes, "up"])
        defer { upstream.signal(SIGKILL) }
        let refused = try run(tui, ["send", "up", "--interrupt", "--pipe-dir", pipes, "--timeout", "5"])
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("this agent cannot be interrupted"), "\(refused.stderr)")
        let ours = try Running(try Binaries.agent, ["serve", "--name", "ours", "--pipe-dir", pipes, "--echo"])
        defer { ours.signal(SIGKILL) }
        #expect(eventually { FileManager.default.fileExists(atPath: pipes + "/ours.lock") })
        let sent = try run(tui, ["send", "ours", "--interrupt", "--pipe-dir", pipes, "--timeout", "5"])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout == "delivered to ours: the interrupt byte 0x03, plain protocol (no turn id), read by the agent\n")
    }
}
