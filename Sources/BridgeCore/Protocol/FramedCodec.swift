// FramedCodec: a small JSON reader and writer for the flat objects of `ccb-jsonl/1`.
//
// Why hand-written instead of Foundation: the messages are flat objects of strings and numbers;
// a direct byte parser decodes a chunk line with one pass and one String for `data`, where
// JSONSerialization builds an NSDictionary of bridged values per line (slow on the output hot path)
// and its limits on Linux (nesting, number range) are implementation details we could not bound.
// Here every limit is explicit: nesting depth (`maxDepth`), number length, line length, and
// the parser is iterative over an unsafe buffer with all indices checked, so garbage cannot trap.
// Nested values in unknown keys are skipped (forward compatibility), never materialised.

enum FramedCodec {
    static let maxDepth = 32
    static let maxNumberLength = 64
    static let maxLineBytes = 16 << 20

    /// Parses `line` as a flat object and runs `body` on it; any error becomes a failure.
    static func withObject<T>(_ line: some Collection<UInt8>, _ body: (FlatObject) throws -> T) -> Result<T, FramedDecodeError> {
        guard line.count <= maxLineBytes else { return .failure(.tooLong) }
        let parsed: Result<FlatObject, FramedDecodeError> =
            line.withContiguousStorageIfAvailable { parse($0) } ?? Array(line).withUnsafeBufferPointer { parse($0) }
        switch parsed {
        case .failure(let error): return .failure(error)
        case .success(let object):
            do { return .success(try body(object)) } catch let error as FramedDecodeError {
                return .failure(error)
            } catch {
                return .failure(.syntax(offset: 0, reason: "\(error)"))
            }
        }
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<FlatObject, FramedDecodeError> {
        var parser = Parser(bytes: bytes)
        do {
            return .success(try parser.parseTopLevel())
        } catch let error as FramedDecodeError {
            return .failure(error)
        } catch {
            return .failure(.syntax(offset: parser.i, reason: "\(error)"))
        }
    }
}

/// A JSON value of a flat object; nested arrays/objects are only recorded as such.
enum FlatValue: Equatable {
    case string(String)
    case number(Double, exactInt: Int?)
    case bool(Bool)
    case null
    case nested
}

/// The fields of one parsed object, with typed accessors that throw decode errors.
struct FlatObject {
    var fields: [String: FlatValue] = [:]

    func string(_ key: String) throws -> String {
        guard let value = fields[key] else { throw FramedDecodeError.missingField(key) }
        guard case .string(let s) = value else { throw FramedDecodeError.wrongType(field: key) }
        return s
    }

    func int(_ key: String) throws -> Int {
        guard let value = try optionalInt(key) else { throw FramedDecodeError.missingField(key) }
        return value
    }

