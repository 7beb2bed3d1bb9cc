// Start-up and shutdown of the agent binary: which FIFOs it creates and removes, how fast it
// stops, what it refuses, the supervisor, and the upstream Python client against plain mode.

import Foundation
import Testing
@testable import BridgeAgent
import BridgeCore

extension AgentEndToEnd {
    @Suite struct Lifecycle {
        @Test func createsBothFifosWithMode0660() throws {
            let f = try AgentFixture(["--echo"])
            for path in [f.pipes.inPath, f.pipes.outPath] {
                guard case .fifo(let mode, _, _, _) = FifoSafety.inspect(path) else {
                    Issue.record("\(path) is not a FIFO"); continue
                }
                #expect(mode == 0o660)
            }
        }

        @Test func sigtermStopsWithinOneSecondKillsTheChildAndRemovesOnlyWhatItCreated() throws {
            let f = try AgentFixture(["--exec", AgentEndToEnd.Children.sleeper]) { pipeDir in
                try FifoSafety.ensureDirectory(pipeDir)
                try FifoSafety.create(pipeDir + "/t.in.fifo")
            }
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("x")
            try reader.read(untilContains: "\n")
            let child = try #require(AgentEndToEnd.Children.pid(in: reader.text))
            let signalled = MonotonicClock.now()
            kill(f.agent.pid, SIGTERM)
            let code = f.agent.waitForExit(timeout: 10)
            let elapsed = MonotonicClock.now() - signalled
            #expect(code == 0)
            #expect(elapsed < 1.0, "the agent took \(elapsed) s to exit")
            #expect(Harness.waitUntil(timeout: 2) { !Harness.processAlive(child) }, "child \(child) survived")
            #expect(Harness.exists(f.pipes.inPath), "the pre-existing in-FIFO must stay")
            #expect(!Harness.exists(f.pipes.outPath), "the out-FIFO the agent created must go")
        }

        @Test func sigintAlsoStopsAndRemovesBothCreatedFifos() throws {
            let f = try AgentFixture(["--persistent", "cat"])
            let signalled = MonotonicClock.now()
            kill(f.agent.pid, SIGINT)
            #expect(f.agent.waitForExit(timeout: 10) == 0)
            #expect(MonotonicClock.now() - signalled < 1.0)
            #expect(!Harness.exists(f.pipes.inPath))
            #expect(!Harness.exists(f.pipes.outPath))
        }

        @Test func refusesASymlinkAndLeavesItAndItsTargetAlone() throws {
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let target = dir + "/target"
            FileManager.default.createFile(atPath: target, contents: Data("keep".utf8))
            symlink(target, dir + "/t.out.fifo")
            let agent = try AgentProcess(["serve", "--name", "t", "--pipe-dir", dir, "--echo"], directory: dir)
            #expect(agent.waitForExit(timeout: 20) == 2)
            #expect(agent.log.contains("symlink"), "\(agent.log)")
            #expect(FifoSafety.inspect(dir + "/t.out.fifo") == .symlink)
            #expect((try? String(contentsOfFile: target, encoding: .utf8)) == "keep")
            // The in-FIFO it had just created is removed again.
            #expect(!Harness.exists(dir + "/t.in.fifo"))
        }

        @Test func refusesARegularFileInPlaceOfAFifo() throws {
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            FileManager.default.createFile(atPath: dir + "/t.in.fifo", contents: Data("data".utf8))
            let agent = try AgentProcess(["serve", "--name", "t", "--pipe-dir", dir, "--echo"], directory: dir)
            #expect(agent.waitForExit(timeout: 20) == 2)
            #expect(agent.log.contains("regular file"), "\(agent.log)")
            #expect((try? String(contentsOfFile: dir + "/t.in.fifo", encoding: .utf8)) == "data")
        }

