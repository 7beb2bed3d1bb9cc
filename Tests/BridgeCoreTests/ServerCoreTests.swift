// ServerCoreTests: the server's session side on a real EventLoop, real FIFOs and the real
// cc-bridge-agent, with no socket: with no client subscribed it still records history (a
// prompt's origin included) and runs health checks; a subscriber that leaves and comes back
// from a line id gets every line once, with no gap and no repeat; stopping writes the open
// turn to the history file.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// A ServerCore on a private pipe_dir and state directory.
final class ServerFixture {
    let tmp: TempDir
    let loop: EventLoop
    let core: ServerCore
    var dir: String { tmp.file("pipes") }
    var state: String { tmp.file("state") }

    /// `tmp`: another fixture's directories (a server restarted on the same pipes and state).
    init(health: Bool = false, quietPeriod: Double = 0.3, tmp: TempDir = TempDir(), configure: (inout BridgeConfig) -> Void = { _ in }) throws {
        self.tmp = tmp
        loop = try EventLoop()
        try FifoSafety.ensureDirectory(tmp.file("pipes"))
        var config = BridgeConfig()
        config.docker.pipeDir = tmp.file("pipes")
        config.docker.health.enabled = health
        config.docker.health.checkInterval = 0.5
        config.docker.session.quietPeriod = quietPeriod
        configure(&config)
        var options = ServerCore.Options(config: config, stateDirectory: tmp.file("state"))
        options.rescanInterval = 0.05
        options.environment = ["DOCKER_HOST": "unix://" + tmp.file("no-docker.sock")]
        core = ServerCore(loop: loop, options: options)
        core.start()
    }

    deinit { core.stop() }

    func spin(_ timeout: Double = 20, _ condition: () -> Bool) -> Bool { BridgeCoreTests.spin(loop, timeout: timeout, until: condition) }

    /// What the history file holds now.
    func historyTurns(_ name: String = "a") -> [Turn] {
        HistoryStore.read(path: HistoryStore.historyPath(instance: name, stateDirectory: state)).turns
    }

    func agent(_ arguments: [String]) throws -> RealAgent {
        let agent = try RealAgent(["serve", "--name", "a", "--pipe-dir", dir, "--heartbeat", "0"] + arguments)
        #expect(spin { core.list().contains { $0.info.name == "a" && $0.activity != nil } }, "the server never read a")
        return agent
    }
}

/// Follows one subscription's output by line id: finished lines, repeats and gaps.
final class LineFollower {
    var finished: [UInt64: String] = [:]
    var order: [UInt64] = []
    var repeats: [UInt64] = []
    var skipped: UInt64 = 0
    var lastFinished: UInt64 = 0

    func take(_ event: ServerEvent) {
        switch event {
        case .output(_, let first, let batch):
            for index in 0..<batch.count {
                let id = first + UInt64(index)
                if index == batch.count - 1 && batch.endsWithOpenLine { continue }
                if finished[id] != nil { repeats.append(id) }
                finished[id] = batch[index].text
                order.append(id)
                lastFinished = max(lastFinished, id)
            }
        case .linesSkipped(_, _, let count):
            skipped += count
        default:
            break
        }
    }

    var texts: [String] { order.map { finished[$0]! } }
}

