// Remote hosts in the instance list (issue 16): local instances first, then per host a title
// row, its connection state row and its instances (shown without the HOST/ prefix); a click on
// a header selects nothing. And the renaming of a host's events to HOST/NAME.

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct HostHeaderTests {
    static func twoHosts() -> Harness {
        var h = Harness(rows: 24, cols: 80, instances: ["api", "b1/x", "b2/y"])
        h.send(.hostsChanged([HostHeader(name: "b1", connection: .connected(roundTrip: 0.0003)),
                              HostHeader(name: "b2", connection: .failed("host key mismatch"))]))
        return h
    }

    @Test func hostsAreGroupedUnderHeadersWithTheirState() {
        let h = HostHeaderTests.twoHosts()
        let list = h.screen().prefix(7).map { String($0.prefix(21)) }
        #expect(list == [
            "▌○ api              │",
            "─ b1 ───────────────│",
            " ● connected 0.3 ms │",
            " ○ x                │",
            "─ b2 ───────────────│",
            " ✖ failed: host key…│",
            " ○ y                │",
        ])
    }

    @Test func aClickOnAHeaderSelectsNothingAndOnAnInstanceSelectsIt() {
        var h = HostHeaderTests.twoHosts()
        h.send(.mouse(MouseEvent(.press(button: 0), row: 1, col: 3)))
        #expect(h.state.selected == "api")
        h.send(.mouse(MouseEvent(.press(button: 0), row: 6, col: 3)))
        #expect(h.state.selected == "b2/y")
    }

    @Test func aHostsEventsAreRenamedHostSlashName() {
        let renamed = SessionEvent.promptFailed(instance: "x", promptID: "p1", error: "e")
            .renamingInstances { HostNaming.address(host: "b1", instance: $0) }
        #expect(renamed.instanceName == "b1/x")
        #expect(HostNaming.split("b1/x", hosts: ["b1"]).map { [$0.host, $0.instance] } == ["b1", "x"])
        #expect(HostNaming.split("b9/x", hosts: ["b1"]) == nil)
    }

    /// The status line names a failed host once: the transport's messages already begin with
    /// "host NAME (ssh://…)" (it said "host build1: host build1 (ssh://…): …").
    @Test func aHostsFailureNamesTheHostOnce() {
        let ended = IPCError(.disconnected, "host build1 (ssh://ci@build1): the connection ended (exit 255)")
        #expect(HostsSessionSource.sentence(host: "build1", ended) == ended.message)
        let mismatch = IPCError(.disconnected, "host key mismatch: the key of build1 changed")
        #expect(HostsSessionSource.sentence(host: "build1", mismatch) == "host build1: host key mismatch: the key of build1 changed")
        // Another host's name at the start is not this one's.
        #expect(HostsSessionSource.sentence(host: "b", IPCError(.disconnected, "host build1 (ssh://x): gone")) == "host b: host build1 (ssh://x): gone")
    }
}
