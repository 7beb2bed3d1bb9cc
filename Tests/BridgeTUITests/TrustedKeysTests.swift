// TrustedKeysTests: keys act on what the screen says they act on (issue 12): focus is visible,
// the target of typed text never changes silently. Keys are pressed by binding name.

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct FocusAndTargetTests {
    /// Column of the list's border and the row of the selected instance ("api", row 0).
    static func listBorderStyle(_ h: Harness) -> CellStyle {
        h.buffer()[0, h.state.layout.borderCol!].style
    }

    @Test func theFocusedPaneIsDrawnInTheFocusRoleAndTheListSelectionDimsWhenNotFocused() {
        var h = Harness()
        let theme = h.state.theme
        // List focused: its border is in the focus role, the selection is not dimmed.
        #expect(FocusAndTargetTests.listBorderStyle(h) == theme.style(.focus))
        #expect(!h.buffer()[0, 2].style.attrs.contains(.dim))
        h.press("focusOutput")
        // Output focused: the list border is plain, the selection dimmed, the title's name in the focus role.
        #expect(FocusAndTargetTests.listBorderStyle(h) == theme.style(.border))
        #expect(h.buffer()[0, 2].style.attrs.contains(.dim))
        let titleCol = h.state.layout.title.col + 1   // " api ": the name starts after one space
        #expect(h.buffer()[0, titleCol].style.fg == theme.style(.focus).fg)
        #expect(h.buffer()[0, titleCol].style.attrs == theme.style(.focus).attrs)
        // Prompt focused: its label is in the focus role, neither pane is.
        h.press("enterPrompt")
        let labelRow = h.state.layout.promptSeparator.row
        #expect(h.buffer()[labelRow, 2].style == theme.style(.focus))
        #expect(h.buffer()[0, titleCol].style.fg != theme.style(.focus).fg)
    }

    /// The issue's `G j i "hi beta"` Enter with the output pane focused: `j` scrolls, so the prompt
    /// stays on the instance the pane shows, names it, and the prompt goes exactly there.
    @Test func promptGoesToTheInstanceItNames() {
        var h = Harness(instances: ["alpha", "beta"])
        h.press("focusOutput")
        h.press("followTail")
        h.press("scrollDown")
        h.press("enterPrompt")
        let named = h.screen()[h.state.layout.promptSeparator.row]
        h.type("hi beta")
        let effects = h.press("submitPrompt")
        guard case .send(let target, _, "hi beta")? = effects.first else {
            Issue.record("nothing sent: \(effects)")
            return
        }
        #expect(named.contains("prompt → \(target) "))
    }

    /// A click on the list while typing used to change the prompt's instance under the text:
    /// "hel" went to api's draft and "lo" to web's. Now the click leaves the prompt first.
    @Test func clickingTheListWhileTypingLeavesThePromptInsteadOfRetargetingIt() {
        var h = Harness()
        h.press("enterPrompt")
        h.type("hel")
        h.send(.mouse(MouseEvent(.press(button: 0), row: 1, col: 3)))
        #expect(h.state.selected == "web")
        #expect(h.state.focus == .list)
        #expect(h.state.instance(named: "api")?.prompt.text == "hel")
        // Typing again needs the prompt opened again, which names the new target.
        h.press("enterPrompt")
        h.type("lo")
        #expect(h.screen()[h.state.layout.promptSeparator.row].contains("prompt → web "))
        #expect(h.state.instance(named: "web")?.prompt.text == "lo")
        #expect(h.state.instance(named: "api")?.prompt.text == "hel")
    }
}

@Suite struct HelpOverlayTests {
    @Test func escQAndQuestionMarkCloseTheHelpAndNeverQuit() {
        var h = Harness()
        for key in ["esc", "q", "?"] {
            h.press("toggleHelp")
            #expect(h.state.focus == .help)
            #expect(h.key(key).isEmpty, "\(key) in the help must not quit")
            #expect(h.state.focus == .list, "\(key) closes the help")
        }
    }

    @Test func pageKeysScrollTheHelpAPageAndStopAtTheEnd() {
        var h = Harness()
        h.press("toggleHelp")
        let inner = HelpView.geometry(h.state.size).inner
        h.press("pageDown")
        #expect(h.state.helpScroll == inner - 1)
        for _ in 0..<50 { h.press("pageDown") }
        let total = HelpView.lines(h.state.keymap, width: HelpView.geometry(h.state.size).width).count
        #expect(h.state.helpScroll == total - inner)
        // The last page shows the end of the legend.
        #expect(h.screen().contains { $0.contains("restored from the history file") })
        h.press("pageUp")
        #expect(h.state.helpScroll == total - inner - (inner - 1))
    }

