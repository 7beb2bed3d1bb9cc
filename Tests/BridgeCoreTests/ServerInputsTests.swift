// ServerInputsTests: client prompt ids and turns by id in the ServerCore, with the real
// cc-bridge-agent on real FIFOs. The same id sent twice while the first is on its way, again
// after its turn ended, and again after the server was restarted on the same state directory is
// delivered once (the agent echoes it once) and every sender gets the first answer; an id that
// was on its way when a server died is never sent again; `waitForTurnEnd` hands over the reply,
// exact (framed) or best effort (plain), and a wait that runs out says the turn is still open.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct ServerInputsTests {
    /// How many finished output lines are exactly `text` (the echo agent prints each prompt once).
    static func count(_ text: String, in lines: LineFollower) -> Int { lines.texts.filter { $0 == text }.count }

    @Test func theSameIDIsDeliveredOnceInFlightLaterAndAfterARestart() throws {
        let s = try ServerFixture()
        let agent = try s.agent(["--protocol", "plain", "--echo"])
        defer { agent.kill9() }
        let lines = LineFollower()
        s.core.subscribe(.all) { lines.take($0) }
        var answers: [ServerSendResult] = []
        let first = try s.core.send("only once please", to: "a", id: "job-1", origin: .cli) { answers.append($0) }
        let second = try s.core.send("only once please", to: "a", id: "job-1", origin: .cli) { answers.append($0) }
        #expect(first == "job-1" && second == "job-1")
        #expect(s.spin { answers.count == 2 })
        #expect(answers == [.delivered(promptID: "job-1"), .delivered(promptID: "job-1")])
        #expect(s.spin { s.core.turnState(instance: "a", id: "job-1")?.state == .ended })
        try s.core.send("only once please", to: "a", id: "job-1", origin: .cli) { answers.append($0) }
        #expect(s.spin { answers.count == 3 })
        #expect(answers.last == .delivered(promptID: "job-1"))
        // A prompt after it: once its echo is in, a second delivery of job-1 would have been too.
        try s.core.send("marker one", to: "a", id: "job-2", origin: .cli)
        #expect(s.spin { Self.count("marker one", in: lines) == 1 })
        #expect(Self.count("only once please", in: lines) == 1, "lines: \(lines.texts)")

        s.core.stop()
        let t = try ServerFixture(tmp: s.tmp)
        #expect(t.spin { t.core.list().contains { $0.info.name == "a" && $0.activity != nil } }, "the new server never read a")
        let after = LineFollower()
        t.core.subscribe(.all) { after.take($0) }
        var again: ServerSendResult?
        try t.core.send("only once please", to: "a", id: "job-1", origin: .cli) { again = $0 }
        #expect(t.spin { again != nil })
        #expect(again == .delivered(promptID: "job-1"))
        try t.core.send("marker two", to: "a", id: "job-3", origin: .cli)
        #expect(t.spin { Self.count("marker two", in: after) == 1 })
        #expect(Self.count("only once please", in: after) == 0, "sent again after the restart: \(after.texts)")
        #expect(t.historyTurns().filter { $0.id == "job-1" }.count == 1)
    }

    /// An id a dead server had written as on its way: with no turn and no outbox entry for it,
    /// its bytes never went into the pipe (the turn is recorded in the loop step that finishes
    /// the write), so it is sent now, once; with its turn in the history it is not sent again.
    @Test func anIDOnItsWayWhenTheServerDiedIsSentOnlyIfItNeverReachedThePipe() throws {
        let first = try ServerFixture()
        let agent = try first.agent(["--protocol", "plain", "--echo"])
        defer { agent.kill9() }
        var answer: ServerSendResult?
        try first.core.send("reached the agent", to: "a", id: "job-8", origin: .cli) { answer = $0 }
        #expect(first.spin { answer != nil && first.core.turnState(instance: "a", id: "job-8")?.state == .ended })
        first.core.stop()
        // As a server killed at those points left them: job-8 delivered, job-9 not yet written.
        let ledger = PromptIDLedger(instance: "a", stateDirectory: first.state)
        for id in ["job-8", "job-9"] { ledger.begin(id, at: Date().timeIntervalSince1970) }
        let s = try ServerFixture(tmp: first.tmp)
        #expect(s.spin { s.core.list().contains { $0.info.name == "a" && $0.activity != nil } })
        let lines = LineFollower()
        s.core.subscribe(.all) { lines.take($0) }
        var answers: [String: ServerSendResult] = [:]
        try s.core.send("reached the agent", to: "a", id: "job-8", origin: .cli) { answers["job-8"] = $0 }
        try s.core.send("never written", to: "a", id: "job-9", origin: .cli) { answers["job-9"] = $0 }
        #expect(s.spin { answers.count == 2 })
        #expect(answers["job-8"] == .delivered(promptID: "job-8") && answers["job-9"] == .delivered(promptID: "job-9"), "\(answers)")
        // One at a time: a plain agent's reply marker and the next prompt's echo share a line otherwise.
        #expect(s.spin { s.core.turnState(instance: "a", id: "job-9")?.state == .ended })
        try s.core.send("marker", to: "a", id: "job-10", origin: .cli)
        #expect(s.spin { Self.count("marker", in: lines) == 1 }, "lines: \(lines.texts), history: \(s.core.history(of: "a"))")
        #expect(Self.count("never written", in: lines) == 1, "lines: \(lines.texts)")
        #expect(Self.count("reached the agent", in: lines) == 0, "lines: \(lines.texts)")
    }

    @Test(arguments: ["jsonl", "plain"])
    func waitForTurnEndHandsOverTheReply(_ proto: String) throws {
        let s = try ServerFixture()
        let agent = try s.agent(["--protocol", proto, "--echo"])
        defer { agent.kill9() }
        if proto == "jsonl" { #expect(s.spin { s.core.hub.mode(of: "a") == .framed }) }
        #expect(s.core.turnState(instance: "a", id: "nobody-sent-this") == nil)
        try s.core.send("reply to me", to: "a", id: "w-1", origin: .cli)
        var lookup: TurnLookup?
        var called = false
        s.core.waitForTurnEnd(instance: "a", id: "w-1", timeout: 60) { lookup = $0; called = true }
        #expect(s.spin(70) { called })
        #expect(lookup?.state == .ended, "\(String(describing: lookup))")
        #expect(lookup?.turn?.status == .completed)
        #expect(lookup?.reply?.contains("reply to me") == true, "\(String(describing: lookup))")
        #expect(lookup?.replyExact == (proto == "jsonl"))
    }

    @Test func aWaitThatRunsOutSaysTheTurnIsStillOpen() throws {
        let s = try ServerFixture(quietPeriod: 30)
        let job = s.tmp.file("job.sh")
        try "#!/bin/sh\necho \"working on $1\"\nsleep 20\n".write(toFile: job, atomically: true, encoding: .utf8)
        chmod(job, 0o755)
        let agent = try s.agent(["--protocol", "jsonl", "--exec", job])
        defer { agent.kill9() }
        #expect(s.spin { s.core.hub.mode(of: "a") == .framed })
        try s.core.send("long job", to: "a", id: "slow-1", origin: .cli)
        #expect(s.spin { s.core.turnState(instance: "a", id: "slow-1")?.state == .working })
        var lookup: TurnLookup?
        var called = false
        let started = MonotonicClock.now()
        s.core.waitForTurnEnd(instance: "a", id: "slow-1", timeout: 0.5) { lookup = $0; called = true }
        #expect(s.spin { called })
        #expect(MonotonicClock.now() - started >= 0.5)
        #expect(lookup?.state == .working && lookup?.reply == nil, "\(String(describing: lookup))")
    }
}
