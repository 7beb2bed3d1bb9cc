// CharWidth: how many terminal cells a grapheme takes (0, 1 or 2).
// An own table instead of wcwidth: wcwidth depends on the process locale (it answers -1 for
// every non-ASCII character under "C", as in tests and CI) and on the libc's Unicode version.
// The table covers East Asian Wide/Fullwidth ranges and emoji presentation; combining marks
// and format characters are zero width.

public enum CharWidth {
    public static func of(_ c: Character) -> Int {
        let scalars = c.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if first.value < 0x7F { return first.value < 0x20 ? 0 : 1 }
        let base = of(first)
        if base == 0 { return 0 }
        // A text-default symbol followed by VS16 (U+FE0F) is shown as an emoji: 2 cells.
        if base == 1 && scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        // Regional indicator pairs (flags).
        if (0x1F1E6...0x1F1FF).contains(first.value) { return 2 }
        return base
    }

    public static func of(_ s: Unicode.Scalar) -> Int {
        let v = s.value
        if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
        if v < 0x300 { return 1 }
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if v == 0x200B || (0x1160...0x11FF).contains(v) { return 0 }
        if isWide(v) || s.properties.isEmojiPresentation { return 2 }
        return 1
    }

    static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
             0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
             0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x16FE0...0x16FE4, 0x17000...0x18AFF, 0x1B000...0x1B2FF, 0x1F004, 0x1F0CF, 0x1F18E,
             0x1F191...0x1F19A, 0x1F200...0x1F251, 0x1F300...0x1F64F, 0x1F680...0x1F6FF,
             0x1F900...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            // Inside 1F300-1F5FF some symbols are text-default; the emoji property sorts them out.
            if (0x1F300...0x1F5FF).contains(v) || (0x1F680...0x1F6FF).contains(v) || (0x1F900...0x1F9FF).contains(v) {
                return Unicode.Scalar(v)?.properties.isEmojiPresentation ?? true
            }
            return true
        default:
            return false
        }
    }

    /// Display width of a string (sum of its graphemes).
    public static func of(_ s: String) -> Int { s.reduce(0) { $0 + of($1) } }
}
