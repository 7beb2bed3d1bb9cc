// Escape and control sequences are removed whole, also when split across two feeds at every byte.

import Testing
@testable import BridgeCore

private let esc = "\u{1B}"

/// Sequences that must vanish between "A" and "B".
private let removedSequences: [(name: String, sequence: String)] = [
    ("CSI erase display", "\(esc)[2J"),
    ("CSI cursor position", "\(esc)[12;40H"),
    ("CSI cursor up", "\(esc)[1A"),
    ("DECSET alt screen", "\(esc)[?1049h"),
    ("DECRST alt screen", "\(esc)[?1049l"),
    ("DECSET mouse", "\(esc)[?1000h"),
    ("DECSET bracketed paste", "\(esc)[?2004h"),
    ("scroll region", "\(esc)[3;20r"),
    ("private SGR-like (xterm modifyKeys)", "\(esc)[>4;2m"),
    ("CSI with intermediate", "\(esc)[2 q"),
    ("CSI with many params", "\(esc)[" + Array(repeating: "1", count: 100).joined(separator: ";") + "X"),
    ("OSC title BEL", "\(esc)]0;a title\u{07}"),
    ("OSC title with UTF-8", "\(esc)]2;tïtle ❯ 😀\u{07}"),
    ("OSC 52 clipboard ST", "\(esc)]52;c;SGVsbG8gd29ybGQ=\(esc)\\"),
    ("OSC 8 hyperlink ST", "\(esc)]8;;https://example.com/a?b=c\(esc)\\"),
    ("DCS", "\(esc)P1$r0;1m\(esc)\\"),
    ("SOS", "\(esc)Xsos string\(esc)\\"),
    ("PM", "\(esc)^privacy message\(esc)\\"),
    ("APC", "\(esc)_Gf=100;payload\(esc)\\"),
    ("ESC =", "\(esc)="),
    ("ESC >", "\(esc)>"),
    ("ESC 7", "\(esc)7"),
    ("ESC 8", "\(esc)8"),
    ("ESC c", "\(esc)c"),
    ("ESC M", "\(esc)M"),
    ("charset ESC ( B", "\(esc)(B"),
    ("charset ESC ) 0", "\(esc))0"),
    ("ESC # 8", "\(esc)#8"),
    ("stray ST", "\(esc)\\"),
    ("C1 CSI", "\u{9B}2J"),
    ("C1 CSI private", "\u{9B}?25l"),
    ("C1 OSC ended by C1 ST", "\u{9D}0;title\u{9C}"),
    ("C1 OSC ended by BEL", "\u{9D}0;title\u{07}"),
    ("C1 OSC ended by ESC \\", "\u{9D}0;title\(esc)\\"),
    ("C1 DCS", "\u{90}1$r\u{9C}"),
    ("C1 SOS", "\u{98}sos\u{9C}"),
    ("C1 PM", "\u{9E}pm\u{9C}"),
    ("C1 APC", "\u{9F}apc\u{9C}"),
    ("C1 NEL alone", "\u{85}"),
    ("C1 stray ST", "\u{9C}"),
    ("CAN aborts CSI", "\(esc)[12;3\u{18}"),
    ("SUB aborts OSC", "\(esc)]0;half a title\u{1A}"),
    ("CAN aborts DCS", "\(esc)Pdata\u{18}"),
    ("ESC ESC [", "\(esc)\(esc)[1A"),
    ("NUL", "\u{0}"),
    ("BEL", "\u{07}"),
    ("DEL", "\u{7F}"),
    ("SOH", "\u{01}"),
    ("VT", "\u{0B}"),
    ("FF", "\u{0C}"),
    ("SUB alone", "\u{1A}"),
    ("DEL inside CSI", "\(esc)[1\u{7F}A"),
]

@Test(arguments: removedSequences)
func sequenceIsRemoved(name: String, sequence: String) {
    let bytes = Array("A\(sequence)B".utf8)
    let whole = collect([bytes])
    #expect(whole.texts == ["AB"], "\(name) whole")
    #expect(whole.lines.allSatisfy { $0.runs.isEmpty }, "\(name) must not style")
    for k in 1..<bytes.count {
        let parts = collect(split(bytes, at: k))
        #expect(parts.texts == ["AB"], "\(name) split at \(k)")
        #expect(parts.protocolViolations == 0)
    }
}

@Test func oneByteFeedsRemoveEverySequence() {
    let all = removedSequences.map { "A\($0.sequence)B\n" }.joined()
    let bytes = Array(all.utf8)
    let out = collect(bytes.map { [$0] })
    #expect(out.texts == Array(repeating: "AB", count: removedSequences.count))
}

@Test func unterminatedStringIsCappedAndTextResumes() {
    // An OSC that never ends swallows at most 4 KiB; the text after the cap is shown again.
    let payload = String(repeating: "p", count: EscapeParser.maxStringBytes + 100)
    let out = collect("A\(esc)]0;\(payload)\nB\n")
    #expect(out.texts.count == 2)
    #expect(out.texts[0].hasPrefix("A"))
    #expect(out.texts[0].count < 200)   // only what follows the cap
    #expect(out.texts[1] == "B")
}

@Test func overlongCSIIsAbandoned() {
    let params = String(repeating: "1", count: EscapeParser.maxControlBytes + 10)
    let out = collect("A\(esc)[\(params)mB\n")
    #expect(out.texts.count == 1)
    #expect(out.texts[0].hasPrefix("A"))
    #expect(out.texts[0].hasSuffix("mB"))
    #expect(out.lines[0].runs.isEmpty)
}

@Test func controlsInsideCSIAreExecuted() {
    // A terminal executes C0 controls met inside a CSI; the sequence continues afterwards.
    let out = collect("ab\(esc)[3\nmx\n")
    #expect(out.texts == ["ab", "x"])
    #expect(out.lines[1].runs == [StyleRun(start: 0, count: 1, style: TextStyle(italic: true))])
}

@Test func hostileCorpusLeavesNoForbiddenScalar() {
    var rng = SplitMix64(seed: 0xC0FFEE)
    let alphabet: [UInt8] = [0x1B, 0x1B, 0x5B, 0x5D, 0x50, 0x5C, 0x07, 0x18, 0x1A, 0x3B, 0x3A, 0x3F, 0x31, 0x33, 0x38,
                             0x6D, 0x4B, 0x47, 0x0D, 0x0A, 0x08, 0x09, 0x00, 0x7F, 0xC2, 0x9B, 0x9C, 0x9D, 0x90, 0x85,
                             0xE2, 0x9D, 0xAF, 0xF0, 0x9F, 0xFF, 0x80, 0x41, 0x62, 0x20]
    for round in 0..<40 {
        let bytes = (0..<20_000).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        var chunks: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            let len = Int(rng.next() % 64) + 1
            chunks.append(Array(bytes[i..<min(bytes.count, i + len)]))
            i += len
        }
        let out = collect(chunks, maxLineBytes: 512)
        #expect(out.protocolViolations == 0)
        for line in out.lines {
            #expect(isSanitized(line.text), "round \(round): \(line.text.unicodeScalars.map { $0.value })")
            #expect(line.text.utf8.count <= 512)
            let utf8Count = line.text.utf8.count
            for run in line.runs {
                #expect(run.start >= 0 && run.count > 0 && run.start + run.count <= utf8Count)
            }
        }
    }
}
