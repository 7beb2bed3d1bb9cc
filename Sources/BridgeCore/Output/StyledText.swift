// StyledText: the value types that sanitized agent output is made of.
// An OutputLine is plain text (no escape sequences left) plus style runs parsed from SGR.

/// A colour as the agent asked for it; the TUI maps it through the theme's palette.
public enum TerminalColor: Hashable, Sendable, Codable {
    /// One of the 16 ANSI colours (0-7 normal, 8-15 bright).
    case ansi(UInt8)
    /// An entry of the xterm 256-colour palette.
    case palette(UInt8)
    /// A 24-bit colour.
    case rgb(UInt8, UInt8, UInt8)
}

/// Text attributes carried by SGR sequences.
public struct TextStyle: Hashable, Sendable, Codable {
    public var foreground: TerminalColor?
    public var background: TerminalColor?
    public var bold = false
    public var dim = false
    public var italic = false
    public var underline = false
    public var reverse = false

    public init(
        foreground: TerminalColor? = nil, background: TerminalColor? = nil,
        bold: Bool = false, dim: Bool = false, italic: Bool = false,
        underline: Bool = false, reverse: Bool = false
    ) {
        self.foreground = foreground
        self.background = background
        self.bold = bold
        self.dim = dim
        self.italic = italic
        self.underline = underline
        self.reverse = reverse
    }

    public static let plain = TextStyle()
    public var isPlain: Bool { self == .plain }
}

/// A run of identically styled text inside a line. Offsets count UTF-8 bytes of `OutputLine.text`
/// (always on scalar boundaries).
public struct StyleRun: Hashable, Sendable, Codable {
    public var start: Int
    public var count: Int
    public var style: TextStyle

    public init(start: Int, count: Int, style: TextStyle) {
        self.start = start
        self.count = count
        self.style = style
    }
}

/// One finished (or, at the tail, still growing) line of sanitized output.
public struct OutputLine: Hashable, Sendable, Codable {
    /// Printable text only: no C0/C1 controls, no escape sequences. Invalid UTF-8 became U+FFFD.
    public var text: String
    /// Non-plain style runs, sorted by start, non-overlapping. Unstyled text has no run.
    public var runs: [StyleRun]
    /// Wall-clock seconds since 1970 when the line started arriving.
    public var timestamp: Double

    public init(text: String, runs: [StyleRun] = [], timestamp: Double = 0) {
        self.text = text
        self.runs = runs
        self.timestamp = timestamp
    }

    /// Lends the text's UTF-8 bytes and the runs, for copying into packed storage.
    func withUnsafeParts<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<StyleRun>) -> R) -> R {
        var text = self.text
        return text.withUTF8 { bytes in runs.withUnsafeBufferPointer { body(bytes, $0) } }
    }
}
