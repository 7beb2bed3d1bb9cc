// InputDecoder: bytes from the terminal to keys, pastes and mouse reports.

import Testing
@testable import BridgeTUI

@Suite struct InputDecoderTests {
    func decode(_ text: String) -> [InputEvent] {
        var decoder = InputDecoder()
        return decoder.feed(Array(text.utf8))
    }

    func key(_ name: String) -> InputEvent { .key(.named(name)) }

    @Test func plainCharactersAndUTF8() {
        #expect(decode("aZ/") == [key("a"), key("Z"), key("/")])
        #expect(decode("日本") == [.key(.char("日")), .key(.char("本"))])
    }

    @Test func controlKeys() {
        #expect(decode("\u{01}\u{05}\u{0B}\u{15}\u{17}") == [key("ctrl-a"), key("ctrl-e"), key("ctrl-k"), key("ctrl-u"), key("ctrl-w")])
        #expect(decode("\r\t\u{7F}\u{0A}\u{1D}") == [key("enter"), key("tab"), key("backspace"), key("ctrl-j"), key("ctrl-]")])
    }

    @Test func arrowsCSIAndSS3() {
        #expect(decode("\u{1B}[A\u{1B}[B\u{1B}[C\u{1B}[D") == [key("up"), key("down"), key("right"), key("left")])
        #expect(decode("\u{1B}OA\u{1B}OH\u{1B}OF\u{1B}OP") == [key("up"), key("home"), key("end"), key("f1")])
        #expect(decode("\u{1B}[5~\u{1B}[6~\u{1B}[3~\u{1B}[1~\u{1B}[4~\u{1B}[12~\u{1B}[24~") ==
                [key("pgup"), key("pgdn"), key("delete"), key("home"), key("end"), key("f2"), key("f12")])
        #expect(decode("\u{1B}[1;5C\u{1B}[1;3D\u{1B}[Z") == [key("ctrl-right"), key("alt-left"), key("shift-tab")])
    }

    @Test func altKeys() {
        #expect(decode("\u{1B}b\u{1B}f") == [key("alt-b"), key("alt-f")])
        #expect(decode("\u{1B}\r") == [key("alt-enter")])
        #expect(decode("\u{1B}\u{7F}") == [key("alt-backspace")])
        #expect(decode("\u{1B}[13;3u") == [key("alt-enter")])
    }

    @Test func escapeSequenceSplitAcrossReads() {
        var decoder = InputDecoder()
        #expect(decoder.feed([0x1B]) == [])
        #expect(decoder.pendingTimeout == InputDecoder.escapeTimeout)
        #expect(decoder.feed(Array("[".utf8)) == [])
        #expect(decoder.feed(Array("1;5".utf8)) == [])
        #expect(decoder.feed(Array("A".utf8)) == [key("ctrl-up")])
        #expect(decoder.pendingTimeout == nil)
        // A UTF-8 character split in the middle.
        let bytes = Array("é".utf8)
        #expect(decoder.feed([bytes[0]]) == [])
        #expect(decoder.feed([bytes[1]]) == [.key(.char("é"))])
    }

    @Test func loneEscapeAfterTimeout() {
        var decoder = InputDecoder()
        #expect(decoder.feed([0x1B]) == [])
        #expect(decoder.pendingTimeout != nil)
        #expect(decoder.flushPending() == [key("esc")])
        #expect(decoder.pendingTimeout == nil)
        // Esc then a letter typed slowly: Esc, then the letter (not Alt-letter).
        #expect(decoder.feed([0x1B]) == [])
        #expect(decoder.flushPending() == [key("esc")])
        #expect(decoder.feed(Array("q".utf8)) == [key("q")])
        // Esc pressed twice quickly.
        #expect(decoder.feed([0x1B, 0x1B]) == [key("esc")])
        #expect(decoder.flushPending() == [key("esc")])
        // An unfinished CSI flushed: Esc followed by its bytes as keys.
        #expect(decoder.feed(Array("\u{1B}[".utf8)) == [])
        #expect(decoder.flushPending() == [key("esc"), key("[")])
    }

    @Test func bracketedPasteKeepsNewlinesAndSplitsAcrossFeeds() {
        var decoder = InputDecoder()
        var events = decoder.feed(Array("x\u{1B}[200~line one\r".utf8))
        #expect(events == [key("x")])
        #expect(decoder.isInPaste)
        events = decoder.feed(Array("line two\u{1B}[20".utf8))
        #expect(events == [])
        events = decoder.feed(Array("1~y".utf8))
        #expect(events == [.paste("line one\nline two"), key("y")])
        #expect(!decoder.isInPaste)
    }

    @Test func pasteContentIsNeverInterpretedAsKeys() {
        var decoder = InputDecoder()
        let events = decoder.feed(Array("\u{1B}[200~\u{1B}[A\u{03}q\r\n\u{1B}[201~".utf8))
        #expect(events == [.paste("\u{1B}[A\u{03}q\n")])
    }

    @Test func sgrMouse() {
        #expect(decode("\u{1B}[<0;10;5M") == [.mouse(MouseEvent(.press(button: 0), row: 4, col: 9))])
        #expect(decode("\u{1B}[<0;10;5m") == [.mouse(MouseEvent(.release, row: 4, col: 9))])
        #expect(decode("\u{1B}[<64;1;1M\u{1B}[<65;3;2M") ==
                [.mouse(MouseEvent(.wheelUp, row: 0, col: 0)), .mouse(MouseEvent(.wheelDown, row: 1, col: 2))])
        var decoder = InputDecoder()
        #expect(decoder.feed(Array("\u{1B}[<65;3".utf8)) == [])
        #expect(decoder.feed(Array(";2M".utf8)) == [.mouse(MouseEvent(.wheelDown, row: 1, col: 2))])
    }

    @Test func unknownSequencesAreDropped() {
        #expect(decode("\u{1B}[99~a") == [key("a")])
        #expect(decode("\u{1B}[?1;2c") == [])
    }
}
