// StyleRunWire: style runs as the socket carries them (`session_output`'s `styles`), written and
// read by hand. The JSON is exactly the Codable form of `[StyleRun]` (keys `start`, `count`,
// `style`; a colour as `{"ansi":{"_0":n}}`, `{"palette":{"_0":n}}`, `{"rgb":{"_0":r,"_1":g,"_2":b}}`;
// an absent colour left out), so either end may still use Codable. Going through JSONEncoder /
// JSONDecoder per styled line cost a coder per line on both ends of an output flood (one line in
// seven is styled in agent-like output).
//
// `session_output` carries a batch's runs packed into one string (`style_runs`, below): a JSON
// object per run made the client's JSON parse (dictionaries of dictionaries) most of its decoding.
// The object form (`styles`) is still read, from servers before it.

public enum StyleRunWire {
    public static func encode(_ runs: some Collection<StyleRun>) -> JSONValue {
        .array(runs.map { run in
            ["start": .int(run.start), "count": .int(run.count), "style": encode(run.style)]
        })
    }

    static func encode(_ style: TextStyle) -> JSONValue {
        var fields: [String: JSONValue] = [
            "bold": .bool(style.bold), "dim": .bool(style.dim), "italic": .bool(style.italic),
            "underline": .bool(style.underline), "reverse": .bool(style.reverse),
        ]
        if let foreground = style.foreground { fields["foreground"] = encode(foreground) }
        if let background = style.background { fields["background"] = encode(background) }
        return .object(fields)
    }

    static func encode(_ color: TerminalColor) -> JSONValue {
        switch color {
        case .ansi(let n): ["ansi": ["_0": .int(Int(n))]]
        case .palette(let n): ["palette": ["_0": .int(Int(n))]]
        case .rgb(let r, let g, let b): ["rgb": ["_0": .int(Int(r)), "_1": .int(Int(g)), "_2": .int(Int(b))]]
        }
    }

    /// The runs, or nil when the value is not a list of runs (a client then shows the line plain).
    public static func decode(_ value: JSONValue) -> [StyleRun]? {
        guard case .array(let items) = value else { return nil }
        var runs: [StyleRun] = []
        runs.reserveCapacity(items.count)
        for item in items {
            guard let start = item["start"]?.intValue, let count = item["count"]?.intValue,
                  let styleValue = item["style"], let style = decodeStyle(styleValue) else { return nil }
            runs.append(StyleRun(start: start, count: count, style: style))
        }
        return runs
    }

    static func decodeStyle(_ value: JSONValue) -> TextStyle? {
        guard case .object(let fields) = value else { return nil }
        func flag(_ name: String) -> Bool? {
            switch fields[name] {
            case nil: return false
            case .bool(let b)?: return b
            default: return nil
            }
        }
        func color(_ name: String) -> TerminalColor?? {
            switch fields[name] {
            case nil, .null?: return .some(nil)
            case let value?: return decodeColor(value).map { .some($0) }
            }
        }
        guard let bold = flag("bold"), let dim = flag("dim"), let italic = flag("italic"),
              let underline = flag("underline"), let reverse = flag("reverse"),
              let foreground = color("foreground"), let background = color("background") else { return nil }
        return TextStyle(foreground: foreground, background: background, bold: bold, dim: dim, italic: italic,
                         underline: underline, reverse: reverse)
    }

    static func decodeColor(_ value: JSONValue) -> TerminalColor? {
        guard case .object(let fields) = value, fields.count == 1, let (kind, payload) = fields.first else { return nil }
        func byte(_ key: String) -> UInt8? { payload[key]?.intValue.flatMap { UInt8(exactly: $0) } }
        switch kind {
        case "ansi": return byte("_0").map { .ansi($0) }
        case "palette": return byte("_0").map { .palette($0) }
        case "rgb":
            guard let r = byte("_0"), let g = byte("_1"), let b = byte("_2") else { return nil }
            return .rgb(r, g, b)
        default: return nil
        }
    }

    // MARK: packed

