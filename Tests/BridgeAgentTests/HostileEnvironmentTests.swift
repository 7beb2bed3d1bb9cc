// The agent binary in a hostile environment: its FIFOs, pipe directory and lock file deleted or
// replaced under it, a second agent for the same name, children that leave background processes
// behind or ignore interrupts, too few file descriptors. Real FIFOs, real processes.

import Foundation
import Testing
@testable import BridgeAgent
import BridgeCore

extension AgentEndToEnd {
    @Suite struct Hostile {
        /// Waits until the agent's log contains `text`; records the log when it never does.
        static func waitForLog(_ agent: AgentProcess, _ text: String, timeout: Double = 10) -> Bool {
            let seen = Harness.waitUntil(timeout: timeout) { agent.log.contains(text) }
            if !seen { Issue.record("the agent never logged \(text.debugDescription); log: \(agent.log)") }
            return seen
        }

        /// The number after `label ` in `text` (a pid a test child printed).
        static func number(after label: String, in text: String) -> pid_t? {
            guard let range = text.range(of: label + " ") else { return nil }
            return pid_t(text[range.upperBound...].prefix { $0.isNumber })
        }

        /// SIGKILLs leftovers a failing test would otherwise leave running.
        static func cleanUp(_ pids: [pid_t?]) {
            for case let pid? in pids where pid > 1 && Harness.processAlive(pid) { kill(pid, SIGKILL) }
        }

        // MARK: FIFOs, pipe directory, lock file

        @Test func inFifoDeletedWhileServingIsCreatedAgainAndLogged() throws {
            let f = try AgentFixture(["--echo"])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("one")
            try reader.read(untilSuffix: "one\n" + marker)
            #expect(unlink(f.pipes.inPath) == 0)
            #expect(Harness.waitUntil(timeout: 10) { FifoSafety.inspect(f.pipes.inPath) != .missing },
                    "the in-FIFO was never created again; log: \(f.agent.log)")
            guard Self.waitForLog(f.agent, "in-FIFO \(f.pipes.inPath) had been deleted") else { return }
            try f.pipes.sendLine("two")
            try reader.read(untilSuffix: "two\n" + marker)
        }

        @Test func inFifoReplacedByAnotherFifoIsReopened() throws {
            let f = try AgentFixture(["--echo"])
            let reader = try f.pipes.reader()
            #expect(unlink(f.pipes.inPath) == 0)
            try FifoSafety.create(f.pipes.inPath)
            guard Self.waitForLog(f.agent, "in-FIFO \(f.pipes.inPath) was replaced") else { return }
            try f.pipes.sendLine("through the new one")
            try reader.read(untilSuffix: "through the new one\n" + marker)
        }

        @Test func inFifoReplacedByARegularFileIsReportedLeftAloneAndRecoveredFrom() throws {
            let f = try AgentFixture(["--echo"])
            let reader = try f.pipes.reader()
            #expect(unlink(f.pipes.inPath) == 0)
            FileManager.default.createFile(atPath: f.pipes.inPath, contents: Data("keep".utf8))
            guard Self.waitForLog(f.agent, "is a regular file, not a FIFO") else { return }
            #expect(f.agent.log.contains("prompts cannot reach this agent"))
            usleep(1_200_000)  // a few more checks: still logged once, the file untouched
            #expect(f.agent.log.components(separatedBy: "is a regular file").count == 2, "\(f.agent.log)")
            #expect((try? String(contentsOfFile: f.pipes.inPath, encoding: .utf8)) == "keep")
            #expect(!f.agent.reap(), "the agent exited: \(f.agent.log)")
            // Once the file is gone the agent serves again.
            #expect(unlink(f.pipes.inPath) == 0)
            guard Self.waitForLog(f.agent, "had been deleted; created it again") else { return }
            try f.pipes.sendLine("back")
            try reader.read(untilSuffix: "back\n" + marker)
        }

