// TextMatch: substring search over a line's UTF-8 bytes, used by search, filter and highlights.
// Smart case: a query without uppercase letters matches case-insensitively (ASCII letters for a
// plain query; all letters for a regular expression). Byte offsets line up with StyleRun offsets,
// so highlights and styles combine directly.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct TextMatch: Hashable, Sendable {
    public let query: String
    /// The query is a regular expression (Swift Regex syntax) rather than plain text.
    public let isRegex: Bool
    let needle: [UInt8]
    let foldCase: Bool
    let compiled: CompiledPattern?

    public init(_ query: String, regex: Bool = false) {
        self.query = query
        isRegex = regex
        foldCase = !query.contains { $0.isUppercase }
        needle = foldCase ? query.utf8.map(TextMatch.lower) : Array(query.utf8)
        compiled = regex ? CompiledPattern(query, ignoreCase: foldCase) : nil
    }

    /// Why `query` is not a usable regular expression, or nil when it is.
    public static func regexProblem(_ query: String) -> String? {
        do { _ = try Regex(query); return nil } catch { return "\(error)" }
    }

    public var isEmpty: Bool { needle.isEmpty }

    public static func == (a: TextMatch, b: TextMatch) -> Bool { a.query == b.query && a.isRegex == b.isRegex }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(query)
        hasher.combine(isRegex)
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b + 32 : b }

    public func matches(_ text: String) -> Bool {
        guard !needle.isEmpty else { return true }
        if isRegex { return compiled?.firstRange(in: text) != nil }
        var text = text
        return text.withUTF8 { firstRange(in: $0, from: 0) != nil }
    }

    /// Every non-overlapping match as a UTF-8 byte range.
    public func ranges(in text: String) -> [Range<Int>] {
        guard !needle.isEmpty else { return [] }
        if isRegex { return compiled?.ranges(in: text) ?? [] }
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

    /// The first match of the (plain) needle in `bytes` at or after `from`. Case-sensitive: libc's
    /// `memchr` and `memcmp`; folding case: a scan for either case of the first byte, then a compare.
    func firstRange(in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Range<Int>? {
        let n = needle.count
        guard n > 0, from >= 0, bytes.count - from >= n, let base = bytes.baseAddress else { return nil }
        if !foldCase {
            // memchr finds the first byte (vectorised in libc), memcmp checks the rest.
            return needle.withUnsafeBytes { pattern -> Range<Int>? in
                let head = pattern[0]
                var i = from
                let last = bytes.count - n
                while i <= last {
                    guard let found = memchr(base + i, Int32(head), last - i + 1) else { return nil }
                    i = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                    if n == 1 || memcmp(base + i + 1, pattern.baseAddress! + 1, n - 1) == 0 { return i..<(i + n) }
                    i += 1
                }
                return nil
            }
        }
        let first = needle[0]
        let firstUpper = (first >= 97 && first <= 122) ? first - 32 : first
        var i = from
        let last = bytes.count - n
        while i <= last {
            let b = base[i]
            if b == first || b == firstUpper {
                var k = 1
                while k < n, TextMatch.lower(base[i + k]) == needle[k] { k += 1 }
                if k == n { return i..<(i + n) }
            }
            i += 1
        }
        return nil
    }
}

/// A compiled regular expression (nil pattern: the query did not compile and matches nothing).
/// A class so TextMatch stays cheap to copy; the Regex is never mutated after init.
final class CompiledPattern: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>?

    init(_ query: String, ignoreCase: Bool) {
        regex = (try? Regex(query)).map { $0.ignoresCase(ignoreCase) }
    }

    func firstRange(in text: String) -> Range<Int>? {
        guard let regex, let match = try? regex.firstMatch(in: text) else { return nil }
        return byteRange(match.range, in: text)
    }

    /// Every non-empty match as a UTF-8 byte range.
    func ranges(in text: String) -> [Range<Int>] {
        guard let regex else { return [] }
        return text.matches(of: regex).compactMap { match in
            match.range.isEmpty ? nil : byteRange(match.range, in: text)
        }
    }

    private func byteRange(_ range: Range<String.Index>, in text: String) -> Range<Int> {
        let lower = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
        return lower..<(lower + text.utf8.distance(from: range.lowerBound, to: range.upperBound))
    }
}
