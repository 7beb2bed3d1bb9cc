// Themes: shipped files load, errors carry file:line, NO_COLOR, colour-depth fallback.

import Foundation
import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct ThemeTests {
    static let themesDir = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("themes").path

    @Test(arguments: ThemeLoader.shippedThemes)
    func shippedThemeLoads(name: String) throws {
        let theme = try ThemeLoader.load(nameOrPath: name, searchPaths: [ThemeTests.themesDir])
        #expect(theme.name == name)
        // Every role is set explicitly by each shipped file.
        let text = try String(contentsOfFile: ThemeTests.themesDir + "/\(name).theme", encoding: .utf8)
        for role in ThemeRole.allCases {
            #expect(text.contains("\n\(role.rawValue) "), "\(name).theme does not set \(role.rawValue)")
        }
    }

    @Test func defaultAndMonochromeFilesMatchTheBuiltIns() throws {
        let dir = [ThemeTests.themesDir]
        let loaded = try ThemeLoader.load(nameOrPath: "default", searchPaths: dir)
        let mono = try ThemeLoader.load(nameOrPath: "monochrome", searchPaths: dir)
        for role in ThemeRole.allCases {
            #expect(loaded.style(role) == Theme.builtinDefault.style(role), "default.theme \(role.rawValue)")
            #expect(mono.style(role) == Theme.monochrome.style(role), "monochrome.theme \(role.rawValue)")
        }
        #expect(mono.agentColors == false)
        // Monochrome has no colour at all.
        for (_, style) in mono.roles {
            #expect(style.fg == nil || style.fg == .default)
            #expect(style.bg == nil || style.bg == .default)
        }
    }

    @Test func parsesColoursAttributesAndComments() throws {
        let theme = try ThemeLoader.parse("""
            # a comment
            list.selected = black on cyan bold   # trailing comment
            output.match  = #ff8000 on color(236) underline
            title.bg      = blue
            ansi.1        = bright-red
            """, file: "t.theme", name: "t")
        #expect(theme.value(.listSelected) == ThemeStyle(fg: .ansi(0), bg: .ansi(6), attrs: [.bold]))
        #expect(theme.value(.outputMatch) == ThemeStyle(fg: .rgb(255, 128, 0), bg: .palette(236), attrs: [.underline]))
        #expect(theme.value(.titleBg) == ThemeStyle(bg: .ansi(4)))
        #expect(theme.ansiPalette[1] == .ansi(9))
        // Missing roles keep the built-in value.
        #expect(theme.value(.stateOk) == Theme.builtinDefault.value(.stateOk))
        // The title composes title.fg with title.bg's colour.
        #expect(theme.style(.titleFg, on: .titleBg) == CellStyle(fg: .default, bg: .ansi(4), attrs: [.bold]))
    }

    @Test func brokenThemeReportsFileAndLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ccb-theme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("broken.theme").path
        try "# ok\nlist.fg = red\n\noutput.match = purple bold\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ThemeError.syntax(file: file, line: 4, message: "output.match: unknown colour or attribute 'purple'")) {
            try ThemeLoader.load(nameOrPath: "broken", searchPaths: [dir.path])
        }
        let error = ThemeError.syntax(file: file, line: 4, message: "m")
        #expect(error.description == "\(file):4: m")
        #expect(throws: ThemeError.syntax(file: "x", line: 2, message: "unknown role 'list.colour'")) {
            try ThemeLoader.parse("list.fg = red\nlist.colour = red", file: "x", name: "x")
        }
        #expect(throws: ThemeError.syntax(file: "x", line: 1, message: "expected 'role = value'")) {
            try ThemeLoader.parse("list.fg red", file: "x", name: "x")
        }
        #expect(throws: ThemeError.syntax(file: "x", line: 1, message: "list.fg: missing colour after 'on'")) {
            try ThemeLoader.parse("list.fg = red on", file: "x", name: "x")
        }
    }

    @Test func missingThemeIsAnErrorButDefaultFallsBack() throws {
        #expect(throws: ThemeError.self) { try ThemeLoader.load(nameOrPath: "nope", searchPaths: ["/nonexistent"]) }
        #expect(try ThemeLoader.load(nameOrPath: "default", searchPaths: ["/nonexistent"]) == .builtinDefault)
    }

    @Test func noColorForcesMonochrome() throws {
        let dir = [ThemeTests.themesDir]
        let forced = try ThemeLoader.resolve(configured: "dark", environment: ["NO_COLOR": "1"], searchPaths: dir)
        #expect(forced == .monochrome)
        let empty = try ThemeLoader.resolve(configured: "dark", environment: ["NO_COLOR": ""], searchPaths: dir)
        #expect(empty.name == "dark")
        #expect(ColorDepth.detect(colors: 256, environment: ["NO_COLOR": "yes"]) == ColorDepth.none)
        // Agent colours are dropped in monochrome, attributes kept.
        let style = Theme.monochrome.style(for: TextStyle(foreground: .ansi(1), bold: true), base: .plain)
        #expect(style == CellStyle(attrs: [.bold]))
    }

    @Test func colourDepthFallback() {
        #expect(ColorDepth.resolve(.rgb(255, 0, 0), .trueColor) == .rgb(255, 0, 0))
        #expect(ColorDepth.resolve(.rgb(255, 0, 0), .colors256) == .palette(196))
        #expect(ColorDepth.resolve(.rgb(128, 128, 128), .colors256) == .palette(244))
        #expect(ColorDepth.resolve(.rgb(255, 0, 0), .colors16) == .ansi(9))
        #expect(ColorDepth.resolve(.rgb(255, 0, 0), .colors8) == .ansi(1))
        #expect(ColorDepth.resolve(.rgb(255, 0, 0), .none) == .default)
        #expect(ColorDepth.resolve(.palette(21), .colors16) == .ansi(4))
        #expect(ColorDepth.resolve(.palette(196), .colors16) == .ansi(9))
        #expect(ColorDepth.resolve(.palette(3), .colors256) == .ansi(3))
        #expect(ColorDepth.resolve(.ansi(10), .colors8) == .ansi(2))
        #expect(ColorDepth.resolve(.default, .trueColor) == .default)
        #expect(ColorDepth.detect(colors: 1 << 24, environment: [:]) == .trueColor)
        #expect(ColorDepth.detect(colors: 8, environment: [:]) == .colors8)
    }

    @Test func agentColoursGoThroughThePalette() throws {
        let theme = try ThemeLoader.parse("ansi.1 = #cc3333", file: "p", name: "p")
        let style = theme.style(for: TextStyle(foreground: .ansi(1), background: .palette(4), underline: true), base: .plain)
        #expect(style == CellStyle(fg: .rgb(0xCC, 0x33, 0x33), bg: .ansi(4), attrs: [.underline]))
        #expect(theme.style(for: TextStyle(foreground: .palette(200)), base: .plain).fg == .palette(200))
    }
}

