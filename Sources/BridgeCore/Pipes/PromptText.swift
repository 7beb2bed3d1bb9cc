// PromptText: what a prompt may contain and how large it may be, for every path that sends one
// (TUI paste and Enter, `send`, the outbox). The rules are stated in docs/protocol.md ("Prompt
// text"): nothing a user pastes can act on the agent, the terminal or the reader's eyes.
//
// - C0 controls, DEL and C1 controls are removed; an escape sequence (ESC or C1 introduced:
//   CSI, OSC, DCS, …) is removed whole, with the parser the output side uses. The interrupt byte
//   0x03 therefore never reaches an in-FIFO inside a prompt.
// - Tabs become one space. Line breaks (LF, CR, CRLF, U+2028, U+2029) become `\n` where the
//   protocol carries lines (framed) and one space where it does not (plain).
// - Invisible format characters (Unicode category Cf: bidi overrides and isolates, zero-width
//   space, word joiner, BOM, tag characters, …) can reorder or hide text; they are removed,
//   except ZWJ and ZWNJ, which emoji and several scripts need.
// - A prompt over `maxBytes` (UTF-8) is refused with both sizes, never cut.

public enum PromptText {
    /// The largest prompt (and paste) accepted, in UTF-8 bytes.
    public static let maxBytes = 1 << 20

    public struct Cleaned: Equatable, Sendable {
        public var text: String
        /// Control characters, escape sequences and invisible format characters removed.
        public var removed: Int
        /// Line breaks turned into spaces (only when lines are not kept).
        public var joinedLines: Bool
    }

    /// Applies the rules above; `keepLines` keeps line breaks as `\n`.
    public static func clean(_ text: String, keepLines: Bool) -> Cleaned {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var removed = 0
        var joined = false
        var parser = EscapeParser()
        var previousCR = false
        func lineBreak() {
            if keepLines { out.append(0x0A) } else { out.append(0x20); joined = true }
        }
        func control(_ value: UInt32) {
            switch value {
            case 0x0A:
                if !previousCR { lineBreak() }
            case 0x0D: lineBreak()
            case 0x09: out.append(0x20)
            default: removed += 1
            }
            previousCR = value == 0x0D
        }
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if !parser.isGround {
                switch parser.step(utf8[i]) {
                case .consumed, .csi: i += 1; continue
                case .execute(let c): control(UInt32(c)); i += 1; continue
                case .reprocess: break
                }
            }
            let (value, length) = decodeScalar(utf8, at: i)
            defer { i += length }
            if value == 0x1B {
                parser.startEscape(); removed += 1; previousCR = false
            } else if (0x80...0x9F).contains(value) {
                parser.startC1(UInt8(value)); removed += 1; previousCR = false
            } else if value < 0x20 || value == 0x7F {
                control(value)
            } else if value == 0x2028 || value == 0x2029 {
                lineBreak(); previousCR = false
            } else if isInvisibleFormat(value) {
                removed += 1; previousCR = false
            } else {
                out.append(contentsOf: utf8[i..<(i + length)])
                previousCR = false
            }
        }
        return Cleaned(text: String(decoding: out, as: UTF8.self), removed: removed, joinedLines: joined)
    }

    /// Format characters that change nothing visible but the order or the content a reader sees.
    static func isInvisibleFormat(_ value: UInt32) -> Bool {
        guard value >= 0xAD, value != 0x200D, value != 0x200C, let scalar = Unicode.Scalar(value) else { return false }
        return scalar.properties.generalCategory == .format
    }

    /// The scalar at `i` of valid UTF-8 (it comes from a String) and its length in bytes.
    private static func decodeScalar(_ utf8: [UInt8], at i: Int) -> (UInt32, Int) {
        let lead = UInt32(utf8[i])
        func cont(_ k: Int) -> UInt32 { UInt32(utf8[i + k] & 0x3F) }
        switch lead {
        case 0..<0x80: return (lead, 1)
        case 0xC0..<0xE0: return ((lead & 0x1F) << 6 | cont(1), 2)
        case 0xE0..<0xF0: return ((lead & 0x0F) << 12 | cont(1) << 6 | cont(2), 3)
        default: return ((lead & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3), 4)
        }
    }

    /// Why a prompt of `bytes` UTF-8 bytes is refused, or nil when it fits.
    public static func sizeRefusal(_ bytes: Int, what: String = "prompt") -> String? {
        guard bytes > maxBytes else { return nil }
        return "the \(what) is \(grouped(bytes)) bytes, over the limit of \(grouped(maxBytes)) bytes (1 MiB); "
            + "nothing was \(what == "paste" ? "inserted" : "sent")"
    }

    /// Strict UTF-8 decoding: the text, or the offset of the first byte that is not UTF-8.
    public static func decodeUTF8(_ bytes: [UInt8]) -> Result<String, InvalidUTF8> {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return .success(String(decoding: bytes, as: UTF8.self))
            case .error: return .failure(InvalidUTF8(offset: offset))
            }
        }
    }

    public struct InvalidUTF8: Error, Equatable, CustomStringConvertible, Sendable {
        public var offset: Int
        public var description: String {
            "the prompt is not valid UTF-8 (the first bad byte is at offset \(offset)); nothing was sent"
        }
    }

    /// 1048576 as "1,048,576".
    public static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }
}