@Suite(.serialized) struct ServerCoreTests {
    /// No subscriber at all: a prompt from a script is delivered, its turn completes and is in
    /// the history file with origin `cli`; the health checks run.
    @Test func recordsHistoryAndChecksHealthWithNoClientSubscribed() throws {
        let s = try ServerFixture(health: true)
        let agent = try s.agent(["--protocol", "plain", "--echo"])
        defer { agent.kill9() }
        #expect(s.core.subscriberCount == 0)
        var result: ServerSendResult?
        let id = try s.core.send("hello from a script", to: "a", origin: .cli) { result = $0 }
        #expect(s.spin { result != nil })
        #expect(result == .delivered(promptID: id))
        #expect(s.spin { s.historyTurns().contains { $0.id == id && $0.status == .completed } },
                "history: \(s.historyTurns())")
        let turn = s.historyTurns().first { $0.id == id }
        #expect(turn?.origin == .cli)
        #expect(turn?.prompt == "hello from a script")
        #expect(turn?.response.contains("hello from a script") == true)
        #expect(s.core.history(of: "a").last?.origin == .cli)
        #expect(s.spin { s.core.lastHealth?.component("a") != nil }, "no health report")
    }

    /// A prompt the agent reads at once is answered before `send` returns (in the same write to
    /// a client as its events), with its turn already in the history file, so a script that looks
    /// the id up finds it; the activity goes idle → working with no `sending` flash.
    @Test func aPromptTheAgentReadsAtOnceIsAnsweredAsSendReturns() throws {
        let s = try ServerFixture()
        let agent = try s.agent(["--protocol", "plain", "--echo"])
        defer { agent.kill9() }
        var first: ServerSendResult?
        try s.core.send("warm up", to: "a", origin: .cli) { first = $0 }
        #expect(s.spin { first != nil && s.core.list().first?.activity == .idle }, "\(String(describing: first))")
        var activities: [Activity] = []
        s.core.subscribe(.instance("a")) { event in
            if case .activity(_, let activity) = event { activities.append(activity) }
        }
        var answer: ServerSendResult?
        var recorded = false
        let id = try s.core.send("at once", to: "a", origin: .cli) { result in
            answer = result
            if case .delivered(let promptID) = result { recorded = s.historyTurns().contains { $0.id == promptID } }
        }
        #expect(answer == .delivered(promptID: id), "not answered as send returned")
        #expect(recorded, "the turn was not in the history file when the answer came")
        #expect(s.spin { activities.last == .idle }, "\(activities)")
        #expect(activities.first == .working && !activities.contains(.sending), "\(activities)")
    }

    /// A subscriber that unsubscribes and comes back from its last finished line id + 1 gets
    /// exactly the lines a subscriber that never left got: none missing, none twice.
    @Test func aSubscriberResumingFromALineIDGetsNoGapAndNoRepeat() throws {
        let s = try ServerFixture()
        try FifoSafety.create(s.dir + "/a.in.fifo")
        try FifoSafety.create(s.dir + "/a.out.fifo")
        #expect(s.spin { s.core.list().first?.info.name == "a" && s.core.hub.mode(of: "a") != nil })
        let writer = open(s.dir + "/a.out.fifo", O_WRONLY | O_NONBLOCK)
        #expect(writer >= 0)
        defer { close(writer) }
        func write(_ range: ClosedRange<Int>) {
            // In small pieces, so lines are split across reads and open lines get replaced.
            let text = Array(range.map { "line \($0)\n" }.joined().utf8)
            var offset = 0
            while offset < text.count {
                let end = min(text.count, offset + 7)
                let n = text[offset..<end].withUnsafeBytes { Glibc.write(writer, $0.baseAddress, $0.count) }
                if n > 0 { offset += n }
                s.loop.runOnce(timeout: 0.001)
            }
        }
        let always = LineFollower(), leaving = LineFollower()
        s.core.subscribe(.all) { always.take($0) }
        var subscription = s.core.subscribe(.instance("a")) { leaving.take($0) }
        write(1...20)
        #expect(s.spin { leaving.texts.last == "line 20" })
        s.core.unsubscribe(subscription)
        write(21...60)
        #expect(s.spin { always.texts.last == "line 60" })
        subscription = s.core.subscribe(.instance("a"), from: ["a": leaving.lastFinished + 1]) { leaving.take($0) }
        write(61...80)
        #expect(s.spin { always.texts.last == "line 80" && leaving.texts.last == "line 80" })
        let expected = (1...80).map { "line \($0)" }
        #expect(always.texts == expected)
        #expect(leaving.texts == expected, "resumed: \(leaving.texts)")
        #expect(leaving.repeats.isEmpty && always.repeats.isEmpty)
        #expect(leaving.skipped == 0)
        #expect(leaving.order == Array(1...80).map(UInt64.init))
    }

    /// Stopping the server writes the turn that is still streaming to the history file.
    @Test func stopWritesTheOpenTurnToTheHistoryFile() throws {
        let s = try ServerFixture(quietPeriod: 30)
        let job = s.tmp.file("job.sh")
        try "#!/bin/sh\necho \"working on $1\"\nsleep 20\n".write(toFile: job, atomically: true, encoding: .utf8)
        chmod(job, 0o755)
        let agent = try s.agent(["--protocol", "jsonl", "--exec", job])
        defer { agent.kill9() }
        // Its `hello` first: a prompt sent before goes as a plain line, which the agent answers
        // under an id of its own (under load the test sent it too early and saw no reply credited).
        #expect(s.spin { s.core.hub.mode(of: "a") == .framed })
        var events: [ServerEvent] = []
        s.core.subscribe(.all) { events.append($0) }
        let id = try s.core.send("long job", to: "a", origin: .cli)
        #expect(s.spin { s.core.history(of: "a").contains { $0.id == id && $0.response.contains("working on long job") } })
        s.core.stop()
        guard case .serverStopping? = events.last else {
            Issue.record("the last event was not server_stopping: \(String(describing: events.last))")
            return
        }
        let turn = s.historyTurns().first { $0.id == id }
        #expect(turn?.response.contains("working on long job") == true, "history: \(s.historyTurns())")
        #expect(turn?.origin == .cli)
    }
}
