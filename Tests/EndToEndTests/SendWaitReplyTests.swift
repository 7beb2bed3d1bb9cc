// SendWaitReplyTests: `cc-bridge-tui send NAME --wait-reply` (issue 12) against real FIFOs and a
// real cc-bridge-agent: the reply on standard output when the turn ends (framed: the `done` of
// the prompt's id; plain: the ❯ marker), exit 5 when it does not end in time, and exit 1 without
// sending when another process reads the instance (the ReaderLock).

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SendWaitReplyTests {
    struct Fixture {
        let scratch = Scratch()
        var pipes: String { scratch.file("pipes") }
        var environment: [String: String] { ["XDG_STATE_HOME": scratch.file("state"), "HOME": scratch.path] }
        var agents: [Running] = []

        /// Starts cc-bridge-agent for `name` and waits until it holds its instance lock.
        mutating func agent(_ name: String, _ arguments: [String]) throws {
            agents.append(try Running(try Binaries.agent, ["serve", "--name", name, "--pipe-dir", pipes] + arguments,
                                      environment: environment))
            let lock = pipes + "/" + name + ".lock"
            #expect(eventually { FileManager.default.fileExists(atPath: lock) && FileManager.default.fileExists(atPath: pipes + "/" + name + ".out.fifo") })
        }

        func send(_ arguments: [String]) throws -> Finished {
            try run(try Binaries.tui, ["send"] + arguments + ["--pipe-dir", pipes], timeout: 30, environment: environment)
        }

        func stop() { for agent in agents { agent.signal(SIGKILL); _ = agent.wait(timeout: 5) } }
    }

    @Test func framedReplyIsPrintedWhenItsDoneArrives() throws {
        var f = Fixture()
        defer { f.stop() }
        let script = f.scratch.file("two-lines.script")
        try "say first line of {prompt}\nsleep 300\nprint last, unterminated\n".write(toFile: script, atomically: true, encoding: .utf8)
        try f.agent("framed", ["--protocol", "jsonl", "--script", script])
        let result = try f.send(["framed", "what now", "--wait-reply", "--timeout", "20"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "first line of what now\nlast, unterminated\n", "\(result.stdout.debugDescription)")
        #expect(!result.stdout.contains("\"type\""))   // the frames are decoded, not printed
    }

    @Test func plainReplyEndsAtTheMarker() throws {
        var f = Fixture()
        defer { f.stop() }
        try f.agent("plain", ["--echo"])
        let result = try f.send(["plain", "hello plain", "--wait-reply", "--timeout", "20"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "hello plain\n", "\(result.stdout.debugDescription)")
        #expect(!result.stdout.contains("❯"))
    }

    @Test func aTurnThatDoesNotEndInTimeIsExitFive() throws {
        var f = Fixture()
        defer { f.stop() }
        let script = f.scratch.file("slow.script")
        try "say started {prompt}\nsleep 20000\nsay too late\n".write(toFile: script, atomically: true, encoding: .utf8)
        try f.agent("slowf", ["--protocol", "jsonl", "--script", script])
        try f.agent("slowp", ["--script", script])
        for name in ["slowf", "slowp"] {
            let result = try f.send([name, "x", "--wait-reply", "--timeout", "1"])
            #expect(result.status == 5, "\(name): \(result.status) \(result.stderr)")
            #expect(result.stdout == "started x\n", "\(name): \(result.stdout.debugDescription)")
            #expect(result.stderr.contains("the turn did not end within 1 s"), "\(name): \(result.stderr)")
        }
    }

    /// A TUI (here `tail --follow`, the same ReaderLock) reads the instance: --wait-reply would
    /// split the stream with it, so it sends nothing, names the reader and points to the server.
    @Test func anotherReaderMeansExitOneAndNothingSent() throws {
        var f = Fixture()
        defer { f.stop() }
        let script = f.scratch.file("log.script")
        try "say got {prompt}\n".write(toFile: script, atomically: true, encoding: .utf8)
        try f.agent("busy", ["--script", script])
        let reader = try Running(try Binaries.tui, ["tail", "busy", "--follow", "--pipe-dir", f.pipes], environment: f.environment)
        defer { reader.signal(SIGKILL); _ = reader.wait(timeout: 5) }
        let lockDir = f.scratch.file("state") + "/cc-bridge-tui/history"
        #expect(eventually {
            ((try? FileManager.default.contentsOfDirectory(atPath: lockDir)) ?? []).contains { name in
                name.hasPrefix("busy.") && name.hasSuffix(".reader.lock")
                    && ((try? String(contentsOfFile: lockDir + "/" + name, encoding: .utf8)) ?? "").hasPrefix("\(reader.process.processIdentifier)")
            }
        })
        let result = try f.send(["busy", "not for you", "--wait-reply", "--timeout", "5"])
        #expect(result.status == 1, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("process \(reader.process.processIdentifier)"), "\(result.stderr)")
        #expect(result.stderr.contains("server"), "\(result.stderr)")
        #expect(result.stderr.contains("nothing was sent"), "\(result.stderr)")
        // The reader got no reply: nothing was sent.
        usleep(500_000)
        #expect(!reader.stdout.contains("got not for you"), "\(reader.stdout)")
    }
}
