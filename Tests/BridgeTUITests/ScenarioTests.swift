// Scenarios: the reducer driven by binding names, asserting on state, effects and screen lines.

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct FollowAndScrollTests {
    @Test func scrollingUpPausesAndEndResumes() {
        var h = Harness()
        h.numbered("api", 1...100)
        h.press("focusOutput")
        #expect(h.outputRows.last == "line 100")
        h.press("scrollUp")
        #expect(!h.active.view.follow)
        #expect(h.outputRows.last == "line 99")
        h.numbered("api", 101...105)
        #expect(h.outputRows.last == "line 99")
        #expect(h.active.view.newWhilePaused == 5)
        #expect(h.screen()[0].hasSuffix("paused, 5 new lines"))
        h.press("followTail")
        #expect(h.active.view.follow)
        #expect(h.outputRows.last == "line 105")
        #expect(h.screen()[0].hasSuffix("following"))
    }

    @Test func pagesHalfPagesTopAndScrollingBackDownResumes() {
        var h = Harness()
        h.numbered("api", 1...100)
        h.press("focusOutput")
        let height = h.state.layout.output.rows  // 20
        h.press("pageUp")
        #expect(h.outputRows.last == "line \(100 - (height - 1))")
        h.press("halfPageDown")
        #expect(h.outputRows.last == "line \(100 - (height - 1) + height / 2)")
        h.press("scrollTop")
        #expect(h.outputRows.first == "line 1")
        #expect(h.outputRows.last == "line \(height)")
        h.press("scrollUp")
        #expect(h.outputRows.first == "line 1")
        for _ in 0..<10 { h.press("pageDown") }
        #expect(h.active.view.follow)
        #expect(h.outputRows.last == "line 100")
    }

    @Test func scrollingWithWrappedLinesMovesByRows() {
        var h = Harness(rows: 10, cols: 40, instances: ["api"])
        let width = h.state.layout.output.cols
        h.output("api", ["short 1", String(repeating: "a", count: width) + String(repeating: "b", count: width) + "c", "short 2"])
        h.press("focusOutput")
        #expect(h.outputRows.prefix(5) == ["short 1", String(repeating: "a", count: width), String(repeating: "b", count: width), "c", "short 2"])
        // Content fits: scrolling up keeps following.
        h.press("scrollUp")
        #expect(h.active.view.follow)
        h.state.instances[0].scrollback.removeAll()
        h.output("api", ["top 1", "top 2", "top 3", "top 4", "top 5", "short 1",
                         String(repeating: "a", count: width) + String(repeating: "b", count: width) + "c", "short 2"])
        h.numbered("api", 1...5)
        h.press("scrollUp")
        h.press("scrollUp")
        h.press("scrollUp")
        h.press("scrollUp")
        h.press("scrollUp")
        h.press("scrollUp")
        // Bottom row is now the wrapped line's last row ("c").
        #expect(h.outputRows.last == "c")
        h.press("scrollUp")
        #expect(h.outputRows.last == String(repeating: "b", count: width))
        h.press("toggleWrap")
        #expect(h.outputRows.contains(String(repeating: "a", count: width - 0)))
    }

    @Test func mouseWheelScrollsAndClickSelects() {
        var h = Harness()
        h.numbered("api", 1...50)
        h.send(.mouse(MouseEvent(.wheelUp, row: 5, col: 40)))
        #expect(h.outputRows.last == "line 47")
        h.send(.mouse(MouseEvent(.wheelDown, row: 5, col: 40)))
        #expect(h.active.view.follow)
        h.send(.mouse(MouseEvent(.press(button: 0), row: 1, col: 3)))
        #expect(h.state.selected == "web")
        h.send(.mouse(MouseEvent(.press(button: 0), row: 22, col: 3)))
        #expect(h.state.focus == .prompt)
        // Mouse off: reports are ignored and the effect tells the runtime.
        h.key("esc")
        #expect(h.press("toggleMouse") == [.setMouse(false)])
        h.send(.mouse(MouseEvent(.press(button: 0), row: 0, col: 3)))
        #expect(h.state.selected == "web")
    }

    @Test func growingLineReplacesTheLastAndTrimmedAnchorClamps() {
        var settings = TUISettings()
        settings.scrollbackLines = 30
        var h = Harness(settings: settings)
        h.output("api", ["spinner |"], open: true)
        h.output("api", ["spinner /"], replacesLast: true, open: true)
        h.output("api", ["spinner -", "done"], replacesLast: true)
        #expect(h.active.scrollback.count == 2)
        #expect(h.outputRows.prefix(2) == ["spinner -", "done"])
        h.press("focusOutput")
        h.numbered("api", 1...40)
        h.press("scrollTop")
        #expect(h.outputRows.first == "line 11")
        #expect(!h.active.view.follow)
        h.numbered("api", 41...60)
        #expect(h.active.view.newWhilePaused == 20)
        #expect(h.active.view.anchorLine >= h.active.scrollback.firstLineNumber)
        // The oldest line kept sits under the marker that counts what the flood pushed out.
        #expect(h.outputRows.first == "── 20 lines dropped while paused ──")
        #expect(h.outputRows[1] == "line 31")
    }
}

