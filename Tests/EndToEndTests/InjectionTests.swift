// InjectionTests: a corpus of hostile agent output written to an instance's out-FIFO while the
// real TUI shows it in tmux. Nothing may reach the terminal: the pane title, the layout, the mouse
// and screen modes stay as they were, and no OSC 52 lands in tmux's paste buffers (tmux is told to
// store clipboard sequences, so one that got through would show up there).

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Hostile output, each entry complete, unterminated (then ended by a control or a cap), or
/// in raw 8-bit C1 form. Every entry ends in a visible marker so the test can see it was read.
enum HostileCorpus {
    static let esc: [UInt8] = [0x1B]
    static func s(_ text: String) -> [UInt8] { Array(text.utf8) }

    static var entries: [(name: String, bytes: [UInt8])] {
        let e = "\u{1B}"
        var list: [(String, [UInt8])] = [
            ("OSC 0 title", s("\(e)]0;PWNED-TITLE\u{07}")),
            ("OSC 2 title ST", s("\(e)]2;PWNED-TITLE2\(e)\\")),
            ("OSC 52 clipboard", s("\(e)]52;c;UFdORUQtQ0xJUA==\u{07}")),
            ("OSC 52 clipboard ST", s("\(e)]52;;UFdORUQtQ0xJUDI=\(e)\\")),
            ("OSC 8 hyperlink", s("\(e)]8;;https://evil.example/\(e)\\click\(e)]8;;\(e)\\")),
            ("CSI cursor home", s("\(e)[H")),
            ("CSI cursor position", s("\(e)[5;5HPWNED-POS")),
            ("CSI cursor up 20", s("\(e)[20A")),
            ("CSI erase display", s("\(e)[2J\(e)[3J")),
            ("CSI erase line", s("\(e)[2K")),
            ("CSI scroll region", s("\(e)[2;3r")),
            ("CSI scroll up/down", s("\(e)[5S\(e)[5T")),
            ("CSI insert/delete lines", s("\(e)[10L\(e)[10M")),
            ("DECSET 1049 off", s("\(e)[?1049l")),
            ("DECSET 47 off", s("\(e)[?47l")),
            ("DECSET 1000 mouse", s("\(e)[?1000h\(e)[?1002h\(e)[?1003h\(e)[?1006h")),
            ("DECSET 2004 paste", s("\(e)[?2004h")),
            ("DECTCEM hide cursor", s("\(e)[?25l")),
            ("DECSCUSR", s("\(e)[5 q")),
            ("reverse video", s("\(e)[?5h")),
            ("RIS full reset", s("\(e)c")),
            ("DECALN", s("\(e)#8")),
            ("DCS", s("\(e)P1$qm\(e)\\")),
            ("DCS tmux passthrough", s("\(e)Ptmux;\(e)\(e)]0;PWNED-PASS\u{07}\(e)\\")),
            ("APC", s("\(e)_Ga=T;AAAA\(e)\\")),
            ("PM", s("\(e)^pm\(e)\\")),
            ("SOS", s("\(e)Xsos\(e)\\")),
            ("UTF-8 C1 CSI", s("\u{9B}2J\u{9B}?1049l")),
            ("UTF-8 C1 OSC", s("\u{9D}0;PWNED-C1\u{9C}")),
            // Raw 0x80-0x9F bytes are not UTF-8: they become U+FFFD and what follows is plain
            // text, exactly as a UTF-8 terminal treats them (so the payload here is visible).
            ("8-bit C1 CSI", [0x9B, 0x32, 0x4A]),
            ("8-bit C1 OSC", [0x9D] + s("0;visible-8bit") + [0x07]),
            ("8-bit C1 DCS/APC", [0x90, 0x71, 0x9C, 0x9F, 0x61, 0x9C]),
            ("title query (answer-back)", s("\(e)[21t\(e)[>c\(e)[6n")),
            ("window ops", s("\(e)[8;1;1t\(e)[2t")),
            ("unterminated OSC 0 ended by CAN", s("\(e)]0;PWNED-HALF\u{18}")),
            ("unterminated OSC 52 ended by SUB", s("\(e)]52;c;UFdORUQ=\u{1A}")),
            ("unterminated CSI ended by CAN", s("\(e)[?1049\u{18}")),
            ("unterminated DCS ended by CAN", s("\(e)Pdata\u{18}")),
            ("unterminated OSC 52 past the cap", s("\(e)]52;c;") + Array(repeating: 0x41, count: 5000)),
        ]
        for i in list.indices { list[i].1 += s(" <\(i)>\n") }
        return list.map { (name: $0.0, bytes: $0.1) }
    }
}

