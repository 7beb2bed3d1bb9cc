// GoneInstancesTests: instances whose pipes vanish. The policy alone (GoneInstances), then the
// SessionHub on real FIFOs removed and recreated: back within the grace is no removal; pipes
// that stay away are removed once the grace runs out, and come back later with their history.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct GoneInstancesTests {
    @Test func vanishedNamesAreGoneUntilBackOrTheirGraceRunsOut() {
        var gone = GoneInstances(grace: 30)
        #expect(gone.update(listed: ["a", "b", "c"], now: 100).isEmpty)
        #expect(gone.update(listed: ["c"], now: 110) == ["a", "b"])
        #expect(gone.nextDeadline == 140)
        // b comes back: only a is still gone.
        #expect(gone.update(listed: ["b", "c"], now: 120).isEmpty)
        #expect(gone.isGone("a") && !gone.isGone("b"))
        #expect(gone.expired(now: 139.9).isEmpty)
        #expect(gone.expired(now: 140) == ["a"])
        #expect(gone.nextDeadline == nil)
        // Gone again later: a new grace from then.
        #expect(gone.update(listed: ["c"], now: 200) == ["b"])
        #expect(gone.nextDeadline == 230)
    }

    /// The names in the latest `instancesChanged`.
    static func listed(_ h: HubFixture) -> [String]? {
        for case .instancesChanged(let list, _) in h.events.reversed() { return list.map(\.name) }
        return nil
    }

    static func removed(_ h: HubFixture) -> [String] {
        h.events.compactMap { if case .instanceRemoved(let name, _) = $0 { name } else { nil } }
    }

    @Test func pipesRecreatedWithinTheGraceAreNoRemoval() throws {
        let h = try HubFixture(goneGrace: 1.5)
        #expect(h.spin { Self.listed(h) == ["a"] })
        unlink(h.inPath)
        unlink(h.outPath)
        #expect(h.spin { Self.listed(h) == [] })
        try FifoSafety.create(h.inPath)
        try FifoSafety.create(h.outPath)
        #expect(h.spin { Self.listed(h) == ["a"] })
        // Past the grace (counted from when they vanished), nothing is removed.
        let past = Date().addingTimeInterval(2)
        _ = h.spin(3) { Date() > past }   // runs the loop 2 s
        #expect(Self.removed(h).isEmpty)
    }

    @Test func pipesThatStayAwayAreRemovedAfterTheGraceAndComeBackWithTheirHistory() throws {
        let h = try HubFixture(goneGrace: 0.5)
        #expect(h.spin { Self.listed(h) == ["a"] })
        let restoredBefore = h.events.filter { if case .historyRestored = $0 { true } else { false } }.count
        unlink(h.inPath)
        unlink(h.outPath)
        #expect(h.spin { Self.listed(h) == [] })
        let goneAt = Date()
        #expect(h.spin { !Self.removed(h).isEmpty })
        #expect(Date().timeIntervalSince(goneAt) >= 0.4, "removed before the grace ran out")
        #expect(Self.removed(h) == ["a"])
        guard case .instanceRemoved(_, let after)? = h.events.last(where: { if case .instanceRemoved = $0 { true } else { false } }) else {
            Issue.record("no removal")
            return
        }
        #expect(after == 0.5)
        // Its pipes come back later: a new session, with the history read again.
        try FifoSafety.create(h.inPath)
        try FifoSafety.create(h.outPath)
        #expect(h.spin {
            h.events.filter { if case .historyRestored = $0 { true } else { false } }.count == restoredBefore + 1
        })
        #expect(Self.removed(h) == ["a"])
    }
}
