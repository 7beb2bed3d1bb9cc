// Keymap: key names, overrides, and the generated docs/keybindings.md.

import Foundation
import Testing
@testable import BridgeTUI

@Suite struct KeymapTests {
    @Test func keyNamesRoundTrip() throws {
        for name in ["q", "G", "?", "space", "ctrl-q", "alt-b", "alt-enter", "pgup", "pgdn", "f2", "f12", "shift-tab", "ctrl-]", "esc"] {
            let spec = try #require(KeySpec(name: name), "\(name)")
            #expect(spec.name == name)
            #expect(KeySpec(name: spec.name) == spec)
        }
        #expect(KeySpec(name: "Ctrl-Q") == KeySpec(name: "ctrl-q"))
        #expect(KeySpec(name: "PageUp") == KeySpec(name: "pgup"))
        #expect(KeySpec(name: "ctrl-") == nil)
        #expect(KeySpec(name: "f13") == nil)
        #expect(KeySpec(name: "hyper-x") == nil)
    }

    @Test func everyCommandHasAKeyAndNoContextHasDuplicates() {
        let keymap = Keymap.defaults
        for command in Command.allCases {
            #expect(keymap.binding(for: command)?.keys.isEmpty == false, "\(command) has no key")
        }
        for context in KeyContext.allCases {
            var seen: [KeySpec: Command] = [:]
            for binding in keymap.bindings where binding.contexts.contains(context) {
                for key in binding.keys {
                    #expect(seen[key] == nil, "\(key) bound twice in \(context): \(seen[key].map { "\($0)" } ?? "") and \(binding.command)")
                    seen[key] = binding.command
                }
            }
        }
    }

    @Test func viAndArrowKeysBothMove() {
        let keymap = Keymap.defaults
        #expect(keymap.command(for: KeySpec(name: "j")!, focus: .list) == .selectNext)
        #expect(keymap.command(for: KeySpec(name: "down")!, focus: .list) == .selectNext)
        #expect(keymap.command(for: KeySpec(name: "k")!, focus: .output) == .scrollUp)
        #expect(keymap.command(for: KeySpec(name: "up")!, focus: .output) == .scrollUp)
        #expect(keymap.command(for: KeySpec(name: "j")!, focus: .help) == .scrollDown)
    }

    @Test func overridesReplaceKeysAndReportUnknownNames() {
        let (keymap, errors) = Keymap.defaults.applying(overrides: [
            "quit": ["ctrl-q", "Q"],
            "scroll-up": ["ctrl-y"],
            "nonsense": ["x"],
            "toggle_wrap": ["ctrl-"],
        ])
        #expect(keymap.command(for: KeySpec(name: "ctrl-q")!, focus: .list) == .quit)
        #expect(keymap.command(for: KeySpec(name: "Q")!, focus: .output) == .quit)
        #expect(keymap.command(for: KeySpec(name: "q")!, focus: .list) == nil)
        #expect(keymap.command(for: KeySpec(name: "ctrl-y")!, focus: .output) == .scrollUp)
        #expect(errors.map(\.message) == [
            "keys.nonsense: unknown action 'nonsense'",
            "keys.toggle_wrap: unknown key 'ctrl-'",
        ])
    }

    @Test func overrideTakesTheKeyFromAnotherCommand() {
        let (keymap, errors) = Keymap.defaults.applying(overrides: ["toggleWrap": ["t"]])
        #expect(errors.isEmpty)
        #expect(keymap.command(for: KeySpec(name: "t")!, focus: .output) == .toggleWrap)
        #expect(keymap.binding(for: .toggleTimestamps)?.keys.isEmpty == true)
    }
}

@Suite struct KeymapDocsTests {
    static let docsPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/keybindings.md").path

    @Test func keybindingsDocIsCurrent() throws {
        let generated = KeymapDocs.markdown()
        if ProcessInfo.processInfo.environment["UPDATE_KEYBINDINGS"] == "1" {
            try generated.write(toFile: KeymapDocsTests.docsPath, atomically: true, encoding: .utf8)
        }
        let committed = try? String(contentsOfFile: KeymapDocsTests.docsPath, encoding: .utf8)
        #expect(committed == generated, "docs/keybindings.md is stale: run scripts/gen-keybindings")
    }

    @Test func docsListEveryCommand() {
        let markdown = KeymapDocs.markdown()
        for command in Command.allCases {
            #expect(markdown.contains("`\(command.rawValue)`"), "\(command) missing from the docs")
        }
    }

    @Test func helpOverlayIsGeneratedFromTheKeymap() {
        let (keymap, _) = Keymap.defaults.applying(overrides: ["quit": ["ctrl-q"]])
        let lines = HelpView.lines(keymap)
        #expect(lines.contains { $0.keys == "Ctrl-Q" && $0.text == "Quit" })
        #expect(!lines.contains { $0.keys == "q" && $0.text == "Quit" })
    }
}