@Suite struct SearchAndFilterTests {
    static func fixture() -> Harness {
        var h = Harness()
        h.output("api", (1...60).map { $0 % 10 == 0 ? "ERROR at \($0)" : "ok \($0)" })
        h.press("focusOutput")
        return h
    }

    @Test func searchJumpsAndNStepsThroughMatches() {
        var h = SearchAndFilterTests.fixture()
        h.press("search")
        #expect(h.state.focus == .search)
        h.type("error")
        #expect(h.screen()[23] == "/error")
        h.press("confirmInput")
        #expect(h.state.focus == .output)
        #expect(h.active.search.matches.count == 6)
        // A search goes forward from the top of the view (lines 41-60 are shown): line 50
        // (absolute 49); `n` keeps its direction, newer and downwards (issue 12).
        #expect(h.active.search.current == 49)
        #expect(h.outputRows.contains("ERROR at 50"))
        h.press("nextMatch")
        #expect(h.active.search.current == 59)
        #expect(h.state.status?.text == "match 6 of 6")
        h.press("previousMatch")
        #expect(h.active.search.current == 49)
        #expect(h.state.status?.text == "match 5 of 6")
        // Walking off the newest match wraps to the oldest.
        for _ in 0..<2 { h.press("nextMatch") }
        #expect(h.active.search.current == 9)
        #expect(h.state.status?.text == "match 1 of 6 (wrapped)")
        h.press("previousMatch")
        #expect(h.active.search.current == 59)
        #expect(h.state.status?.text == "match 6 of 6 (wrapped)")
        // New output that matches joins the cached matches.
        h.output("api", ["late error"])
        #expect(h.active.search.matches.last == 60)
    }

    @Test func searchWithoutMatchSaysSo() {
        var h = SearchAndFilterTests.fixture()
        h.press("search")
        h.type("zebra")
        h.press("confirmInput")
        #expect(h.state.status == StatusMessage("no match for 'zebra'", kind: .error, expires: h.state.now + 10))
        h.press("search")
        h.type("x")
        h.press("cancelInput")
        #expect(h.active.search.query == "zebra")
    }

    @Test func filterShowsOnlyMatchingLines() {
        var h = SearchAndFilterTests.fixture()
        h.press("filter")
        h.type("ERROR")
        h.press("confirmInput")
        #expect(h.outputRows.prefix(7) == ["ERROR at 10", "ERROR at 20", "ERROR at 30", "ERROR at 40", "ERROR at 50", "ERROR at 60", ""])
        #expect(h.screen()[0].contains("filter: ERROR"))
        h.output("api", ["ok 61", "ERROR at 62"])
        #expect(h.outputRows[6] == "ERROR at 62")
        h.press("scrollUp")
        #expect(h.active.view.follow)  // everything fits
        h.press("filter")
        for _ in 0..<5 { h.press("deleteBackward") }
        h.press("confirmInput")
        #expect(h.outputRows.last == "ERROR at 62")
        #expect(!h.active.filter.isActive)
    }
}

@Suite struct PromptTests {
    static func focused() -> Harness {
        var h = Harness()
        h.press("enterPrompt")
        return h
    }

    @Test func printableKeysAreTextOnlyInThePrompt() {
        var h = Harness()
        #expect(h.key("q") == [.quit])
        h.press("enterPrompt")
        #expect(h.state.focus == .prompt)
        #expect(h.key("q").isEmpty)
        h.type("jk/G?wx")
        #expect(h.active.prompt.text == "qjk/G?wx")
        h.press("leavePrompt")
        #expect(h.state.focus == .list)
        #expect(h.active.prompt.text == "qjk/G?wx")
        h.key("j")
        #expect(h.state.selected == "web")
    }

