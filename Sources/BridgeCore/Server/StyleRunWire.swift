// StyleRunWire: style runs as the socket carries them (`session_output`'s `styles`), written and
// read by hand. The JSON is exactly the Codable form of `[StyleRun]` (keys `start`, `count`,
// `style`; a colour as `{"ansi":{"_0":n}}`, `{"palette":{"_0":n}}`, `{"rgb":{"_0":r,"_1":g,"_2":b}}`;
// an absent colour left out), so either end may still use Codable. Going through JSONEncoder /
// JSONDecoder per styled line cost a coder per line on both ends of an output flood (one line in
// seven is styled in agent-like output).

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
}
