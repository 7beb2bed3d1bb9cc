// UTF8Scan: classifies the UTF-8 sequence at a position of a byte buffer, for the output scanner.
// Follows Unicode's "maximal subpart" rule, so each invalid subpart becomes exactly one U+FFFD,
// the same repair String(decoding:as: UTF8.self) does. C1 controls (U+0080-U+009F, encoded C2 80..C2 9F)
// are reported separately so the caller can treat them as controls instead of text.

enum UTF8Scan: Equatable {
    /// A valid, printable (non-C1) scalar of `length` bytes.
    case valid(length: Int)
    /// A C1 control scalar (0x80...0x9F), encoded in two bytes.
    case c1(UInt8)
    /// An invalid subpart of `length` bytes (at least 1): replace with U+FFFD.
    case invalid(length: Int)
    /// The buffer ends inside a sequence that is valid so far: wait for more bytes.
    case incomplete

    /// The replacement character U+FFFD in UTF-8.
    static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// Classifies the sequence starting at `p[i]` (a byte >= 0x80), looking no further than `n`.
    @inline(__always)
    static func classify(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> UTF8Scan {
        let b0 = p[i]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF   // allowed range of the second byte
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F         // no surrogates
        case 0xF0: length = 4; low = 0x90          // no overlongs
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F         // not above U+10FFFF
        default: return .invalid(length: 1)        // stray continuation, C0/C1 lead, F5...FF
        }
        guard i + 1 < n else { return .incomplete }
        let b1 = p[i + 1]
        guard b1 >= low && b1 <= high else { return .invalid(length: 1) }
        if length == 2 {
            return b0 == 0xC2 && b1 < 0xA0 ? .c1(b1) : .valid(length: 2)
        }
        guard i + 2 < n else { return .incomplete }
        guard p[i + 2] & 0xC0 == 0x80 else { return .invalid(length: 2) }
        if length == 3 { return .valid(length: 3) }
        guard i + 3 < n else { return .incomplete }
        guard p[i + 3] & 0xC0 == 0x80 else { return .invalid(length: 3) }
        return .valid(length: 4)
    }
}

extension UTF8Scan {
    /// Whether all of `p` is valid UTF-8 (C1 controls included), ASCII skipped eight bytes at a
    /// time: for a server client's output events, where `String(validating:)` took 80 % of the
    /// decoding (its generic path checks byte by byte).
    /// 32 bytes (four words or'ed) at a time while they are ASCII, then the word of eight with
    /// the first high bit: to that byte, whose sequence is classified. (`any(v .>= 0x80)` on a
    /// SIMD16 compiles to a shuffle reduction per step, slower than the words.)
    static func isValid(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = p.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let n = p.count
        let highs: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        while i < n {
            while i &+ 32 <= n {
                let words = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self)
                if words & highs != 0 { break }
                i &+= 32
            }
            guard i < n else { break }
            if i &+ 8 <= n {
                let high = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian & highs
                if high == 0 { i &+= 8; continue }
                i &+= high.trailingZeroBitCount &>> 3
            } else if base[i] < 0x80 {
                i &+= 1
                continue
            }
            switch classify(base, i, n) {
            case .valid(let length): i &+= length
            case .c1: i &+= 2
            case .invalid, .incomplete: return false
            }
        }
        return true
    }
}
