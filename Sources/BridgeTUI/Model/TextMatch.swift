// TextMatch: substring search over a line's UTF-8 bytes, used by search, filter and highlights.
// Smart case: a query without uppercase letters matches ASCII letters case-insensitively.
// Byte offsets line up with StyleRun offsets, so highlights and styles combine directly.

public struct TextMatch: Hashable, Sendable {
    public let query: String
    let needle: [UInt8]
    let foldCase: Bool

    public init(_ query: String) {
        self.query = query
        foldCase = !query.contains { $0.isUppercase }
        needle = foldCase ? query.utf8.map(TextMatch.lower) : Array(query.utf8)
    }

    public var isEmpty: Bool { needle.isEmpty }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b + 32 : b }

    public func matches(_ text: String) -> Bool {
        guard !needle.isEmpty else { return true }
        var text = text
        return text.withUTF8 { firstRange(in: $0, from: 0) != nil }
    }

    /// Every non-overlapping match as a UTF-8 byte range.
    public func ranges(in text: String) -> [Range<Int>] {
        guard !needle.isEmpty else { return [] }
        var text = text
        return text.withUTF8 { bytes in
            var result: [Range<Int>] = []
            var from = 0
            while let r = firstRange(in: bytes, from: from) {
                result.append(r)
                from = r.upperBound
            }
            return result
        }
    }

    func firstRange(in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Range<Int>? {
        let n = needle.count
        guard bytes.count - from >= n else { return nil }
        let first = needle[0]
        var i = from
        let last = bytes.count - n
        while i <= last {
            let b = foldCase ? TextMatch.lower(bytes[i]) : bytes[i]
            if b == first {
                var k = 1
                while k < n {
                    let c = foldCase ? TextMatch.lower(bytes[i + k]) : bytes[i + k]
                    if c != needle[k] { break }
                    k += 1
                }
                if k == n { return i..<(i + n) }
            }
            i += 1
        }
        return nil
    }
}
