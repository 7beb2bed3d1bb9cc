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

    /// The demo's crashy agent showed it: the agent exits (a probe sees it), the supervisor starts
    /// a new one, a probe sees it back, and then its `hello` arrives from the new pid. That is the
    /// same comeback, not a replacement: the pane got a second "agent exited" / "agent back" pair.
    @Test func helloOfTheAgentThatCameBackIsNoSecondRestart() {
        var l = AgentLiveness()
        #expect(l.hello(pid: 10) == [.seen])
        #expect(l.probed(listening: false) == [])
        #expect(l.probed(listening: false) == [.exited(.noReader)])
        #expect(l.probed(listening: true) == [.back])
        #expect(l.hello(pid: 11) == [])
        // And a later replacement without a gap is still one.
        #expect(l.hello(pid: 12) == [.exited(.replaced), .back])
    }

    @Test func helloAfterThePipesCameBackIsNoSecondRestart() {
        var l = AgentLiveness()
        #expect(l.hello(pid: 10) == [.seen])
        #expect(l.pipesGone() == [.exited(.pipesGone)])
        #expect(l.signOfLife() == [.back])
        #expect(l.hello(pid: 11) == [])
    }
}
