// PromptTextTests: the prompt text rules (docs/protocol.md, "Prompt text"): controls, escape
// sequences and invisible format characters removed; tabs and line breaks per protocol; the size
// limit; strict UTF-8 for bytes from outside.

import Testing
@testable import BridgeCore

@Suite struct PromptTextTests {
    @Test(arguments: [
        ("C0 and DEL", "a\u{00}b\u{03}c\u{07}d\u{7F}e", "abcde"),
        ("C1 controls", "a\u{85}b\u{9C}c", "abc"),
        ("CSI, 7-bit and C1", "\u{1B}[31mred\u{1B}[0m \u{9B}2Jx", "red x"),
        ("OSC title and clipboard", "a\u{1B}]0;title\u{07}b\u{1B}]52;c;aGk=\u{1B}\\c", "abc"),
        ("DCS and two-byte ESC", "a\u{1B}Pq#0\u{1B}\\b\u{1B}7c\u{1B}(Bd", "abcd"),
        ("bidi overrides and isolates", "admin\u{202E}txt.exe\u{2066}x\u{2069}", "admintxt.exex"),
        ("zero-width, word joiner, BOM, soft hyphen", "a\u{200B}b\u{2060}c\u{FEFF}d\u{AD}e", "abcde"),
        ("tag characters (invisible text)", "hi\u{E0001}\u{E0069}\u{E0067}\u{E006E}", "hi"),
        ("ZWJ emoji and ZWNJ stay", "👨\u{200D}👩\u{200D}👧 می\u{200C}خواهم", "👨\u{200D}👩\u{200D}👧 می\u{200C}خواهم"),
        ("tabs become a space", "a\tb\t\tc", "a b  c"),
    ])
    func removesWhatCouldActOrMislead(name: String, input: String, expected: String) {
        #expect(PromptText.clean(input, keepLines: true).text == expected, "\(name)")
        #expect(PromptText.clean(input, keepLines: false).text == expected, "\(name)")
    }

    @Test func lineBreaksAreKeptOrJoined() {
        let text = "one\r\ntwo\rthree\nfour\u{2028}five"
        #expect(PromptText.clean(text, keepLines: true).text == "one\ntwo\nthree\nfour\nfive")
        let joined = PromptText.clean(text, keepLines: false)
        #expect(joined.text == "one two three four five")
        #expect(joined.joinedLines)
        #expect(PromptText.clean("a\u{03}\u{1B}[1mb", keepLines: true).removed == 2)
    }

    @Test func theLimitIsStatedWithBothSizes() {
        #expect(PromptText.sizeRefusal(PromptText.maxBytes) == nil)
        let refusal = PromptText.sizeRefusal(PromptText.maxBytes + 1)
        #expect(refusal?.contains("1,048,577") == true && refusal?.contains("1,048,576") == true)
    }

    @Test func invalidUTF8IsFoundWithItsOffset() {
        #expect(PromptText.decodeUTF8(Array("héllo".utf8)) == .success("héllo"))
        #expect(PromptText.decodeUTF8([0x68, 0xC3, 0xA9, 0xFF]) == .failure(.init(offset: 3)))
        #expect(PromptText.decodeUTF8([0xE2, 0x82]) == .failure(.init(offset: 0)))
    }
}