        @Test func scriptCrashExitsWithItsCodeAndSupervisorBringsTheAgentBack() throws {
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let pipes = HostPipes(directory: dir + "/pipes", name: "c")
            let supervisor = try AgentProcess(
                ["supervise", "--", "serve", "--name", "c", "--pipe-dir", pipes.directory, "--script", "crashy"],
                directory: dir)
            defer { supervisor.stop() }
            try pipes.waitForAgent()
            let reader = try pipes.reader()
            try pipes.sendLine("one")
            try reader.read(untilSuffix: marker)
            try pipes.sendLine("two")
            try reader.read(untilContains: "Reply two")
            try reader.read(untilSuffix: marker)
            try pipes.sendLine("three")
            #expect(Harness.waitUntil(timeout: 20) { supervisor.log.contains("agent exited with status 3; restarting in 1 s") },
                    "\(supervisor.log)")
            // The new agent answers with its first reply again.
            try pipes.waitForAgent()
            let again = try pipes.reader()
            try pipes.sendLine("four")
            try again.read(untilContains: "Reply one to: four")
            kill(supervisor.pid, SIGTERM)
            #expect(supervisor.waitForExit(timeout: 10) == 0)
            #expect(!Harness.exists(pipes.inPath) && !Harness.exists(pipes.outPath))
        }

        @Test func scriptCrashStopsMidReplyWithItsExitCode() throws {
            let scripts = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: scripts) }
            let path = scripts + "/crash.script"
            try "say fine\n---\nprint partial\ncrash 7\nsay never\n".write(toFile: path, atomically: true, encoding: .utf8)
            let f = try AgentFixture(["--script", path])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("one")
            try reader.read(untilSuffix: marker)
            try f.pipes.sendLine("two")
            #expect(f.agent.waitForExit(timeout: 10) == 7)
            _ = reader.drain(for: 0.3)
            #expect(reader.text == "fine\n" + marker + "partial")
            #expect(!Harness.exists(f.pipes.inPath) && !Harness.exists(f.pipes.outPath))
        }

        @Test func chattyScriptUsesColoursAndSpinnerFrames() throws {
            let f = try AgentFixture(["--script", "chatty"])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("demo")
            try reader.read(untilSuffix: marker)
            #expect(reader.text.contains("\r⠋ Thinking…"))
            #expect(reader.text.contains("\u{1B}[36mSure! You asked: demo"))
        }

        @Test func interruptAbortsAScriptedReply() throws {
            let f = try AgentFixture(["--script", "slow", "--protocol", "jsonl"])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine(#"{"id":"s","type":"prompt","text":"slowly"}"#)
            try reader.read(untilContains: #""data":"T""#)  // jsonl: one chunk per typed character
            try f.pipes.send("\u{03}")
            try reader.read(timeout: 10, untilContains: #"{"id":"s","type":"done","status":"interrupted","exit":130}"#)
        }
    }
}

// MARK: - The upstream host client

/// What cc-bridge's NamedPipeChannel does on the wire: a blocking open of the in-FIFO, one line,
/// close; then a blocking open of the out-FIFO, reading until the `❯` marker appears.
let upstreamClient = #"""
import os, sys
in_path, out_path, prompt = sys.argv[1], sys.argv[2], sys.argv[3]
with open(in_path, "w", encoding="utf-8") as f:
    f.write(prompt + "\n")
fd = os.open(out_path, os.O_RDONLY)
data = b""
while "\u276f".encode("utf-8") not in data:
    chunk = os.read(fd, 4096)
    if not chunk:
        os.close(fd)
        fd = os.open(out_path, os.O_RDONLY)
        continue
    data += chunk
os.close(fd)
sys.stdout.buffer.write(data)
"""#

extension AgentEndToEnd {
    @Suite struct Upstream {
        @Test func upstreamClientTalksToPlainMode() throws {
            guard access("/usr/bin/python3", X_OK) == 0 else {
                Issue.record("python3 is needed for this test"); return
            }
            let f = try AgentFixture(["--echo"])
            let script = f.directory + "/upstream_client.py"
            try upstreamClient.write(toFile: script, atomically: true, encoding: .utf8)
            for (i, prompt) in ["hello", "Grüße aus Köln ✨", "third prompt"].enumerated() {
                let client = try AgentProcess([script, f.pipes.inPath, f.pipes.outPath, prompt],
                                              directory: f.directory, program: "/usr/bin/python3", log: "client\(i).out")
                #expect(client.waitForExit(timeout: 30) == 0)
                let out = client.log
                #expect(out == prompt + "\n" + marker, "\(out.debugDescription)")
            }
        }
    }
}
