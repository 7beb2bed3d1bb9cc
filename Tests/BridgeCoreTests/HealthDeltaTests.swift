// HealthDeltaTests: health reports told as changes (HealthDelta) rebuild exactly the monitor's
// report, on real FIFOs with a real stand-in agent, and through the server's session feed and the
// wire; silent instances cost nothing after the first report. And the probes of instances whose
// agent went are bounded per tick, in turn, while an agent appearing among them is still seen.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct HealthDeltaTests {
    @Test func changesRebuildTheMonitorsReportAndLeaveSilentInstancesOut() throws {
        let names = (0..<30).map { String(format: "q%02d", $0) }
        let f = try HealthFixture(names)
        let agent = try startAgent(f.inPath("q03"))
        // Ten failures before unhealthy: the instances with no agent stay degraded meanwhile.
        let monitor = f.monitor(healthSettings(failures: 10))
        let r1 = monitor.runChecks(now: 1000)
        let r2 = monitor.runChecks(now: 1001.25)
        let d12 = HealthDelta(from: r1, to: r2)
        // q03 (its agent reads) is left out; the others (no agent) as their failure counts.
        #expect(d12.changed.map(\.name) == [], "changed: \(d12.changed.map(\.name))")
        #expect(d12.counted.map(\.name) == names.filter { $0 != "q03" })
        #expect(d12.order == nil)
        #expect(d12.apply(to: r1) == r2)

        // The agent goes, an instance goes, a new one comes: only those are told.
        agent.kill()
        try FileManager.default.removeItem(atPath: f.inPath("q07"))
        try FileManager.default.removeItem(atPath: f.outPath("q07"))
        try FifoSafety.create(f.inPath("new"))
        try FifoSafety.create(f.outPath("new"))
        let gone = MonotonicClock.now() + 15
        while PromptWriter().isListening(f.inPath("q03")) && MonotonicClock.now() < gone { usleep(5000) }
        let r3 = monitor.runChecks(now: 1002.5)
        #expect(r3.component("q03")?.state != .healthy)
        let d23 = HealthDelta(from: r2, to: r3)
        #expect(Set(d23.changed.map(\.name)).isSuperset(of: ["q03", "new"]))
        #expect(!d23.changed.contains { $0.name.hasPrefix("q1") }, "changed: \(d23.changed.map(\.name))")
        #expect(d23.counted.contains { $0.name == "q10" })
        #expect(d23.order != nil)
        #expect(d23.apply(to: r2) == r3)
        // Changes for a run the client does not hold are refused, never half applied.
        #expect(d23.apply(to: r1) == nil)

        // 25 more runs: the trend is bounded (HealthMonitor.trendLength) on both sides.
        var last = r3
        for k in 1...25 {
            let next = monitor.runChecks(now: 1002.5 + Double(k))
            #expect(HealthDelta(from: last, to: next).apply(to: last) == next, "run \(next.run)")
            last = next
        }
        #expect(last.component("q20")?.trend.count == HealthMonitor.trendLength)
    }

    @Test func aSessionSubscriberGetsOneWholeReportThenChangesThatRebuildEachReport() throws {
        let s = try ServerFixture(health: true)
        for name in ["b", "c", "d"] {
            try FifoSafety.create(s.dir + "/\(name).in.fifo")
            try FifoSafety.create(s.dir + "/\(name).out.fifo")
        }
        var whole = 0, changes = 0, unapplied = 0
        var held: HealthReport?
        s.core.subscribeSession { item in
            // Through the wire, as a TUI gets it.
            var decoder = IPCFrameDecoder()
            decoder.append(IPCMessage.event(SessionWire.encode(item)).frame().encoded())
            guard let frame = try? decoder.next(), case .success(.event(let event)) = IPCMessage.decode(frame),
                  let decoded = SessionWire.decode(event) else { return }
            switch decoded {
            case .health(let report):
                whole += 1
                held = report
            case .healthChanges(let delta):
                changes += 1
                guard let base = held, let report = delta.apply(to: base) else { unapplied += 1; return }
                held = report
            default:
                break
            }
        }
        #expect(s.spin(30) { changes >= 4 && held != nil && held?.run == s.core.lastHealth?.run },
                "whole \(whole), changes \(changes), held run \(held?.run ?? -1), server run \(s.core.lastHealth?.run ?? -1)")
        #expect(whole == 1)
        #expect(unapplied == 0)
        #expect(held == s.core.lastHealth)
        #expect(held?.components.count == 3 + 3)
    }

    @Test func instancesWhoseAgentWentAreProbedInTurnAndOneThatGetsAnAgentIsStillSeen() throws {
        let h = try HubFixture()
        let names = (0..<40).map { String(format: "w%02d", $0) }
        for name in names {
            try FifoSafety.create(h.dir + "/\(name).in.fifo")
            try FifoSafety.create(h.dir + "/\(name).out.fifo")
        }
        #expect(h.spin { names.allSatisfy { h.hub.mode(of: $0) != nil } }, "not every instance was attached")
        // Not probed yet, each is probed every tick; two probes with no reader make it down.
        #expect(h.spin { (names + ["a"]).allSatisfy { h.hub.sessions[$0]?.liveness.state == .down } }, "not every instance is down")
        var probed: [String] = []
        h.hub.probeSeen = { probed.append($0) }
        h.hub.probeAgents()
        // 41 instances (a and w00...w39), their agents down: one tick probes at most the limit.
        #expect(probed.count == h.hub.options.waitingProbesPerTick, "one tick probed \(probed.count)")
        // In turn: a few ticks reach every one of them.
        let rounds = (41 + h.hub.options.waitingProbesPerTick - 1) / h.hub.options.waitingProbesPerTick
        for _ in 1..<rounds { h.hub.probeAgents() }
        #expect(Set(probed).count == 41)

        let agent = try startAgent(h.dir + "/w29.in.fifo")
        defer { agent.kill() }
        #expect(h.spin(20) { h.events.contains { if case .lifecycle("w29", .seen) = $0 { true } else { false } } },
                "the silent agent of w29 was never seen")
    }
}
