// ConfirmAndTypingTests: destructive keys ask first, as `tui.confirm` says; a typed sentence
// outside the prompt goes to the prompt whole; `n` follows the search's direction (issue 12).
// Keys are pressed by binding name.

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct ConfirmationTests {
    /// `x` interrupted at once; now it names the instance and waits for y/n.
    @Test func interruptAsksNamingTheInstanceAndOnlyYRunsIt() {
        var h = Harness(instances: ["alpha", "beta"])
        #expect(h.press("interrupt").isEmpty)
        #expect(h.state.status?.text == "interrupt alpha's reply? y/n")
        #expect(h.screen()[23].contains("interrupt alpha's reply? y/n"))
        // Any other key says no and does nothing else: `j` does not move the selection.
        #expect(h.key("j").isEmpty)
        #expect(h.state.selected == "alpha")
        #expect(h.state.status?.text == "not interrupted (alpha)")
        // `y`, or the same key again, says yes.
        h.press("interrupt")
        #expect(h.key("y") == [.interrupt(instance: "alpha")])
        h.press("interrupt")
        #expect(h.press("interrupt") == [.interrupt(instance: "alpha")])
        #expect(h.state.pendingConfirmation == nil)
    }

    @Test func resendAsksWithThePromptAndTheInstance() {
        var h = SessionViewTests.restored()
        h.press("toggleTurns")
        #expect(h.press("resendTurn").isEmpty)
        #expect(h.state.status?.text == "re-send \"and now?\" to api? y/n")
        #expect(h.key("n").isEmpty)
        #expect(h.state.focus == .turns)   // the overlay stays open after a no
        #expect(h.key("y").isEmpty)        // a y with no question pending is no answer
        h.press("resendTurn")
        #expect(h.key("y") == [.send(instance: "api", promptID: "p1", text: "and now?")])
    }

    /// The set is data: `tui.confirm` in config.yaml, as `tui.keys` is.
    @Test func theConfirmedCommandsComeFromTheConfig() {
        var settings = TUISettings()
        settings.confirm = ["clear_pane"]
        var h = Harness(settings: settings)
        h.numbered("api", 1...3)
        #expect(h.press("interrupt") == [.interrupt(instance: "api")])   // not in the list: no question
        h.press("clearPane")
        #expect(h.state.status?.text == "clear api's pane? y/n")
        #expect(h.active.scrollback.count == 3)
        h.key("y")
        #expect(h.active.scrollback.isEmpty)
        // `quit` out of the list: quitting while a reply streams does not ask.
        h.send(.queueChanged(instance: "api", count: 1))
        #expect(h.press("quit") == [.quit])
        // Unknown names are reported, the rest applies.
        settings.confirm = ["interrupt", "select_next"]
        let bad = Harness(settings: settings)
        #expect(bad.state.keymap.confirmed == [.interrupt])
        #expect(bad.state.keymapErrors.map(\.message) == ["confirm: 'select_next' is not one of interrupt, resendTurn, quit, clearPane"])
    }

    @Test func theConfigFileReadsTheList() throws {
        let config = try ConfigLoader.parse("tui:\n  confirm: [interrupt, quit]\n", file: "config.yaml")
        #expect(config.tui.confirm == ["interrupt", "quit"])
        #expect(KeymapDocs.markdown().contains("tui.confirm"))
    }
}

@Suite struct TypedSentenceTests {
    static func typed(_ text: String) -> [InputEvent] {
        TypingBurst.mark(text.map { .key(.char($0)) })
    }

    /// "can you fix it" cleared the pane (`c`), attached (`a`) and typed "n you fix it". Read
    /// in one go, as a tool or a fast typist sends it, it is text for the selected instance.
    @Test func aSentenceReadInOneGoGoesWholeToThePromptOfTheSelectedInstance() {
        var h = Harness(instances: ["alpha", "beta"])
        h.press("selectNext")
        h.numbered("beta", 1...3)
        for case .key(let key) in TypedSentenceTests.typed("can you fix it") { h.send(.key(key)) }
        #expect(h.state.focus == .prompt)
        #expect(!h.state.isAttached)
        #expect(h.state.instance(named: "beta")?.prompt.text == "can you fix it")
        #expect(h.state.instance(named: "alpha")?.prompt.text == "")
        #expect(h.state.instance(named: "beta")?.scrollback.count == 3)   // not cleared
        #expect(h.effects.isEmpty)
    }

    @Test func commandKeysOnTheirOwnAndAHeldKeyStillRunCommands() {
        // One key per read: commands.
        #expect(TypingBurst.mark([.key(.char("c"))]) == [.key(.char("c"))])
        // Two keys that arrive together under load still run (G then j).
        #expect(TypingBurst.mark([.key(.char("G")), .key(.char("j"))]) == [.key(.char("G")), .key(.char("j"))])
        // A held key repeats one character: it scrolls, it is no sentence.
        let held = Array(repeating: InputEvent.key(.char("j")), count: 5)
        #expect(TypingBurst.mark(held) == held)
        // A run is only the printable keys: an arrow key splits it.
        let mixed = TypingBurst.mark([.key(.char("a")), .key(.char("b")), .key(KeyEvent(.down)), .key(.char("c")), .key(.char("d")), .key(.char("e"))])
        #expect(mixed.map { if case .key(let k) = $0 { k.typed } else { false } } == [false, false, false, true, true, true])
        var h = Harness()
        h.press("selectNext")
        #expect(h.state.selected == "web")
    }

    /// A question is answered only by a key on its own: a sentence starting with `y` says no.
    @Test func aTypedSentenceNeverAnswersAQuestion() {
        var h = Harness()
        h.press("interrupt")
        for case .key(let key) in TypedSentenceTests.typed("yes do it") { h.send(.key(key)) }
        #expect(h.effects.isEmpty)
        #expect(h.active.prompt.text == "yes do it")
    }
}

@Suite struct SearchDirectionTests {
    /// `n` went to the older match; a search goes forward (downwards) and `n` keeps going so.
    @Test func nGoesToTheNextMatchInTheSearchDirection() {
        var h = Harness()
        h.output("api", (1...60).map { $0 % 10 == 0 ? "ERROR at \($0)" : "ok \($0)" })
        h.press("scrollTop")
        h.press("search")
        h.type("error")
        h.press("confirmInput")
        #expect(h.active.search.current == 9)       // first match from the top of the view
        h.press("nextMatch")
        #expect(h.active.search.current == 19)      // newer, downwards
        #expect(h.outputRows.contains("ERROR at 20"))
        h.press("previousMatch")
        #expect(h.active.search.current == 9)
        // Help and docs say the same.
        let help = HelpView.lines(h.state.keymap).map(\.text).joined(separator: "\n")
        #expect(help.contains("Next match in the search's direction (newer, downwards)"))
        #expect(KeymapDocs.markdown().contains("Next match in the search's direction (newer, downwards)"))
    }
}

@Suite struct RulesInHelpTests {
    @Test func theHelpStatesTheTypingAndConfirmationRules() {
        let help = HelpView.lines(Keymap.defaults).map(\.text).joined(separator: " ")
        #expect(help.contains("read together"))
        #expect(help.contains("tui.confirm"))
        #expect(KeymapDocs.markdown().contains("## Rules"))
    }
}
