// AgentLivenessTests: the judge of an agent's comings and goings, fed probe results and stream
// facts directly.

import Testing
@testable import BridgeCore

@Suite struct AgentLivenessTests {
    @Test func oneMissIsAHintTwoAreAnExitAndAnySignOfLifeIsTheComeback() {
        var l = AgentLiveness()
        #expect(l.probed(listening: true) == [.seen])
        #expect(l.probed(listening: false) == [])        // an upstream agent between two opens
        #expect(l.probed(listening: true) == [])
        #expect(l.probed(listening: false) == [])
        #expect(l.probed(listening: false) == [.exited(.noReader)])
        #expect(l.probed(listening: false) == [])
        #expect(l.signOfLife() == [.back])
        #expect(l.state == .up)
    }

    @Test func anAgentNeverSeenUpIsDownWithoutAnExit() {
        var l = AgentLiveness()
        #expect(l.probed(listening: false) == [])
        #expect(l.probed(listening: false) == [])
        #expect(l.state == .down)
        #expect(l.probed(listening: true) == [.seen])
    }

    @Test func helloFromAnotherPidIsARestartEvenWithoutAGap() {
        var l = AgentLiveness()
        #expect(l.hello(pid: 10) == [.seen])
        #expect(l.hello(pid: 10) == [])                  // a reattach of the same agent
        #expect(l.hello(pid: 11) == [.exited(.replaced), .back])
        #expect(l.pipesGone() == [.exited(.pipesGone)])
        #expect(l.pipesGone() == [])
    }
}
