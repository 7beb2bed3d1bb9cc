// UTF8Chunker: cuts a child's raw output into jsonl `chunk` strings. A multi-byte character split
// across two reads is held back until its tail arrives; bytes that are not valid UTF-8 become
// U+FFFD; pieces are at most `maxBytes` long and never split a character.

public struct UTF8Chunker: Sendable {
    public static let defaultMaxBytes = 16 << 10
    public let maxBytes: Int
    private var carry: [UInt8] = []

    public init(maxBytes: Int = UTF8Chunker.defaultMaxBytes) { self.maxBytes = max(maxBytes, 4) }

    /// Strings for the complete characters in `carry + bytes`; an incomplete tail is kept.
    public mutating func feed(_ bytes: [UInt8]) -> [String] {
        var all = carry
        all.append(contentsOf: bytes)
        let complete = UTF8Chunker.completePrefixLength(all)
        carry = Array(all[complete...])
        return split(all[..<complete])
    }

    /// Everything still held, incomplete characters as U+FFFD.
    public mutating func flush() -> [String] {
        defer { carry = [] }
        return split(carry[...])
    }

    private func split(_ bytes: ArraySlice<UInt8>) -> [String] {
        var pieces: [String] = []
        var start = bytes.startIndex
        while start < bytes.endIndex {
            var end = min(start + maxBytes, bytes.endIndex)
            if end < bytes.endIndex {
                var back = end
                while back > start + 1, back > end - 3, bytes[back] & 0xC0 == 0x80 { back -= 1 }
                if bytes[back] & 0xC0 != 0x80 { end = back }
            }
            pieces.append(String(decoding: bytes[start..<end], as: UTF8.self))
            start = end
        }
        return pieces
    }

    /// Length of the longest prefix that does not end inside a (so far valid) multi-byte character.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var i = n - 1
        var continuation = 0
        while i >= 0, continuation < 3, bytes[i] & 0xC0 == 0x80 {
            i -= 1
            continuation += 1
        }
        guard i >= 0 else { return n }
        let lead = bytes[i]
        let need: Int
        switch lead {
        case 0xC2...0xDF: need = 2
        case 0xE0...0xEF: need = 3
        case 0xF0...0xF4: need = 4
        default: need = 1
        }
        return need > n - i ? i : n
    }
}
