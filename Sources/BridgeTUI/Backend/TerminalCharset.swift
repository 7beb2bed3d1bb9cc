// TerminalCharset: decides whether the terminal shows UTF-8, and what to draw when it does not.
//
// ncurses draws wide characters only under a UTF-8 LC_CTYPE locale: under "C" (LANG unset,
// LC_ALL=C, common in containers and over ssh) every non-ASCII cell came out blank, borders
// included. The terminal cannot be asked its character set without a round trip, so the locale
// the environment names for LC_CTYPE (LC_ALL, then LC_CTYPE, then LANG) is taken as the user's
// statement about the terminal:
// - a UTF-8 locale in force: nothing to do;
// - a locale that names another character set (`de_DE.ISO-8859-1`, `ja_JP.eucJP`, or an installed
//   `en_US` whose set is ISO-8859-1), installed or not: the terminal is not UTF-8, so cells are
//   drawn as ASCII stand-ins and the status line says so once;
// - no locale, `C` or `POSIX`, or a UTF-8 locale that is not installed: that says nothing about the
//   terminal (every current terminal emulator speaks UTF-8), so the TUI switches its own LC_CTYPE
//   to an installed UTF-8 locale (`C.UTF-8` first), checked with nl_langinfo(CODESET). Only when
//   none is installed does it fall back to ASCII, again saying so once.
// Text is never blanked: a character without a stand-in is drawn as `?` (two for a wide one).

import Foundation

public enum TerminalCharset {
    /// What the locale in force and the environment say.
    public enum Verdict: Equatable, Sendable {
        /// The locale in force is UTF-8.
        case ready
        /// The terminal is taken to be UTF-8 but the locale in force is not: switch LC_CTYPE.
        case needsUTF8Locale
        /// The environment names a character set other than UTF-8 for the terminal.
        case notUTF8(locale: String, charset: String)
    }

    /// UTF-8 locales tried, in order, when the environment names none that works.
    public static let utf8Locales = ["C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8", "UTF-8"]

    /// - Parameters:
    ///   - activeLocale: the LC_CTYPE locale name after `setlocale(LC_ALL, "")`.
    ///   - activeCodeset: `nl_langinfo(CODESET)` for it.
    public static func judge(activeLocale: String, activeCodeset: String, environment: [String: String]) -> Verdict {
        if isUTF8(activeCodeset) { return .ready }
        if activeLocale != "C" && activeLocale != "POSIX" {
            return .notUTF8(locale: activeLocale, charset: activeCodeset)
        }
        if let requested = requestedLocale(environment), let charset = charset(of: requested), !isUTF8(charset) {
            return .notUTF8(locale: requested, charset: charset)
        }
        return .needsUTF8Locale
    }

    /// The locale name the environment asks for LC_CTYPE: LC_ALL, LC_CTYPE, LANG (first non-empty).
    static func requestedLocale(_ environment: [String: String]) -> String? {
        for key in ["LC_ALL", "LC_CTYPE", "LANG"] {
            if let value = environment[key], !value.isEmpty { return value }
        }
        return nil
    }

    /// The character set part of a locale name: `de_DE.ISO-8859-1@euro` → `ISO-8859-1`.
    static func charset(of locale: String) -> String? {
        guard let dot = locale.firstIndex(of: ".") else { return nil }
        let rest = locale[locale.index(after: dot)...]
        let charset = rest.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return charset.isEmpty ? nil : charset
    }

    static func isUTF8(_ charset: String) -> Bool {
        charset.lowercased().filter { $0 != "-" && $0 != "_" } == "utf8"
    }

    /// The one-time status line notice for the ASCII fallback.
    public static func asciiNotice(_ verdict: Verdict) -> String {
        switch verdict {
        case .notUTF8(let locale, let charset):
            "drawing ASCII: locale \(locale) says the terminal is \(charset), not UTF-8 (LANG=C.UTF-8 if it is UTF-8)"
        case .ready, .needsUTF8Locale:
            "drawing ASCII: no UTF-8 locale is installed (tried \(utf8Locales.joined(separator: ", ")))"
        }
    }

    /// Stand-ins for the glyphs this UI draws; anything else is decomposed to an ASCII base
    /// letter where it has one (é → e), or drawn as `?`.
    static let standIns: [Unicode.Scalar: Character] = [
        "─": "-", "━": "-", "═": "-", "│": "|", "┃": "|", "║": "|",
        "▌": ">", "❯": ">", "→": ">", "←": "<", "↑": "^", "↓": "v", "…": "~", "·": ".", "–": "-", "—": "-",
        "●": "*", "○": "o", "◐": "~", "◑": "~", "✓": "+", "✔": "+", "✖": "x", "✗": "x", "⏎": "/",
        "\u{201C}": "\"", "\u{201D}": "\"", "\u{2018}": "'", "\u{2019}": "'", "\u{00A0}": " ",
    ]

    /// The ASCII text drawn for a cell of `width` columns (1 or 2): always exactly `width`
    /// printable characters.
    public static func ascii(_ text: String, width: Int) -> String {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && text.utf8.count == width { return text }
        let columns = max(1, width)
        guard let first = text.unicodeScalars.first else { return String(repeating: " ", count: columns) }
        var stand: Character = "?"
        if let mapped = standIns[first] {
            stand = mapped
        } else if (0x2500...0x257F).contains(first.value) {
            stand = "+"   // the other box-drawing characters are corners, tees and crosses
        } else if let base = String(first).decomposedStringWithCompatibilityMapping.unicodeScalars.first,
                  base.value >= 0x21 && base.value < 0x7F {
            stand = Character(base)
        }
        return String(repeating: stand, count: columns)
    }
}