/// Issue 12: every shipped theme works from a binary copied anywhere; a bad theme is a warning.
@Suite struct BuiltinThemeTests {
    static let sourcePath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/BridgeTUI/Theme/BuiltinThemes.swift").path

    /// The Swift source that compiles `themes/*.theme` into the binary.
    static func generatedSource() throws -> String {
        var out = """
        // BuiltinThemes: the five shipped theme files, compiled into the binary so a copy of it placed
        // anywhere has all of them. Generated from themes/*.theme by scripts/gen-builtin-themes; a test
        // fails when this file and themes/ disagree.

        enum BuiltinThemes {
            static let text: [String: String] = [

        """
        for name in ThemeLoader.shippedThemes {
            let text = try String(contentsOfFile: ThemeTests.themesDir + "/\(name).theme", encoding: .utf8)
            out += "        \"\(name)\": #\"\"\"\n" + text + "\"\"\"#,\n"
        }
        out += "    ]\n}\n"
        return out
    }

    @Test func builtinThemesMatchTheFiles() throws {
        let expected = try BuiltinThemeTests.generatedSource()
        let committed = (try? String(contentsOfFile: BuiltinThemeTests.sourcePath, encoding: .utf8)) ?? ""
        if ProcessInfo.processInfo.environment["UPDATE_THEMES"] == "1", committed != expected {
            try expected.write(toFile: BuiltinThemeTests.sourcePath, atomically: true, encoding: .utf8)
            return
        }
        #expect(committed == expected, "BuiltinThemes.swift is stale: run scripts/gen-builtin-themes")
        for name in ThemeLoader.shippedThemes {
            let text = try String(contentsOfFile: ThemeTests.themesDir + "/\(name).theme", encoding: .utf8)
            #expect(BuiltinThemes.text[name].map { $0 + "\n" } == text, "\(name)")
        }
    }

    @Test(arguments: ThemeLoader.shippedThemes)
    func everyShippedThemeLoadsWithoutItsFile(name: String) throws {
        let theme = try ThemeLoader.load(nameOrPath: name, searchPaths: ["/nonexistent"])
        let fromFile = try ThemeLoader.load(nameOrPath: name, searchPaths: [ThemeTests.themesDir])
        #expect(theme.name == name)
        for role in ThemeRole.allCases { #expect(theme.style(role) == fromFile.style(role), "\(name) \(role.rawValue)") }
    }

    @Test func anUnknownOrBrokenThemeWarnsAndFallsBackToTheDefault() {
        let (theme, warning) = ThemeLoader.resolveOrDefault(configured: "nope", environment: [:], searchPaths: ["/nonexistent"])
        #expect(theme == .builtinDefault)
        #expect(warning?.contains("theme 'nope' not found") == true)
        #expect(warning?.contains("using the default theme") == true)
        let (dark, none) = ThemeLoader.resolveOrDefault(configured: "dark", environment: [:], searchPaths: ["/nonexistent"])
        #expect(dark.name == "dark")
        #expect(none == nil)
    }
}