    @Test func theLegendExplainsEveryBadgeAndGlyphInHelpAndDocs() {
        let lines = HelpView.lines(Keymap.defaults, width: 78)
        let docs = KeymapDocs.markdown()
        for symbol in ["▌", "●", "◐", "✖", "○", "+N", "qN", "paused, N new lines", "ʰ"] {
            #expect(lines.contains { $0.keys == symbol }, "help legend lacks \(symbol)")
            #expect(docs.contains("| `\(symbol)` |"), "docs legend lacks \(symbol)")
        }
    }
}

@Suite struct TypingOutsideThePromptTests {
    /// "hello there" typed with the list focused used to run l (focus output), o (outbox), …
    @Test func aPrintableKeyWithNoCommandStartsAPromptToTheInstanceShown() {
        var h = Harness()
        h.press("selectNext")
        h.type("hello there")
        #expect(h.state.focus == .prompt)
        #expect(h.state.instance(named: "web")?.prompt.text == "hello there")
        #expect(h.state.instance(named: "api")?.prompt.text == "")
        #expect(h.screen()[h.state.layout.promptSeparator.row].contains("prompt → web "))
        #expect(h.effects.isEmpty)
    }

    @Test func theSameFromTheOutputPaneButNeverFromAnOverlay() {
        var h = Harness()
        h.press("focusOutput")
        h.type(" ok")
        #expect(h.active.prompt.text == " ok")
        h.press("leavePrompt")
        h.press("toggleHelp")
        h.type("zz")
        #expect(h.state.focus == .help)
        #expect(h.active.prompt.text == " ok")
    }
}

@Suite struct SearchFieldTests {
    /// `/the` then `/zzz` used to search "thezzz": the field opened with the last query in it.
    @Test func searchOpensEmptyWithTheLastQueryOneKeyAway() {
        var h = SearchAndFilterTests.fixture()
        h.press("search")
        h.type("ok 1")
        h.press("confirmInput")
        h.press("search")
        #expect(h.state.entry.text == "")
        h.type("zzz")
        #expect(h.screen()[23] == "/zzz")
        h.press("cancelInput")
        h.press("search")
        h.press("historyPrevious")
        #expect(h.state.entry.text == "ok 1")
        h.press("historyNext")
        #expect(h.state.entry.text == "")
    }

    @Test func ctrlRTogglesRegularExpressionsAndABadOneKeepsTheField() {
        var h = SearchAndFilterTests.fixture()
        h.press("search")
        h.press("toggleRegex")
        #expect(h.screen()[23] == "re/")
        h.type("ERROR at [12]0$")
        h.press("confirmInput")
        #expect(h.active.search.regex)
        #expect(h.active.search.matches == [9, 19])
        // Highlights follow the expression, byte for byte.
        #expect(TextMatch("at [12]0", regex: true).ranges(in: "ERROR at 20") == [6..<11])
        // Smart case applies to expressions too.
        #expect(TextMatch("error", regex: true).matches("ERROR at 10"))
        #expect(!TextMatch("Error", regex: true).matches("ERROR at 10"))
        h.press("search")
        h.type("(unclosed")
        h.press("confirmInput")
        #expect(h.state.focus == .search)
        #expect(h.state.status?.kind == .error)
        #expect(h.state.status?.text.hasPrefix("not a regular expression") == true)
    }

    @Test func theMatchCountStaysInViewAndSmartCaseIsInTheHelp() {
        var h = SearchAndFilterTests.fixture()
        h.press("search")
        h.type("error")
        h.press("confirmInput")
        let separator = h.state.layout.promptSeparator.row
        #expect(h.screen()[separator].hasSuffix(" /error 5 of 6 ─"))
        h.press("nextMatch")
        h.send(.tick(now: h.state.now + 60))   // the status message is gone; the count stays
        #expect(h.screen()[separator].hasSuffix(" /error 6 of 6 ─"))
        #expect(HelpView.lines(h.state.keymap).contains { $0.text.contains("Smart case") })
        #expect(KeymapDocs.markdown().contains("Smart case"))
    }
}

@Suite struct DestructiveKeysTests {
    /// `c` cleared the pane for good; now `u` brings the lines back, with what arrived since.
    @Test func aClearCanBeUndoneForAMinute() {
        var h = Harness()
        h.numbered("api", 1...5)
        h.press("search")
        h.type("line")
        h.press("confirmInput")
        h.press("clearPane")
        #expect(h.active.scrollback.isEmpty)
        #expect(h.state.status?.text == "cleared api: u brings it back")
        h.numbered("api", 6...6)
        h.press("undoClear")
        #expect(h.active.scrollback.count == 6)
        #expect(h.outputRows.prefix(6) == ["line 1", "line 2", "line 3", "line 4", "line 5", "line 6"])
        #expect(h.active.search.matches.count == 6)
        // Once a minute has passed there is nothing to bring back.
        h.press("clearPane")
        h.send(.tick(now: h.state.now + 61))
        h.press("undoClear")
        #expect(h.active.scrollback.isEmpty)
        #expect(h.state.status?.text == "nothing to bring back")
    }