        @Test func inFifoReplacedByASymlinkIsNotFollowed() throws {
            let f = try AgentFixture(["--echo"])
            let target = f.directory + "/target"
            FileManager.default.createFile(atPath: target, contents: Data("keep".utf8))
            #expect(unlink(f.pipes.inPath) == 0)
            #expect(symlink(target, f.pipes.inPath) == 0)
            guard Self.waitForLog(f.agent, "is a symlink; refusing to follow it") else { return }
            #expect((try? String(contentsOfFile: target, encoding: .utf8)) == "keep")
            #expect(FifoSafety.inspect(f.pipes.inPath) == .symlink)
        }

        @Test func pipeDirectoryReplacedIsCreatedAgainWithFifosAndLock() throws {
            let f = try AgentFixture(["--echo"])
            let pipeDir = f.pipes.directory
            #expect(rename(pipeDir, pipeDir + ".old") == 0)
            #expect(Harness.waitUntil(timeout: 10) {
                FifoSafety.inspect(f.pipes.inPath) != .missing && FifoSafety.inspect(f.pipes.outPath) != .missing
            }, "the FIFOs were never created again; log: \(f.agent.log)")
            #expect(Harness.exists(pipeDir + "/t.lock"), "the lock was not taken again in the new directory")
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("new dir")
            try reader.read(untilSuffix: "new dir\n" + marker)
            // The lock was taken again: a second agent in the new directory is refused.
            let second = try AgentProcess(["serve", "--name", "t", "--pipe-dir", pipeDir, "--echo"],
                                          directory: f.directory, log: "second.log")
            #expect(second.waitForExit(timeout: 20) == AgentLoop.lockHeldExitCode, "\(second.log)")
        }

        @Test func outFifoReplacedWhileAttachedMovesToTheNewOne() throws {
            let f = try AgentFixture(["--echo"])
            let oldReader = try f.pipes.reader()
            try f.pipes.sendLine("one")
            try oldReader.read(untilSuffix: "one\n" + marker)
            #expect(unlink(f.pipes.outPath) == 0)
            try FifoSafety.create(f.pipes.outPath)
            let newReader = try f.pipes.reader()
            guard Self.waitForLog(f.agent, "out-FIFO \(f.pipes.outPath) was deleted or replaced") else { return }
            try f.pipes.sendLine("two")
            try newReader.read(untilSuffix: "two\n" + marker)
            #expect(!oldReader.text.contains("two"))
        }

        // MARK: One agent per name

        @Test func secondAgentWithTheSameNameRefusesAndSaysWhichPidHoldsIt() throws {
            let f = try AgentFixture(["--echo"])
            let second = try AgentProcess(["serve", "--name", "t", "--pipe-dir", f.pipes.directory, "--echo"],
                                          directory: f.directory, log: "second.log")
            let code = second.waitForExit(timeout: 20)
            #expect(code == AgentLoop.lockHeldExitCode, "second agent: \(second.log)")
            #expect(second.log.contains("another agent (pid \(f.agent.pid)) already serves this name"), "\(second.log)")
            // The first one is untouched: it keeps its FIFOs and answers every prompt.
            let reader = try f.pipes.reader()
            for word in ["a", "b", "c"] {
                try f.pipes.sendLine(word)
                try reader.read(untilSuffix: word + "\n" + marker)
            }
            #expect(reader.text == "a\n\(marker)b\n\(marker)c\n\(marker)")
        }

        @Test func lockOfAnAgentKilledWithSigkillIsNotStale() throws {
            let f = try AgentFixture(["--echo"])
            kill(f.agent.pid, SIGKILL)
            _ = f.agent.waitForExit(timeout: 10)
            let next = try AgentProcess(["serve", "--name", "t", "--pipe-dir", f.pipes.directory, "--echo"],
                                        directory: f.directory, log: "next.log")
            defer { next.stop() }
            try f.pipes.waitForAgent()
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("after crash")
            try reader.read(untilSuffix: "after crash\n" + marker)
            #expect(next.log.contains("serving t"), "\(next.log)")
        }

        @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0, "needs root and setpriv to run the agent as uid 65534"))
        func pipeDirectoryTheAgentCannotWriteStillServesItsFifosWithoutTheLock() throws {
            // The host made the directory (root, 0755) and the agent's FIFOs (uid 65534, 0660).
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect(chmod(dir, 0o755) == 0)
            let pipeDir = dir + "/pipes"
            #expect(mkdir(pipeDir, 0o755) == 0)
            for path in [pipeDir + "/u.in.fifo", pipeDir + "/u.out.fifo"] {
                #expect(mkfifo(path, 0o660) == 0 && chmod(path, 0o660) == 0 && chown(path, 65534, 65534) == 0)
            }
            let agent = try AgentProcess(["--reuid=65534", "--regid=65534", "--clear-groups",
                                          try Harness.binaryCopy(into: dir, for: 65534), "serve", "--name", "u",
                                          "--pipe-dir", pipeDir, "--echo"],
                                         directory: dir, program: "/usr/bin/setpriv")
            defer { agent.stop() }
            let pipes = HostPipes(directory: pipeDir, name: "u")
            try pipes.waitForAgent()
            let reader = try pipes.reader()
            try pipes.sendLine("read-only dir")
            try reader.read(untilSuffix: "read-only dir\n" + marker)
            #expect(agent.log.contains("serving without the one-agent-per-name lock"), "\(agent.log)")
        }

        @Test func lockPathThatIsASymlinkIsRefusedAndLeftAlone() throws {
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let target = dir + "/target"
            FileManager.default.createFile(atPath: target, contents: Data("keep".utf8))
            #expect(symlink(target, dir + "/t.lock") == 0)
            let agent = try AgentProcess(["serve", "--name", "t", "--pipe-dir", dir, "--echo"], directory: dir)
            #expect(agent.waitForExit(timeout: 20) == 2)
            #expect(agent.log.contains("t.lock: it is a symlink"), "\(agent.log)")
            #expect((try? String(contentsOfFile: target, encoding: .utf8)) == "keep")
            #expect(!Harness.exists(dir + "/t.in.fifo"))
        }

        // MARK: Children's process trees

        @Test func execBackgroundGrandchildrenEndWithTheTurn() throws {
            // One stays in the child's process group, one leaves it with setsid.
            let f = try AgentFixture(["--exec", #"sh -c 'sleep 300 & echo "bg $!"; setsid sleep 300 & echo "sid $!"' sh"#])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("go")
            try reader.read(untilSuffix: marker)
            let background = Self.number(after: "bg", in: reader.text)
            let detached = Self.number(after: "sid", in: reader.text)
            defer { Self.cleanUp([background, detached]) }
            for pid in [try #require(background), try #require(detached)] {
                #expect(Harness.waitUntil(timeout: 5) { !Harness.processAlive(pid) }, "process \(pid) outlived the turn")
            }
        }

        @Test func grandchildrenThatLeftTheGroupEndWhenTheAgentStops() throws {
            let f = try AgentFixture(["--exec", #"sh -c 'setsid sleep 300 & echo "sid $!"; exec sleep 300' sh"#])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("go")
            try reader.read(untilContains: "\n")
            let detached = try #require(Self.number(after: "sid", in: reader.text))
            defer { Self.cleanUp([detached]) }
            kill(f.agent.pid, SIGTERM)
            #expect(f.agent.waitForExit(timeout: 10) == 0)
            #expect(Harness.waitUntil(timeout: 5) { !Harness.processAlive(detached) }, "process \(detached) outlived the agent")
        }

        @Test func persistentChildsDetachedProcessesEndWithTheAgent() throws {
            let f = try AgentFixture(["--persistent", #"sh -c 'setsid sleep 300 & echo "sid $!"; exec cat'"#])
            let reader = try f.pipes.reader()
            try reader.read(untilContains: "\n")
            let detached = try #require(Self.number(after: "sid", in: reader.text))
            defer { Self.cleanUp([detached]) }
            kill(f.agent.pid, SIGTERM)
            #expect(f.agent.waitForExit(timeout: 10) == 0)
            #expect(Harness.waitUntil(timeout: 5) { !Harness.processAlive(detached) }, "process \(detached) outlived the agent")
        }

        @Test func execChildDiesWithAnAgentKilledWithSigkill() throws {
            let f = try AgentFixture(["--exec", AgentEndToEnd.Children.sleeper])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("go")
            try reader.read(untilContains: "\n")
            let child = try #require(AgentEndToEnd.Children.pid(in: reader.text))
            defer { Self.cleanUp([child]) }
            kill(f.agent.pid, SIGKILL)
            _ = f.agent.waitForExit(timeout: 10)
            #expect(Harness.waitUntil(timeout: 5) { !Harness.processAlive(child) }, "child \(child) outlived the agent")
        }

        @Test func execChildThatCannotBeStartedIsReportedInTheReply() throws {
            let f = try AgentFixture(["--exec", "/nonexistent/ccb-no-such-program"])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("go")
            try reader.read(untilSuffix: marker)
            #expect(reader.text.contains("[cc-bridge-agent] cannot run /nonexistent/ccb-no-such-program: "), "\(reader.text)")
            #expect(reader.text.contains("No such file or directory"), "\(reader.text)")
        }

        @Test(.enabled(if: getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0 && access("/usr/bin/prlimit", X_OK) == 0,
                       "needs root, setpriv and prlimit to run the agent as uid 65534 with RLIMIT_NPROC 1"))
        func forkFailingIsReportedInTheReplyAndTheAgentGoesOn() throws {
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect(chown(dir, 65534, 65534) == 0)
            let pipes = HostPipes(directory: dir + "/pipes", name: "n")
            let binary = try Harness.binaryCopy(into: dir, for: 65534)
            // RLIMIT_NPROC 1 for an unprivileged user: the agent runs, every fork fails (EAGAIN).
            let agent = try AgentProcess(["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/prlimit", "--nproc=1",
                                          binary, "serve", "--name", "n", "--pipe-dir", pipes.directory, "--exec", "true"],
                                         directory: dir, program: "/usr/bin/setpriv")
            defer { agent.stop() }
            try pipes.waitForAgent()
            let reader = try pipes.reader()
            for round in 1...2 {
                try pipes.sendLine("go \(round)")
                try reader.read(untilSuffix: marker)
                #expect(reader.text.hasPrefix("[cc-bridge-agent] cannot run true: "), "\(reader.text)")
                #expect(reader.text.contains("Resource temporarily unavailable"), "\(reader.text)")
                reader.reset()
            }
            #expect(!agent.reap(), "the agent exited: \(agent.log)")
        }

        @Test func startedWithStdioClosedLogsAndChildrenStillWork() throws {
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let pipes = HostPipes(directory: dir + "/pipes", name: "s")
            let binary = try Harness.binaryPath()
            // stdin and stdout closed; stderr is the log.
            let agent = try AgentProcess(["-c", #"exec "$0" serve --name s --pipe-dir "$1" --exec "sh -c 'read x; echo got:\$x:\$1' sh" <&- >&-"#, binary, pipes.directory],
                                         directory: dir, program: "/bin/sh")
            defer { agent.stop() }
            try pipes.waitForAgent()
            let reader = try pipes.reader()
            try pipes.sendLine("p")
            try reader.read(untilSuffix: marker)
            #expect(reader.text == "got::p\n" + marker, "\(reader.text)")
            #expect(agent.log.contains("serving s"), "\(agent.log)")
        }

        @Test func childrenGetNoDescriptorTheAgentInherited() throws {
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let pipes = HostPipes(directory: dir + "/pipes", name: "i")
            let binary = try Harness.binaryPath()
            // The agent inherits fd 7 (say, a pipe its caller waits on for EOF); its child must not.
            let agent = try AgentProcess(["-c", #"exec 7</dev/null; exec "$0" serve --name i --pipe-dir "$1" --exec "sh -c 'ls /proc/\$\$/fd; true' sh""#, binary, pipes.directory],
                                         directory: dir, program: "/bin/sh")
            defer { agent.stop() }
            try pipes.waitForAgent()
            let reader = try pipes.reader()
            try pipes.sendLine("go")
            try reader.read(untilSuffix: marker)
            let fds = reader.text.split(separator: "\n").filter { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
            #expect(fds == ["0", "1", "2"], "\(reader.text)")
        }

        @Test func supervisorEndsWhatAnAgentKilledWithSigkillLeftRunning() throws {
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let pipes = HostPipes(directory: dir + "/pipes", name: "k")
            let supervisor = try AgentProcess(
                ["supervise", "--", "serve", "--name", "k", "--pipe-dir", pipes.directory, "--exec",
                 #"sh -c 'setsid sleep 300 & echo "sid $!"; exec sleep 300' sh"#],
                directory: dir)
            defer { supervisor.stop() }
            try pipes.waitForAgent()
            let reader = try pipes.reader()
            try pipes.sendLine("go")
            try reader.read(untilContains: "\n")
            let detached = try #require(Self.number(after: "sid", in: reader.text))
            defer { Self.cleanUp([detached]) }
            let agent = try #require(Self.number(after: "started agent pid", in: supervisor.log))
            kill(agent, SIGKILL)
            #expect(Harness.waitUntil(timeout: 10) { !Harness.processAlive(detached) },
                    "process \(detached) outlived the agent; supervisor: \(supervisor.log)")
            #expect(Harness.waitUntil(timeout: 20) { supervisor.log.contains("restarting in") }, "\(supervisor.log)")
        }

        // MARK: Interrupt escalation

        @Test func interruptEscalatesToSigtermAndSigkillAndSaysSo() throws {
            let f = try AgentFixture(["--interrupt-grace", "0.5", "--term-grace", "0.5", "--exec",
                                      #"sh -c 'trap "" INT TERM; echo "started $$"; while :; do sleep 0.1; done' sh"#])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("go")
            try reader.read(untilContains: "\n")
            let child = try #require(Self.number(after: "started", in: reader.text))
            defer { Self.cleanUp([child]) }
            try f.pipes.send("\u{03}")
            try reader.read(timeout: 15, untilSuffix: marker)
            #expect(reader.text.contains("[cc-bridge-agent] the reply ignored SIGINT for 0.5 s; sent SIGTERM\n"), "\(reader.text)")
            #expect(reader.text.contains("[cc-bridge-agent] the reply ignored SIGTERM for 0.5 s; sent SIGKILL\n"), "\(reader.text)")
            #expect(Harness.waitUntil(timeout: 5) { !Harness.processAlive(child) })
        }

        @Test func jsonlInterruptOfAChildIgnoringSigintEndsTheTurnAfterSigterm() throws {
            let f = try AgentFixture(["--protocol", "jsonl", "--interrupt-grace", "0.3", "--exec",
                                      #"sh -c 'trap "" INT; echo started; while :; do sleep 0.1; done' sh"#])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine(#"{"id":"stubborn","type":"prompt","text":"x"}"#)
            try reader.read(untilContains: "started")
            try f.pipes.sendLine(#"{"id":"stubborn","type":"interrupt"}"#)
            try reader.read(timeout: 15, untilContains: #""type":"done","status":"interrupted""#)
            #expect(reader.text.contains(#"{"type":"notice","text":"the reply ignored SIGINT for 0.3 s; sent SIGTERM"}"#), "\(reader.text)")
            #expect(!reader.text.contains("SIGKILL"))
        }

        @Test func persistentChildThatKeepsTalkingThroughAnInterruptIsEscalated() throws {
            let f = try AgentFixture(["--interrupt-grace", "0.5", "--term-grace", "0.5", "--persistent",
                                      #"sh -c 'trap "" INT; while :; do echo tick; sleep 0.1; done'"#])
            let reader = try f.pipes.reader()
            try reader.read(untilContains: "tick")
            try f.pipes.send("\u{03}")
            try reader.read(timeout: 15, untilContains: "restarting in")
            #expect(reader.text.contains("[cc-bridge-agent] the reply ignored SIGINT for 0.5 s; sent SIGTERM\n"), "\(reader.text)")
        }

        @Test func persistentChildThatFallsSilentAfterAnInterruptIsLeftAlone() throws {
            // It takes SIGINT as "stop the reply" and stays quiet: nothing to escalate.
            let f = try AgentFixture(["--interrupt-grace", "0.3", "--persistent",
                                      #"sh -c 'stop=0; trap "stop=1" INT; echo "started $$"; while :; do [ $stop = 1 ] || echo tick; sleep 0.1; done'"#])
            let reader = try f.pipes.reader()
            try reader.read(untilContains: "tick")
            let child = try #require(Self.number(after: "started", in: reader.text))
            try f.pipes.send("\u{03}")
            _ = reader.drain(for: 1.5)
            #expect(!reader.text.contains("sent SIGTERM"), "\(reader.text)")
            #expect(Harness.processAlive(child))
        }

        // MARK: Resource limits

        @Test func tooFewFileDescriptorsGiveAClearMessageNotAHang() throws {
            let dir = try Harness.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let binary = try Harness.binaryPath()
            // Descriptors the test runner leaked would take the low numbers the limit counts.
            let agent = try AgentProcess(["-c", #"exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; ulimit -n 8 && exec "$0" serve --name t --pipe-dir "$1" --echo"#, binary, dir + "/pipes"],
                                         directory: dir, program: "/bin/sh")
            let code = agent.waitForExit(timeout: 20)
            #expect(code == 2, "\(agent.log)")
            #expect(agent.log.contains("too few file descriptors: the limit (ulimit -n) is 8"), "\(agent.log)")
            #expect(!Harness.exists(dir + "/pipes/t.in.fifo"), "a FIFO was left behind")
        }
    }
}

@Suite struct InterruptEscalationTests {
    @Test func sigintThenSigtermThenSigkillAfterTheirGraces() {
        var e = InterruptEscalation(interruptGrace: 2, termGrace: 3)
        #expect(e.nextDeadline == nil)
        #expect(e.begin(now: 10) == SIGINT)
        #expect(e.due(now: 11.9) == nil)
        #expect(e.begin(now: 11) == SIGINT)  // a repeated interrupt keeps the clock
        #expect(e.nextDeadline == 12)
        #expect(e.due(now: 12) == SIGTERM)
        #expect(e.nextDeadline == 15)
        #expect(e.due(now: 14) == nil)
        #expect(e.due(now: 15.5) == SIGKILL)
        #expect(e.nextDeadline == nil)
        #expect(e.due(now: 100) == nil)
    }

    @Test func endingTheReplyStopsTheEscalation() {
        var e = InterruptEscalation(interruptGrace: 1, termGrace: 1)
        _ = e.begin(now: 0)
        e.end()
        #expect(!e.isActive)
        #expect(e.due(now: 5) == nil)
    }

    @Test func noticesNameTheSignalsAndTheGrace() {
        let e = InterruptEscalation(interruptGrace: 0.5, termGrace: 2)
        #expect(e.notice(sent: SIGTERM) == "the reply ignored SIGINT for 0.5 s; sent SIGTERM")
        #expect(e.notice(sent: SIGKILL) == "the reply ignored SIGTERM for 2 s; sent SIGKILL")
    }
}

@Suite struct InstanceLockTests {
    @Test func secondLockOnTheSamePathIsRefusedWithTheHoldersPid() throws {
        let dir = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/x.lock"
        let first = try InstanceLock(path: path)
        // flock locks belong to open file descriptions: a second open in this process conflicts.
        #expect(throws: InstanceLock.Failure.held(path: path, pid: getpid())) { try InstanceLock(path: path) }
        first.release(removing: true)
        #expect(!Harness.exists(path))
        let again = try InstanceLock(path: path)
        #expect(again.isCurrent)
    }

    @Test func aLockFileThatIsAFifoIsRefusedWithoutHanging() throws {
        let dir = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/x.lock"
        #expect(mkfifo(path, 0o600) == 0)
        #expect(throws: InstanceLock.Failure.unsafe(path: path, reason: "it is a FIFO, not a regular file")) {
            try InstanceLock(path: path)
        }
    }
}