    /// Missing or null gives nil.
    func optionalString(_ key: String) throws -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw FramedDecodeError.wrongType(field: key)
        }
    }

    /// Missing or null gives nil.
    func optionalBool(_ key: String) throws -> Bool? {
        switch fields[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw FramedDecodeError.wrongType(field: key)
        }
    }

    /// Missing or null gives nil.
    func optionalDouble(_ key: String) throws -> Double? {
        switch fields[key] {
        case nil, .null?: return nil
        default: return try double(key)
        }
    }

    /// Missing or null gives nil.
    func optionalInt(_ key: String) throws -> Int? {
        switch fields[key] {
        case nil, .null?: return nil
        case .number(let d, let exact)?:
            if let exact { return exact }
            guard d.isFinite, let i = Int(exactly: d) else { throw FramedDecodeError.invalidValue(field: key) }
            return i
        default: throw FramedDecodeError.wrongType(field: key)
        }
    }

    func double(_ key: String) throws -> Double {
        switch fields[key] {
        case nil: throw FramedDecodeError.missingField(key)
        case .number(let d, _)?:
            guard d.isFinite else { throw FramedDecodeError.invalidValue(field: key) }
            return d
        default: throw FramedDecodeError.wrongType(field: key)
        }
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    private var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func fail(_ reason: String) -> FramedDecodeError { .syntax(offset: i, reason: reason) }

    private var atEnd: Bool { i >= bytes.count }

    private mutating func skipWhitespace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        skipWhitespace()
        guard i < bytes.count, bytes[i] == byte else { throw fail("expected \(what)") }
        i += 1
    }

    mutating func parseTopLevel() throws -> FlatObject {
        skipWhitespace()
        guard i < bytes.count else { throw fail("empty line") }
        guard bytes[i] == UInt8(ascii: "{") else {
            // Valid JSON that is not an object is reported as such; anything else is a syntax error.
            _ = try parseValue(depth: 1)
            skipWhitespace()
            guard atEnd else { throw fail("trailing characters") }
            throw FramedDecodeError.notAnObject
        }
        i += 1
        var object = FlatObject()
        skipWhitespace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipWhitespace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try parseString()
                try expect(UInt8(ascii: ":"), "':'")
                object.fields[key] = try parseValue(depth: 1)
                skipWhitespace()
                guard i < bytes.count else { throw fail("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                throw fail("expected ',' or '}'")
            }
        }
        skipWhitespace()
        guard atEnd else { throw fail("trailing characters") }
        return object
    }

    /// Parses any value; arrays and objects are skipped (iteratively, depth-limited).
    private mutating func parseValue(depth: Int) throws -> FlatValue {
        skipWhitespace()
        guard i < bytes.count else { throw fail("expected a value") }
        switch bytes[i] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"), UInt8(ascii: "["): try skipNested(depth: depth); return .nested
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("bad literal") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("bad literal") }
        i += n
    }

    /// Skips a nested array/object with an explicit stack of closers (no recursion).
    private mutating func skipNested(depth: Int) throws {
        var closers: [UInt8] = []
        // Grammar states: expecting a value, a key, or a separator.
        enum Expect { case value, key, separator, valueOrClose, keyOrClose }
        var state = Expect.valueOrClose
        func open(_ b: UInt8) throws {
            guard depth + closers.count < FramedCodec.maxDepth else { throw FramedDecodeError.tooDeep }
            closers.append(b == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"))
            i += 1
            state = b == UInt8(ascii: "{") ? .keyOrClose : .valueOrClose
        }
        try open(bytes[i])
        while !closers.isEmpty {
            skipWhitespace()
            guard i < bytes.count else { throw fail("unterminated nested value") }
            let b = bytes[i]
            switch state {
            case .keyOrClose where b == UInt8(ascii: "}"), .valueOrClose where b == UInt8(ascii: "]"):
                guard closers.last == b else { throw fail("mismatched bracket") }
                closers.removeLast(); i += 1; state = .separator
            case .key, .keyOrClose:
                guard b == UInt8(ascii: "\"") else { throw fail("expected a key") }
                _ = try parseString()
                try expect(UInt8(ascii: ":"), "':'")
                state = .value
            case .value, .valueOrClose:
                if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                    try open(b)
                } else {
                    _ = try parseValue(depth: depth + closers.count)
                    state = .separator
                }
            case .separator:
                if b == UInt8(ascii: ",") {
                    i += 1
                    state = closers.last == UInt8(ascii: "}") ? .key : .value
                } else if b == closers.last {
                    closers.removeLast(); i += 1
                } else {
                    throw fail("expected ',' or a closing bracket")
                }
            }
        }
    }

    private mutating func parseNumber() throws -> FlatValue {
        let start = i
        func digits() -> Int {
            let s = i
            while i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") { i += 1 }
            return i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count else { throw fail("bad number") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { throw fail("bad number") }
        var integral = true
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            integral = false
            guard digits() > 0 else { throw fail("bad fraction") }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            integral = false
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard digits() > 0 else { throw fail("bad exponent") }
        }
        guard i - start <= FramedCodec.maxNumberLength else { throw fail("number too long") }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        let exact = integral ? Int(text) : nil          // nil when out of Int range
        guard let value = Double(text) else { throw fail("bad number") }
        return .number(value, exactInt: exact)
    }

    /// Parses a string starting at the opening quote.
    private mutating func parseString() throws -> String {
        i += 1   // opening quote
        scratch.removeAll(keepingCapacity: true)
        var sawNonASCII = false
        while true {
            // Copy the run of plain bytes.
            let runStart = i
            if let base = bytes.baseAddress {
                // Eight bytes at a time while none is a quote, backslash, control or non-ASCII byte.
                while i &+ 8 <= bytes.count {
                    let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                    let quote = w ^ 0x2222_2222_2222_2222
                    let slash = w ^ 0x5C5C_5C5C_5C5C_5C5C
                    let ones: UInt64 = 0x0101_0101_0101_0101
                    let hits = (w &- 0x2020_2020_2020_2020) & ~w
                        | (quote &- ones) & ~quote
                        | (slash &- ones) & ~slash
                        | w
                    if hits & 0x8080_8080_8080_8080 != 0 { break }
                    i &+= 8
                }
            }
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
                if b >= 0x80 { sawNonASCII = true }
                i += 1
            }
            if i > runStart { scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            guard i < bytes.count else { throw fail("unterminated string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            if b < 0x20 { throw fail("control character in string") }
            // Escape.
            i += 1
            guard i < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(e)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate needs a following \uDC00-\uDFFF; alone it becomes U+FFFD.
                    if i + 1 < bytes.count && bytes[i] == UInt8(ascii: "\\") && bytes[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let low = try hex4()
                        if (0xDC00...0xDFFF).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            scalar = 0xFFFD
                            i = save
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    scalar = 0xFFFD
                }
                appendUTF8(Unicode.Scalar(scalar) ?? "\u{FFFD}")
            default:
                throw fail("bad escape")
            }
        }
        if sawNonASCII {
            let valid = scratch.withUnsafeBufferPointer { isValidUTF8($0) }
            guard valid else { throw FramedDecodeError.invalidUTF8 }
        }
        return String(decoding: scratch, as: UTF8.self)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[i]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func appendUTF8(_ scalar: Unicode.Scalar) {
        let v = scalar.value
        switch v {
        case ..<0x80:
            scratch.append(UInt8(v))
        case ..<0x800:
            scratch.append(UInt8(0xC0 | v >> 6))
            scratch.append(UInt8(0x80 | v & 0x3F))
        case ..<0x10000:
            scratch.append(UInt8(0xE0 | v >> 12))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | v >> 18))
            scratch.append(UInt8(0x80 | v >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        }
    }

    private func isValidUTF8(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = p.baseAddress else { return true }
        var k = 0
        while k < p.count {
            if p[k] < 0x80 { k += 1; continue }
            switch UTF8Scan.classify(base, k, p.count) {
            case .valid(let length): k += length
            case .c1: k += 2
            case .invalid, .incomplete: return false
            }
        }
        return true
    }
}

/// Builds one JSON object line; strings are escaped to ASCII so the line never holds a raw
/// newline, control character or non-ASCII byte (non-ASCII becomes \uXXXX, with surrogate pairs).
struct JSONLineWriter {
    private var out: [UInt8] = [UInt8(ascii: "{")]
    private var first = true

    init() {}

    mutating func field(_ key: String, string value: String) {
        appendKey(key)
        appendString(value)
    }

    mutating func field(_ key: String, int value: Int) {
        appendKey(key)
        out.append(contentsOf: String(value).utf8)
    }

    mutating func field(_ key: String, bool value: Bool) {
        appendKey(key)
        out.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func field(_ key: String, double value: Double) {
        appendKey(key)
        // JSON has no NaN or infinity; Swift's shortest round-trip form is valid JSON otherwise.
        out.append(contentsOf: (value.isFinite ? "\(value)" : "0").utf8)
    }

    mutating func finish() -> String {
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func appendKey(_ name: String) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        appendString(name)
        out.append(UInt8(ascii: ":"))
    }

    private mutating func appendString(_ s: String) {
        out.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x20..<0x7F: out.append(UInt8(v))
            case 0x10000...:
                let u = v - 0x10000
                appendEscape(0xD800 + (u >> 10))
                appendEscape(0xDC00 + (u & 0x3FF))
            default: appendEscape(v)   // other C0, DEL, C1 and the rest of the BMP
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscape(_ unit: UInt32) {
        func hex(_ nibble: UInt32) -> UInt8 {
            UInt8(truncatingIfNeeded: nibble < 10 ? 0x30 + nibble : 0x57 + nibble)   // 0-9, a-f
        }
        out.append(0x5C)
        out.append(UInt8(ascii: "u"))
        out.append(hex(unit >> 12 & 0xF))
        out.append(hex(unit >> 8 & 0xF))
        out.append(hex(unit >> 4 & 0xF))
        out.append(hex(unit & 0xF))
    }
}