    /// Every run of `batch` as one ASCII string: runs separated by spaces, each six decimal fields
    /// `line,start,count,attributes,foreground,background`; attributes are bits (bold 1, dim 2,
    /// italic 4, underline 8, reverse 16); a colour is 0 (none), 1 + n (ANSI n), 256 + n (palette
    /// n) or 16777216 + 0xRRGGBB. Empty when no line has runs.
    public static func packed(_ batch: OutputBatch) -> String {
        // Digits by hand into one buffer, the entries walked directly: a recursive closure over
        // the buffer and an array per run cost an exclusivity check per digit and an allocation
        // per run (9 % of the server's CPU in an output flood).
        let entries = batch.entries, runs = batch.runs
        var out: [UInt8] = []
        out.reserveCapacity(runs.count * 20)
        for index in entries.indices where entries[index].runCount > 0 {
            let entry = entries[index]
            for run in runs[entry.runStart..<(entry.runStart + entry.runCount)] {
                if !out.isEmpty { out.append(0x20) }
                let style = run.style
                let attributes = (style.bold ? 1 : 0) | (style.dim ? 2 : 0) | (style.italic ? 4 : 0)
                    | (style.underline ? 8 : 0) | (style.reverse ? 16 : 0)
                appendDecimal(index, to: &out)
                out.append(0x2C)
                appendDecimal(max(0, run.start), to: &out)
                out.append(0x2C)
                appendDecimal(max(0, run.count), to: &out)
                out.append(0x2C)
                appendDecimal(attributes, to: &out)
                out.append(0x2C)
                appendDecimal(code(style.foreground), to: &out)
                out.append(0x2C)
                appendDecimal(code(style.background), to: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `n` (not negative) in decimal digits at the end of `out`.
    @inline(__always)
    private static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        if n < 10 { return out.append(UInt8(truncatingIfNeeded: 48 &+ n)) }
        var digits: (UInt64, Int) = (0, 0)   // up to 8 digits packed in a word, lowest first
        var rest = n
        while rest > 0 && digits.1 < 8 {
            digits.0 = digits.0 << 8 | UInt64(48 &+ rest % 10)
            digits.1 += 1
            rest /= 10
        }
        if rest > 0 { appendDecimal(rest, to: &out) }
        for _ in 0..<digits.1 {
            out.append(UInt8(truncatingIfNeeded: digits.0))
            digits.0 >>= 8
        }
    }

    /// `packed`'s string back as runs by line; nil when it is not one (the client then shows
    /// the lines plain).
    public static func unpack(_ text: String) -> [Int: [StyleRun]]? {
        guard let ordered = unpackInOrder(text) else { return nil }
        var runs: [Int: [StyleRun]] = [:]
        for (line, run) in ordered { runs[line, default: []].append(run) }
        return runs
    }

    /// The same as one list of runs, each with its line, in the order they were packed (by line):
    /// what a client's decoding walks alongside the lines, without a dictionary.
    public static func unpackInOrder(_ text: String) -> [(line: Int, run: StyleRun)]? {
        var text = text
        text.makeContiguousUTF8()
        let result = text.utf8.withContiguousStorageIfAvailable { bytes -> [(line: Int, run: StyleRun)]? in
            var runs: [(line: Int, run: StyleRun)] = []
            var fields = (0, 0, 0, 0, 0, 0)
            var field = 0, value = 0, digits = 0
            func finishRun() -> Bool {
                guard field == 6, let foreground = color(fields.4), let background = color(fields.5) else { return false }
                let a = fields.3
                let style = TextStyle(foreground: foreground, background: background, bold: a & 1 != 0, dim: a & 2 != 0,
                                      italic: a & 4 != 0, underline: a & 8 != 0, reverse: a & 16 != 0)
                runs.append((fields.0, StyleRun(start: fields.1, count: fields.2, style: style)))
                field = 0
                return true
            }
            func store() -> Bool {
                switch field {
                case 0: fields.0 = value
                case 1: fields.1 = value
                case 2: fields.2 = value
                case 3: fields.3 = value
                case 4: fields.4 = value
                case 5: fields.5 = value
                default: return false
                }
                field += 1
                value = 0
                digits = 0
                return true
            }
            for byte in bytes {
                switch byte {
                case 0x30...0x39:
                    guard digits < 12 else { return nil }
                    value = value * 10 + Int(byte - 0x30)
                    digits += 1
                case 0x2C, 0x20:
                    guard digits > 0, store() else { return nil }
                    if byte == 0x20 { guard finishRun() else { return nil } }
                default:
                    return nil
                }
            }
            // Ends with a number (or is empty): no separator last.
            guard digits > 0 || bytes.isEmpty else { return nil }
            if digits > 0 { guard store(), finishRun() else { return nil } }
            return runs
        }
        return result ?? nil
    }

    static func code(_ color: TerminalColor?) -> Int {
        switch color {
        case nil: 0
        case .ansi(let n)?: 1 + Int(n)
        case .palette(let n)?: 256 + Int(n)
        case .rgb(let r, let g, let b)?: 16_777_216 + (Int(r) << 16 | Int(g) << 8 | Int(b))
        }
    }

    static func color(_ code: Int) -> TerminalColor?? {
        switch code {
        case 0: return .some(nil)
        case 1...16: return .ansi(UInt8(code - 1))
        case 256...511: return .palette(UInt8(code - 256))
        case 16_777_216...(16_777_216 + 0xFF_FFFF):
            let rgb = code - 16_777_216
            return .rgb(UInt8(rgb >> 16), UInt8(rgb >> 8 & 0xFF), UInt8(rgb & 0xFF))
        default: return nil
        }
    }
}
