// GoneInstanceTests: an instance whose pipes vanished is listed as gone (dimmed, the word
// "gone"), comes back as it was, and leaves the list when the session hub removes it; the
// selection then moves to the instance in its place and the status line says so.

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct GoneInstanceTests {
    static func info(_ name: String) -> InstanceInfo {
        InstanceInfo(name: name, inPath: "/tmp/ccb/\(name).in.fifo", outPath: "/tmp/ccb/\(name).out.fifo", status: .ready)
    }

    @Test func anInstanceWithNothingToKeepIsShownGoneNotDroppedAtOnce() {
        var h = Harness(instances: ["api", "web"])
        h.send(.instancesChanged([Self.info("api")]))
        #expect(h.state.instances.map(\.name) == ["api", "web"])
        #expect(h.state.instances[1].isPresent == false)
        let row = h.screen()[1]
        #expect(row.hasPrefix(" ○ web") && row.contains("gone"), "row: \(row)")
        // Dimmed in the list.
        let listCol = 3
        #expect(h.buffer()[1, listCol].style.attrs.contains(.dim))
        #expect(!h.buffer()[0, listCol].style.attrs.contains(.dim))
    }

    @Test func backWithinTheGraceItIsAsItWas() {
        var h = Harness(instances: ["api", "web"])
        h.output("web", ["kept line"])
        h.send(.instancesChanged([Self.info("api")]))
        h.send(.instancesChanged([Self.info("api"), Self.info("web")]))
        #expect(h.state.instance(named: "web")?.isPresent == true)
        #expect(h.state.instance(named: "web")?.scrollback.last?.text == "kept line")
        #expect(!h.screen()[1].contains("gone"))
    }

    @Test func removingTheSelectedInstanceSaysWhereTheSelectionWent() {
        var h = Harness(instances: ["api", "db", "web"])
        h.press("selectNext")
        #expect(h.state.selected == "db")
        h.send(.instancesChanged([Self.info("api"), Self.info("web")]))
        #expect(h.state.selected == "db")
        h.send(.instanceRemoved(instance: "db", after: 30))
        #expect(h.state.instances.map(\.name) == ["api", "web"])
        #expect(h.state.selected == "web")
        #expect(h.state.status?.text == "db removed: its pipes did not come back within 30 s; now showing web")
        #expect(h.screen().last?.contains("db removed") == true)
    }

    /// The prompt was open on the removed instance: it closes rather than retarget the next keys.
    @Test func removingTheInstanceThePromptWasOpenOnClosesThePrompt() {
        var h = Harness(instances: ["api", "web"])
        h.press("enterPrompt")
        #expect(h.state.focus == .prompt)
        h.send(.instancesChanged([Self.info("web")]))
        h.send(.instanceRemoved(instance: "api", after: 30))
        #expect(h.state.focus == .list)
        #expect(h.state.selected == "web")
        h.type("j")   // a key now acts on the list, not as text for web's prompt
        #expect(h.state.instance(named: "web")?.prompt.isEmpty == true)
    }

    @Test func removalIsOnlyForAGoneInstanceAndNeverForOneThatIsBack() {
        var h = Harness(instances: ["api", "web"])
        h.send(.instanceRemoved(instance: "web", after: 30))   // present: stays
        #expect(h.state.instances.map(\.name) == ["api", "web"])
        h.send(.instancesChanged([Self.info("web")]))
        h.send(.instanceRemoved(instance: "api", after: 2.5))
        #expect(h.state.instances.map(\.name) == ["web"])
        #expect(h.state.selected == "web")
        #expect(h.state.status?.text == "api removed: its pipes did not come back within 2.5 s; now showing web")
    }

    @Test func removingTheAttachedInstanceReturnsToTheList() {
        var h = Harness(instances: ["api", "web"])
        h.press("attach")
        #expect(h.state.isAttached)
        h.send(.instancesChanged([Self.info("web")]))
        #expect(h.state.isAttached)
        h.send(.instanceRemoved(instance: "api", after: 30))
        #expect(!h.state.isAttached)
        #expect(h.state.selected == "web")
    }
}
