// TerminalCharsetTests: the locale verdict (UTF-8 ready, switch to a UTF-8 locale, or ASCII) and
// the ASCII stand-ins, which must fill exactly the cell's columns and never be blank.

import Testing
@testable import BridgeTUI

@Suite struct TerminalCharsetTests {
    @Test func aUTF8LocaleInForceIsReady() {
        #expect(TerminalCharset.judge(activeLocale: "C.UTF-8", activeCodeset: "UTF-8", environment: ["LANG": "C.UTF-8"]) == .ready)
        #expect(TerminalCharset.judge(activeLocale: "en_US.utf8", activeCodeset: "utf8", environment: [:]) == .ready)
    }

    /// Unset, C, POSIX, or a UTF-8 locale that is not installed: say nothing against UTF-8.
    @Test(arguments: [[:], ["LANG": "C"], ["LC_ALL": "C", "LANG": "de_DE.ISO-8859-1"], ["LANG": "POSIX"],
                      ["LANG": "en_US.UTF-8"], ["LC_CTYPE": "fr_FR.utf8"], ["LC_ALL": "", "LANG": "C"]])
    func noStatementAgainstUTF8SwitchesToAUTF8Locale(environment: [String: String]) {
        #expect(TerminalCharset.judge(activeLocale: "C", activeCodeset: "ANSI_X3.4-1968", environment: environment)
                == .needsUTF8Locale)
    }

    @Test func aLocaleNamingAnotherCharsetMeansASCII() {
        #expect(TerminalCharset.judge(activeLocale: "C", activeCodeset: "ANSI_X3.4-1968",
                                      environment: ["LANG": "de_DE.ISO-8859-1@euro"])
                == .notUTF8(locale: "de_DE.ISO-8859-1@euro", charset: "ISO-8859-1"))
        // Installed, with no charset in its name: the locale's own codeset decides.
        #expect(TerminalCharset.judge(activeLocale: "en_US", activeCodeset: "ISO-8859-1", environment: ["LANG": "en_US"])
                == .notUTF8(locale: "en_US", charset: "ISO-8859-1"))
        #expect(TerminalCharset.judge(activeLocale: "C", activeCodeset: "ANSI_X3.4-1968",
                                      environment: ["LC_ALL": "ja_JP.eucJP", "LANG": "ja_JP.UTF-8"])
                == .notUTF8(locale: "ja_JP.eucJP", charset: "eucJP"))
    }

    @Test func asciiStandInsFillTheCellAndAreNeverBlank() {
        #expect(TerminalCharset.ascii("a", width: 1) == "a")
        #expect(TerminalCharset.ascii("─", width: 1) == "-")
        #expect(TerminalCharset.ascii("│", width: 1) == "|")
        #expect(TerminalCharset.ascii("┌", width: 1) == "+")
        #expect(TerminalCharset.ascii("╯", width: 1) == "+")
        #expect(TerminalCharset.ascii("→", width: 1) == ">")
        #expect(TerminalCharset.ascii("é", width: 1) == "e")
        #expect(TerminalCharset.ascii("e\u{301}", width: 1) == "e")
        #expect(TerminalCharset.ascii("日", width: 2) == "??")
        #expect(TerminalCharset.ascii("😀", width: 2) == "??")
        #expect(TerminalCharset.ascii("ʰ", width: 1) == "h")
        #expect(TerminalCharset.ascii("", width: 1) == " ")
        for scalar in (0xA0...0x3000).compactMap(Unicode.Scalar.init) {
            let text = TerminalCharset.ascii(String(scalar), width: 1)
            #expect(text.count == 1 && text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F },
                    "U+\(String(scalar.value, radix: 16)) → \(text.debugDescription)")
        }
    }
}