    @Test func quitWhileAReplyStreamsAsksOnceAndAnyOtherKeyStays() {
        var h = Harness()
        h.send(.turnsChanged(instance: "api", turns: [SessionViewTests.turn("p1", "hello", "hal", .active, at: SessionViewTests.t0)]))
        #expect(h.press("quit").isEmpty)
        #expect(h.state.status?.text == "api is replying: q again quits, any other key stays")
        #expect(h.key("j").isEmpty)      // any other key: stay, and the key does nothing else
        #expect(h.state.selected == "api")
        #expect(h.press("quit").isEmpty)
        #expect(h.press("quit") == [.quit])
        // Nothing in flight: one key quits, as before.
        var idle = Harness()
        #expect(idle.press("quit") == [.quit])
        // What is in flight, in words: an approval asked for is not a reply streaming.
        var asking = Harness()
        asking.send(.turnsChanged(instance: "api", turns: [SessionViewTests.turn("p1", "tools", "", .active, at: SessionViewTests.t0)]))
        asking.send(.activityChanged(instance: "api", activity: .waitingForApproval(1)))
        #expect(asking.press("quit").isEmpty)
        #expect(asking.state.status?.text == "api waits for your approval: q again quits, any other key stays")
    }
}

@Suite struct FocusStackTests {
    @Test func layersCloseBackToWhatIsBelowAndNeverPileUp() {
        var stack = FocusStack()
        #expect(stack.top == .list)
        stack.push(.prompt)
        stack.push(.search)
        stack.push(.filter)          // replaces the other field
        stack.push(.help)
        stack.push(.turns)           // replaces the other overlay
        #expect(stack.layers == [.prompt, .filter, .turns])
        stack.popOverlays()
        #expect(stack.top == .filter)
        stack.pop()
        #expect(stack.top == .prompt)
        stack.pop()
        stack.pop()                  // the base stays
        #expect(stack.top == .list)
        stack.push(.output)          // a base is never a layer
        #expect(stack.top == .output && stack.layers.isEmpty)
        stack.push(.prompt)
        stack.reset(to: .list)
        #expect(stack.top == .list && stack.layers.isEmpty)
    }
}

/// Attach and detach agree with what the screen says (issue 12).
@Suite struct AttachCoherenceTests {
    @Test func theFooterShowsOnlyKeysThatWorkWhereFocusIs() {
        var h = Harness(rows: 12, cols: 100)
        h.press("attach")
        #expect(h.state.focus == .prompt)
        let footer = h.screen()[11]
        // `d` would type a "d" in the prompt: the footer names Ctrl-], which detaches from there.
        #expect(footer.contains("Ctrl-] detach"), "footer: \(footer)")
        #expect(!footer.contains("d detach"), "footer: \(footer)")
        h.key("escape")
        #expect(h.state.focus == .output)
        #expect(h.screen()[11].contains("d detach"))
    }

    @Test func theDetachKeyWorksFromThePrompt() {
        var h = Harness(rows: 12, cols: 100)
        h.press("attach")
        h.type("draft")
        h.press("detach")   // the key the footer names there
        #expect(!h.state.isAttached)
        #expect(h.state.instances[0].prompt.text == "draft")
    }

    @Test func startedAsAttachNameDetachingLeavesTheProgram() {
        var h = Harness(rows: 12, cols: 100)
        h.state.detachQuits = true
        h.press("attach")
        #expect(h.press("detach") == [.quit])
        // With a reply streaming, it asks once like quit does, and the detach key confirms.
        var busy = Harness(rows: 12, cols: 100)
        busy.state.detachQuits = true
        busy.press("attach")
        busy.send(.queueChanged(instance: "api", count: 1))
        #expect(busy.press("detach") == [])
        #expect(busy.state.confirmingQuit)
        #expect(busy.press("detach") == [.quit])
    }

    @Test func theTitleNamesTheProtocolAsAProtocol() {
        #expect(SessionActions.actions(for: .attachment(instance: "api", state: .attached), now: 0)
                == [.streamState(instance: "api", text: "plain protocol")])
        #expect(SessionActions.actions(for: .stream(instance: "api", event: .modeChanged(.framed)), now: 0)
                == [.streamState(instance: "api", text: "framed protocol (ccb-jsonl/1)")])
    }
}
