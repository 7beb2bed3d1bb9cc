// SGR sequences become style runs at the right UTF-8 offsets, in all their forms.

import Testing
@testable import BridgeCore

private let esc = "\u{1B}"

@Test(arguments: [
    ("1", TextStyle(bold: true)),
    ("2", TextStyle(dim: true)),
    ("3", TextStyle(italic: true)),
    ("4", TextStyle(underline: true)),
    ("4:3", TextStyle(underline: true)),
    ("7", TextStyle(reverse: true)),
    ("1;2;3;4;7", TextStyle(bold: true, dim: true, italic: true, underline: true, reverse: true)),
    ("1;2;3;4;7;22;23;24;27", TextStyle()),
    ("1;0", TextStyle()),
    ("1;", TextStyle()),          // empty parameter means 0
    ("31", TextStyle(foreground: .ansi(1))),
    ("37;40", TextStyle(foreground: .ansi(7), background: .ansi(0))),
    ("90", TextStyle(foreground: .ansi(8))),
    ("97", TextStyle(foreground: .ansi(15))),
    ("47", TextStyle(background: .ansi(7))),
    ("100", TextStyle(background: .ansi(8))),
    ("107", TextStyle(background: .ansi(15))),
    ("38;5;196", TextStyle(foreground: .palette(196))),
    ("48;5;17", TextStyle(background: .palette(17))),
    ("38:5:196", TextStyle(foreground: .palette(196))),
    ("48:5:17", TextStyle(background: .palette(17))),
    ("38;2;1;2;3", TextStyle(foreground: .rgb(1, 2, 3))),
    ("48;2;255;128;0", TextStyle(background: .rgb(255, 128, 0))),
    ("38:2::1:2:3", TextStyle(foreground: .rgb(1, 2, 3))),
    ("38:2:0:1:2:3", TextStyle(foreground: .rgb(1, 2, 3))),
    ("38:2:1:2:3", TextStyle(foreground: .rgb(1, 2, 3))),
    ("48:2::4:5:6;1", TextStyle(background: .rgb(4, 5, 6), bold: true)),
    ("38;5;196;1", TextStyle(foreground: .palette(196), bold: true)),
    ("38;2;1;2;3;4", TextStyle(foreground: .rgb(1, 2, 3), underline: true)),
    ("31;39", TextStyle()),
    ("41;49", TextStyle()),
    ("38;5;300", TextStyle()),    // out of range: ignored
    ("38;5", TextStyle()),        // truncated
    ("5;8;9;53", TextStyle()),    // blink, conceal, strike, overline: not modelled
])
func sgrMapsToStyle(params: String, expected: TextStyle) {
    let out = collect("\(esc)[\(params)mx\n")
    #expect(out.texts == ["x"])
    let runs = out.lines.first?.runs ?? []
    if expected.isPlain {
        #expect(runs.isEmpty, "\(params)")
    } else {
        #expect(runs == [StyleRun(start: 0, count: 1, style: expected)], "\(params)")
    }
}

@Test func runsUseUTF8OffsetsWithMultiByteText() {
    let out = collect("ä\(esc)[32mö❯\(esc)[0m plain \(esc)[1m😀\n")
    #expect(out.texts == ["äö❯ plain 😀"])
    #expect(out.lines[0].runs == [
        StyleRun(start: 2, count: 5, style: TextStyle(foreground: .ansi(2))),
        StyleRun(start: 14, count: 4, style: TextStyle(bold: true)),
    ])
}

@Test func runsAreExactAfterReplacementRepair() {
    let bytes: [UInt8] = [0xFF, 0x41] + Array("\(esc)[4m".utf8) + [0xE2, 0x9D, 0x42] + Array("\(esc)[24mz\n".utf8)
    let out = collect([bytes])
    #expect(out.texts == ["\u{FFFD}A\u{FFFD}Bz"])
    #expect(out.lines[0].runs == [StyleRun(start: 4, count: 4, style: TextStyle(underline: true))])
    for k in 1..<bytes.count {
        #expect(collect(split(bytes, at: k)).lines == out.lines, "split at \(k)")
    }
}

@Test func adjacentSameStyleTextMakesOneRun() {
    let out = collect("\(esc)[31mab\(esc)[31mcd\(esc)[0m\n")
    #expect(out.lines[0].runs == [StyleRun(start: 0, count: 4, style: TextStyle(foreground: .ansi(1)))])
}

@Test func styleCarriesOverToFollowingLines() {
    let out = collect("\(esc)[1;31mone\ntwo\(esc)[0m\nthree\n")
    let red = TextStyle(foreground: .ansi(1), bold: true)
    #expect(out.texts == ["one", "two", "three"])
    #expect(out.lines[0].runs == [StyleRun(start: 0, count: 3, style: red)])
    #expect(out.lines[1].runs == [StyleRun(start: 0, count: 3, style: red)])
    #expect(out.lines[2].runs.isEmpty)
}

@Test func overwriteUpdatesRuns() {
    // "abcdef" with "cd" red, then \r and a green "XYZ" over the start.
    let out = collect("ab\(esc)[31mcd\(esc)[0mef\r\(esc)[32mXYZ\(esc)[0m\n")
    #expect(out.texts == ["XYZdef"])
    #expect(out.lines[0].runs == [
        StyleRun(start: 0, count: 3, style: TextStyle(foreground: .ansi(2))),
        StyleRun(start: 3, count: 1, style: TextStyle(foreground: .ansi(1))),
    ])
    // Plain text over a styled multi-byte scalar, changing the byte length.
    let out2 = collect("\(esc)[1m❯❯\(esc)[0mab\rx\n")
    #expect(out2.texts == ["x❯ab"])
    #expect(out2.lines[0].runs == [StyleRun(start: 1, count: 3, style: TextStyle(bold: true))])
    // Erase to end trims runs.
    let out3 = collect("\(esc)[1mbold\(esc)[0m\r\(esc)[2C\(esc)[K\n")
    #expect(out3.texts == ["bo"])
    #expect(out3.lines[0].runs == [StyleRun(start: 0, count: 2, style: TextStyle(bold: true))])
}
