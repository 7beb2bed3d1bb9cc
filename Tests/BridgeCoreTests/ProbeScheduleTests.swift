// ProbeScheduleTests: the liveness probe's timer (SessionHub+Lifecycle) runs at the busy interval
// while an agent is not known yet, and slows to the idle interval once every agent was seen and
// is idle, although seeing an agent changes no activity (an instance is `idle` before its first
// probe as after it). The agent here is a real reader holding the in-FIFO open, as a silent one.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ProbeScheduleTests {
    @Test func theProbeSlowsToTheIdleIntervalOnceEveryAgentWasSeen() throws {
        let tmp = TempDir()
        let dir = tmp.file("pipes")
        let loop = try EventLoop()
        try FifoSafety.ensureDirectory(dir)
        let names = ["a", "b", "c"]
        var holders: [Int32] = []
        for name in names {
            try FifoSafety.create(dir + "/\(name).in.fifo")
            try FifoSafety.create(dir + "/\(name).out.fifo")
            holders.append(open(dir + "/\(name).in.fifo", O_RDONLY | O_NONBLOCK))
        }
        defer { for fd in holders { close(fd) } }
        var options = SessionHub.Options(directory: dir, stateDirectory: tmp.file("state"))
        options.engine.rescanInterval = 0.05
        options.busyProbeInterval = 0.05
        options.idleProbeInterval = 30
        let hub = SessionHub(loop: loop, options: options) { _ in }
        hub.start()
        defer { hub.stop() }
        #expect(spin(loop, timeout: 20) { names.allSatisfy { hub.sessions[$0]?.liveness.state == .up } }, "not every agent was seen")
        #expect(names.allSatisfy { hub.activity(of: $0) == .idle })
        var probed = 0
        hub.probeSeen = { _ in probed += 1 }
        // A busy timer would probe the three some sixty times in this second; the idle one not yet.
        _ = spin(loop, timeout: 1) { false }
        #expect(probed <= 3, "\(probed) probes in a second with every agent idle")
    }
}
