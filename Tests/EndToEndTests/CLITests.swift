// CLITests: the cc-bridge-tui commands as a user runs them, against real FIFOs and a small agent.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct CLITests {
    /// A small upstream-style agent: blocking reads of the in-FIFO, an echo reply and a ❯ marker
    /// written with an open/write/close per chunk, like cc-bridge's container_agent.py.
    static let upstreamStyleAgent = """
    import os, sys
    d, name = sys.argv[1], sys.argv[2]
    inp, out = f"{d}/{name}.in.fifo", f"{d}/{name}.out.fifo"
    while True:
        with open(inp, "rb") as f:
            for raw in f:
                line = raw.strip()
                if not line: continue
                if line == b"quit": sys.exit(0)
                for chunk in (b"\\x1b[32mecho:\\x1b[0m " + line + b"\\n", "\\u276f ".encode()):
                    fd = os.open(out, os.O_WRONLY)
                    os.write(fd, chunk)
                    os.close(fd)
    """

    @Test func sendAndTailFollowRoundTripAPrompt() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        let agent = try Running("/usr/bin/env", ["python3", "-c", Self.upstreamStyleAgent, pipes, "bot"])
        defer { agent.signal(SIGKILL) }
        let tail = try Running(tui, ["tail", "bot", "--follow", "--pipe-dir", pipes])
        defer { tail.signal(SIGKILL) }
        usleep(200_000)
        let sent = try run(tui, ["send", "bot", "hello", "world", "--pipe-dir", pipes, "--timeout", "10"])
        #expect(sent.status == 0, "send failed: \(sent.stderr)")
        #expect(eventually { tail.stdout.contains("echo: hello world\n❯") }, "tail printed: \(tail.stdout.debugDescription)")
        #expect(!tail.stdout.contains("\u{1B}"), "tail output must be sanitized")
        tail.signal(SIGINT)
        _ = tail.wait(timeout: 5)
    }

    @Test func tailRawKeepsTheBytes() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        let agent = try Running("/usr/bin/env", ["python3", "-c", Self.upstreamStyleAgent, pipes, "bot"])
        defer { agent.signal(SIGKILL) }
        let tail = try Running(tui, ["tail", "bot", "--follow", "--raw", "--pipe-dir", pipes])
        defer { tail.signal(SIGKILL) }
        usleep(200_000)
        #expect(try run(tui, ["send", "bot", "x", "--pipe-dir", pipes, "--timeout", "10"]).status == 0)
        #expect(eventually { tail.stdout.contains("\u{1B}[32mecho:\u{1B}[0m x\n") })
    }

    @Test func sendWithNoAgentExitsOneWithinTheTimeout() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "nobody", "--pipe-dir", pipes]).status == 0)
        let start = Date()
        let result = try run(tui, ["send", "nobody", "hi", "--pipe-dir", pipes, "--timeout", "0.5"], timeout: 10)
        #expect(result.status == 1)
        #expect(result.stderr.contains("agent not listening"))
        #expect(Date().timeIntervalSince(start) < 8)
    }

    @Test func badConfigExitsTwoWithFileLineAndKey() throws {
        let scratch = Scratch()
        let config = scratch.file("config.yaml")
        try "docker:\n  pipe_dir: /tmp/x\n  session:\n    idle_timeout: soon\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try run(try Binaries.tui, ["list", "--config", config])
        #expect(result.status == 2)
        #expect(result.stderr.contains("config.yaml:4: docker.session.idle_timeout: expected a number, got \"soon\""))
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try run(try Binaries.tui, ["send"]).status == 2)
        #expect(try run(try Binaries.tui, ["send", "../etc", "x"]).status == 2)
    }

    @Test func listShowsBrokenInstancesWithTheReason() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "ok", "--pipe-dir", pipes]).status == 0)
        #expect(mkfifo(pipes + "/half.in.fifo", 0o660) == 0)
        let result = try run(tui, ["list", "--json", "--pipe-dir", pipes])
        #expect(result.status == 0)
        let doc = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let rows = doc?["instances"] as? [[String: Any]] ?? []
        #expect(rows.map { $0["name"] as? String } == ["half", "ok"])
        #expect(rows.first?["reason"] as? String == "out-FIFO missing")
        #expect(rows.last?["status"] as? String == "ready")
        #expect(rows.last?["listening"] as? Bool == false)
    }
}
