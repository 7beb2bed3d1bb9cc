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
    static func isValid(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        isValid(p) { _ in }
    }

    /// The same, calling `newline` with the offset of each newline in order: a client's check
    /// and line split of an output event in one pass over its bytes (a newline is never inside
    /// a multi-byte sequence). Sixteen bytes at a time while they are ASCII with no newline (most
    /// of a line); then one word of eight: its newlines below its first byte with the high bit,
    /// then that byte's sequence is classified.
    @inline(__always)
    static func isValid(_ p: UnsafeBufferPointer<UInt8>, newline: (Int) -> Void) -> Bool {
        guard let base = p.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let n = p.count
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080, lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        // One unsigned comparison flags a newline, any byte with the high bit and the controls
        // below it (which the word step takes as the ASCII they are): byte - 0x0B wraps 0x00...0x0A
        // to 0xF5...0xFF and takes 0x80...0xFF to 0x75...0xF4. (Two masks or'ed together compile
        // to a shuffle reduction instead of one pmovmskb.)
        let eleven16 = SIMD16<UInt8>(repeating: 0x0B), ordinary16 = SIMD16<UInt8>(repeating: 0x75)
        var i = 0
        while i < n {
            while i &+ 16 <= n {
                let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
                if any((v &- eleven16) .>= ordinary16) { break }
                i &+= 16
            }
            guard i < n else { break }
            if i &+ 8 <= n {
                let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian
                let high = word & highs
                // The high bit of each byte that is a newline (exact: no carry between bytes).
                let x = word ^ (ones &* 0x0A)
                var lines = ~(((x & lows) &+ lows) | x | lows)
                if high != 0 { lines &= (high & (0 &- high)) &- 1 }
                while lines != 0 {
                    newline(i &+ lines.trailingZeroBitCount &>> 3)
                    lines &= lines &- 1
                }
                if high == 0 { i &+= 8; continue }
                i &+= high.trailingZeroBitCount &>> 3
            } else if base[i] < 0x80 {
                if base[i] == 0x0A { newline(i) }
                i &+= 1
                continue
            }
            // base[i] has the high bit.
            switch classify(base, i, n) {
            case .valid(let length): i &+= length
            case .c1: i &+= 2
            case .invalid, .incomplete: return false
            }
        }
        return true
    }
}