@Suite(.serialized) struct InjectionTests {
    /// Writes every entry, each split into pieces of 1 to 7 bytes with pauses so the TUI reads
    /// them across many reads, and checks the screen and the terminal state afterwards.
    @Test func hostileOutputNeverReachesTheTerminal() throws {
        let s = try TUISession()
        try s.tmux.tmux(["set-option", "-s", "set-clipboard", "on"])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        // The baseline once the agent was seen and its health checked (the top row shows it).
        #expect(try s.tmux.waitFor("bot ● healthy"), "screen:\n\(s.tmux.dump)")
        let title = try s.tmux.paneInfo("#{pane_title}")
        let modes = "#{alternate_on} #{mouse_any_flag} #{mouse_button_flag} #{mouse_sgr_flag} #{mouse_all_flag} #{cursor_flag} #{insert_flag}"
        let before = try s.tmux.paneInfo(modes)
        let screenBefore = try s.tmux.capture()
        #expect(try s.tmux.tmux(["list-buffers"]).stdout.isEmpty)

        let entries = HostileCorpus.entries
        var piece = 1
        for (index, entry) in entries.enumerated() {
            var rest = entry.bytes[...]
            while !rest.isEmpty {
                let n = min(piece, rest.count)
                try s.emit("bot", bytes: Array(rest.prefix(n)))
                rest = rest.dropFirst(n)
                piece = piece % 7 + 1
                if rest.count % 3 == 0 { usleep(500) }
            }
            // Each entry's marker shows, so the bytes were read and drawn.
            #expect(try s.tmux.waitFor("<\(index)>"), "\(entry.name): screen:\n\(s.tmux.dump)")
        }
        try s.emit("bot", "END-OF-CORPUS\n")
        #expect(try s.tmux.waitFor("END-OF-CORPUS"))
        usleep(300_000)

        let screen = try s.tmux.capture()
        #expect(try s.tmux.paneInfo("#{pane_title}") == title, "the title changed")
        #expect(try s.tmux.paneInfo(modes) == before, "terminal modes changed")
        #expect(try s.tmux.paneInfo("#{alternate_on}") == "1")
        #expect(try s.tmux.tmux(["list-buffers"]).stdout.isEmpty, "an OSC 52 reached tmux's clipboard")
        // Layout intact: same number of rows, the frame rows (top border, prompt border, status
        // bar) where they were, the instance list still there, and no payload text anywhere.
        #expect(screen.count == screenBefore.count)
        #expect(screen.first == screenBefore.first, "top row:\n\(screen.first ?? "")\nwas\n\(screenBefore.first ?? "")")
        let promptRow = screenBefore.firstIndex { $0.contains("─ prompt → bot") }
        #expect(promptRow != nil && screen[promptRow!].contains("─ prompt → bot"), "screen:\n\(screen.joined(separator: "\n"))")
        #expect(screen.contains { $0.contains("other") })
        let text = screen.joined(separator: "\n")
        for payload in ["PWNED", "evil.example", "UFdORUQ"] {
            #expect(!text.contains(payload), "payload \(payload) on screen:\n\(text)")
        }
        // Still usable afterwards.
        try s.tmux.send("Tab")
        try s.tmux.send("still fine", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: still fine"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.paneInfo("#{pane_title}") == title)
    }
}