    @Test func readlineEditing() {
        var h = PromptTests.focused()
        h.type("hello big world")
        h.press("lineStart")
        h.type(">")
        h.press("lineEnd")
        h.type("!")
        #expect(h.active.prompt.text == ">hello big world!")
        h.press("wordLeft")
        h.press("killToEnd")
        #expect(h.active.prompt.text == ">hello big ")
        h.press("killWordBackward")
        #expect(h.active.prompt.text == ">hello ")
        h.press("wordLeft")
        h.press("wordRight")
        #expect(h.active.prompt.cursor == 6)
        h.press("cursorLeft")
        h.press("deleteBackward")
        h.press("deleteForward")
        #expect(h.active.prompt.text == ">hel ")
        h.press("cursorRight")
        #expect(h.active.prompt.cursor == 5)
        h.press("cursorLeft")
        h.press("cursorLeft")
        h.press("killToStart")
        #expect(h.active.prompt.text == "l ")
        h.key("home")
        h.key("ctrl-k")
        #expect(h.active.prompt.isEmpty)
        h.type("ab")
        h.key("alt-b")
        #expect(h.active.prompt.cursor == 0)
        h.key("alt-f")
        #expect(h.active.prompt.cursor == 2)
    }

    @Test func submitSendsAndClearsOnlyOnSuccess() {
        var h = PromptTests.focused()
        h.type("run the tests")
        let effects = h.press("submitPrompt")
        #expect(effects == [.send(instance: "api", promptID: "p1", text: "run the tests")])
        #expect(h.active.prompt.text == "run the tests")
        #expect(h.screen()[21].contains("sending…"))
        h.send(.sendResult(instance: "api", promptID: "p1", error: nil))
        #expect(h.active.prompt.isEmpty)
        #expect(h.active.history.entries == ["run the tests"])
        h.type("again")
        #expect(h.press("submitPrompt") == [.send(instance: "api", promptID: "p2", text: "again")])
    }

    @Test func failedSendKeepsTextAndSaysWhy() {
        var h = PromptTests.focused()
        h.type("hello")
        h.press("submitPrompt")
        h.send(.sendResult(instance: "api", promptID: "p1", error: "agent not listening"))
        #expect(h.active.prompt.text == "hello")
        #expect(h.state.status?.kind == .error)
        #expect(h.screen()[23] == " send to api failed: agent not listening")
        // Whitespace-only prompts are not sent.
        var e = PromptTests.focused()
        e.type("   ")
        #expect(e.press("submitPrompt").isEmpty)
    }

    @Test func historyWalksAndKeepsTheDraft() {
        var h = PromptTests.focused()
        for text in ["first", "second"] {
            h.type(text)
            h.press("submitPrompt")
            h.send(.sendResult(instance: "api", promptID: "p\(h.state.nextPromptNumber - 1)", error: nil))
        }
        h.type("my draft")
        h.press("historyPrevious")
        #expect(h.active.prompt.text == "second")
        h.press("historyPrevious")
        #expect(h.active.prompt.text == "first")
        h.press("historyPrevious")
        #expect(h.active.prompt.text == "first")
        h.press("historyNext")
        #expect(h.active.prompt.text == "second")
        h.press("historyNext")
        #expect(h.active.prompt.text == "my draft")
        // History is per instance.
        h.press("leavePrompt")
        h.press("selectNext")
        h.press("enterPrompt")
        h.press("historyPrevious")
        #expect(h.active.prompt.isEmpty)
    }

    @Test func multiLineComposeAndLineMovement() {
        var h = PromptTests.focused()
        h.type("one")
        h.key("alt-enter")
        h.type("two")
        h.key("ctrl-j")
        h.type("three")
        #expect(h.active.prompt.text == "one\ntwo\nthree")
        h.press("historyPrevious")  // up moves a line inside a multi-line prompt
        #expect(h.active.prompt.cursorLineAndColumn == (1, 3))
        h.press("lineStart")
        h.press("killToEnd")
        #expect(h.active.prompt.text == "one\n\nthree")
        #expect(h.press("submitPrompt") == [.send(instance: "api", promptID: "p1", text: "one\n\nthree")])
    }

    @Test func pasteWithNewlinesNeverSubmits() {
        var h = Harness()
        let effects = h.send(.paste("line one\nline two\n"))
        #expect(effects.isEmpty)
        #expect(h.state.focus == .prompt)
        #expect(h.active.prompt.text == "line one\nline two\n")
        #expect(h.active.inFlight.isEmpty)
        // Into the search field, newlines become spaces.
        h.key("esc")
        h.press("search")
        h.send(.paste("a\nb"))
        #expect(h.state.entry.text == "a b")
    }

    @Test func ctrlCInterruptsOnlyWhenEmpty() {
        var h = PromptTests.focused()
        h.type("oops")
        #expect(h.key("ctrl-c").isEmpty)
        #expect(h.active.prompt.isEmpty)
        #expect(h.key("ctrl-c") == [.interrupt(instance: "api")])
        h.key("esc")
        // `x` asks first (tui.confirm); `y` answers.
        #expect(h.press("interrupt").isEmpty)
        #expect(h.key("y") == [.interrupt(instance: "api")])
        // Outside the prompt Ctrl-C only explains the keys.
        #expect(h.key("ctrl-c").isEmpty)
        #expect(h.state.status?.text == "q quits, x interrupts the agent")
    }

    @Test func brokenInstanceRefusesToSend() {
        var h = Harness()
        h.send(.instancesChanged([InstanceInfo(name: "api", inPath: "/p/api.in.fifo", outPath: "/p/api.out.fifo", status: .broken("out FIFO missing"))]))
        h.press("enterPrompt")
        h.type("hi")
        #expect(h.press("submitPrompt").isEmpty)
        #expect(h.state.status?.text == "cannot send: api is broken: out FIFO missing")
        #expect(h.active.prompt.text == "hi")
    }
}

@Suite struct ModeAndCommandTests {
    @Test func attachAndDetach() {
        var h = Harness()
        h.press("selectNext")
        h.press("attach")
        #expect(h.state.mode == .attach("web"))
        #expect(h.state.focus == .prompt)
        #expect(h.state.layout.list == nil)
        h.type("d")  // text, not detach
        #expect(h.active.prompt.text == "d")
        h.key("ctrl-]")
        #expect(h.state.mode == .all)
        #expect(h.state.focus == .list)
        #expect(h.state.selected == "web")
        h.key("f2")
        #expect(h.state.mode == .attach("web"))
        h.key("esc")
        #expect(h.state.focus == .output)
        h.press("detach")
        #expect(h.state.mode == .all)
    }

    @Test func unreadCountsAndSelection() {
        var h = Harness()
        h.output("web", ["a", "b", "c"])
        #expect(h.state.instance(named: "web")?.unread == 3)
        #expect(h.screen()[1] == " ○ web            +3│ (no output yet)")
        h.press("selectNext")
        #expect(h.state.instance(named: "web")?.unread == 0)
    }

    @Test func vanishedInstanceStaysWhileItHasOutput() {
        var h = Harness()
        h.output("api", ["kept"])
        h.send(.instancesChanged([]))
        // Both stay, gone, until the session hub removes them (web, with no output, used to go at once).
        #expect(h.state.instances.map(\.name) == ["api", "web"])
        #expect(h.state.instances[0].isPresent == false)
        #expect(h.state.instances[1].isPresent == false)
        #expect(h.screen()[0].hasPrefix("▌○ api"))
        #expect(h.screen()[0].contains("gone"))
    }

    @Test func clearSaveCopyHealthAndToggles() {
        var h = Harness()
        h.output("api", ["before"])
        h.press("enterPrompt")
        h.type("q1")
        h.press("submitPrompt")
        h.output("api", ["answer 1", "answer 2"])
        h.press("leavePrompt")
        #expect(h.press("copyTurn") == [.copyToClipboard("answer 1\nanswer 2\n")])
        #expect(h.press("saveScrollback") == [.saveScrollback(instance: "api", path: "/tmp/save/cc-bridge-api-20231114-221320.log")])
        #expect(h.press("refreshHealth") == [.refreshHealth])
        h.press("toggleHealth")
        #expect(h.state.healthVisible)
        #expect(h.state.layout.health != nil)
        h.press("toggleTimestamps")
        #expect(h.active.view.timestamps)
        h.press("toggleWrap")
        #expect(!h.active.view.wrap)
        h.press("clearPane")
        #expect(h.active.scrollback.isEmpty)
        #expect(h.outputRows.first == " (no output yet)")
        #expect(h.press("quit") == [.quit])
    }

    @Test func statusMessagesExpireOnTick() {
        var h = Harness()
        h.press("refreshHealth")
        #expect(h.state.status != nil)
        h.send(.tick(now: h.state.now + 60))
        #expect(h.state.status == nil)
    }

    @Test func keyOverridesAndUnknownNames() {
        var settings = TUISettings()
        settings.keys = ["quit": ["ctrl-q"], "frobnicate": ["z"]]
        var h = Harness(settings: settings)
        #expect(h.key("q").isEmpty)
        #expect(h.key("ctrl-q") == [.quit])
        #expect(h.state.keymapErrors == [KeymapError(message: "keys.frobnicate: unknown action 'frobnicate'")])
        #expect(h.state.status?.kind == .error)
        // The hints and help follow the override.
        h.send(.notice(StatusMessage("")))
        h.state.status = nil
        #expect(h.screen()[23].contains("Ctrl-Q quit"))
    }

    @Test func resizeRelayoutsAndAsksForFullRepaint() {
        var h = Harness()
        h.send(.resize(rows: 40, cols: 120))
        #expect(h.state.needsFullRepaint)
        #expect(h.screen().count == 40)
        #expect(h.state.layout.output.cols == 120 - Layout.listWidth(cols: 120) - 1)
    }
}
