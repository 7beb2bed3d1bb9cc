// Theme: named roles (what a thing is, not which widget draws it) mapped to colours and
// attributes, plus the palette through which the agent's 16 ANSI colours are drawn.

import BridgeCore

/// A colour in a rendered cell. `.default` is the terminal's own foreground/background.
public enum CellColor: Hashable, Sendable {
    case `default`
    case ansi(UInt8)
    case palette(UInt8)
    case rgb(UInt8, UInt8, UInt8)
}

public struct CellAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = CellAttributes(rawValue: 1)
    public static let dim = CellAttributes(rawValue: 2)
    public static let underline = CellAttributes(rawValue: 4)
    public static let reverse = CellAttributes(rawValue: 8)
    public static let italic = CellAttributes(rawValue: 16)
}

/// The fully resolved look of one cell.
public struct CellStyle: Hashable, Sendable {
    public var fg: CellColor
    public var bg: CellColor
    public var attrs: CellAttributes
    public init(fg: CellColor = .default, bg: CellColor = .default, attrs: CellAttributes = []) {
        self.fg = fg
        self.bg = bg
        self.attrs = attrs
    }
    public static let plain = CellStyle()
}

public enum ThemeRole: String, CaseIterable, Hashable, Sendable {
    case listFg = "list.fg"
    case listSelected = "list.selected"
    case listUnread = "list.unread"
    case stateOk = "state.ok"
    case stateWarn = "state.warn"
    case stateError = "state.error"
    case stateUnknown = "state.unknown"
    case outputFg = "output.fg"
    case outputBg = "output.bg"
    case outputMatch = "output.match"
    case outputMatchCurrent = "output.match.current"
    case outputTimestamp = "output.timestamp"
    /// Your own `❯ prompt` lines in the scrollback (live and restored alike).
    case outputPrompt = "output.prompt"
    /// Claude transcripts: headings, list items and fenced code of the assistant's text.
    case outputHeading = "output.heading"
    case outputList = "output.list"
    case outputCode = "output.code"
    /// A tool call's `⏺ Name`, its expanded result, and a turn's footer (duration, tokens, cost).
    case outputTool = "output.tool"
    case outputToolResult = "output.tool.result"
    case outputFooter = "output.footer"
    case titleFg = "title.fg"
    case titleBg = "title.bg"
    case titlePaused = "title.paused"
    case statusFg = "status.fg"
    case statusBg = "status.bg"
    case statusError = "status.error"
    case statusKey = "status.key"
    case promptFg = "prompt.fg"
    case promptCursor = "prompt.cursor"
    case promptLabel = "prompt.label"
    case border = "border"
    /// The focused pane: its border, its title, the prompt's label while typing.
    case focus = "focus"
    case helpFg = "help.fg"
    case helpBg = "help.bg"
    case helpKey = "help.key"
    case helpTitle = "help.title"
    case healthOk = "health.ok"
    case healthWarn = "health.warn"
    case healthError = "health.error"
    case healthUnknown = "health.unknown"

    /// Roles named `*.bg` take a lone colour as the background.
    public var isBackground: Bool { rawValue.hasSuffix(".bg") }
}

/// A role's value as written in a theme file: each part optional.
public struct ThemeStyle: Hashable, Sendable {
    public var fg: CellColor?
    public var bg: CellColor?
    public var attrs: CellAttributes
    public init(fg: CellColor? = nil, bg: CellColor? = nil, attrs: CellAttributes = []) {
        self.fg = fg
        self.bg = bg
        self.attrs = attrs
    }
}

public struct Theme: Hashable, Sendable {
    public var name: String
    public var roles: [ThemeRole: ThemeStyle]
    /// How agent colours 0-15 are drawn (default: the terminal's own ANSI colours).
    public var ansiPalette: [CellColor]
    /// False for monochrome: agent colours are dropped, attributes kept.
    public var agentColors: Bool

    public init(name: String, roles: [ThemeRole: ThemeStyle], ansiPalette: [CellColor]? = nil, agentColors: Bool = true) {
        self.name = name
        self.roles = roles
        self.ansiPalette = ansiPalette ?? (0..<16).map { CellColor.ansi(UInt8($0)) }
        self.agentColors = agentColors
    }

    public func value(_ role: ThemeRole) -> ThemeStyle {
        roles[role] ?? Theme.builtinDefault.roles[role] ?? ThemeStyle()
    }

    /// The style of a role; `background` supplies the background when the role has none.
    public func style(_ role: ThemeRole, on background: ThemeRole? = nil) -> CellStyle {
        let v = value(role)
        let bg = v.bg ?? background.flatMap { value($0).bg ?? value($0).fg } ?? .default
        return CellStyle(fg: v.fg ?? .default, bg: bg, attrs: v.attrs)
    }

    /// Draws an agent's SGR style on top of a base style, through this theme's palette.
    public func style(for text: TextStyle, base: CellStyle) -> CellStyle {
        var out = base
        if agentColors {
            if let fg = text.foreground { out.fg = map(fg) }
            if let bg = text.background { out.bg = map(bg) }
        }
        if text.bold { out.attrs.insert(.bold) }
        if text.dim { out.attrs.insert(.dim) }
        if text.italic { out.attrs.insert(.italic) }
        if text.underline { out.attrs.insert(.underline) }
        if text.reverse { out.attrs.insert(.reverse) }
        return out
    }

    /// A role as a scrollback style, for lines the host writes among the agent's (your `❯ prompt`
    /// lines): drawn by `style(for:base:)` like the agent's runs, so 24-bit and 256-colour values
    /// come out as the role says; an ANSI colour goes through this theme's palette.
    public func textStyle(_ role: ThemeRole) -> TextStyle {
        let v = value(role)
        func terminal(_ color: CellColor?) -> TerminalColor? {
            switch color {
            case .ansi(let n)?: .ansi(n)
            case .palette(let n)?: .palette(n)
            case .rgb(let r, let g, let b)?: .rgb(r, g, b)
            case .default?, nil: nil
            }
        }
        return TextStyle(foreground: terminal(v.fg), background: terminal(v.bg), bold: v.attrs.contains(.bold),
                         dim: v.attrs.contains(.dim), italic: v.attrs.contains(.italic),
                         underline: v.attrs.contains(.underline), reverse: v.attrs.contains(.reverse))
    }

    public func map(_ color: TerminalColor) -> CellColor {
        switch color {
        case .ansi(let n): ansiPalette[Int(n & 15)]
        case .palette(let n) where n < 16: ansiPalette[Int(n)]
        case .palette(let n): .palette(n)
        case .rgb(let r, let g, let b): .rgb(r, g, b)
        }
    }

    /// The theme used when none is configured or a role is missing: the terminal's own
    /// background and foreground, standard colours and attributes, readable on light and dark.
    public static let builtinDefault = Theme(name: "default", roles: [
        .listFg: ThemeStyle(),
        .listSelected: ThemeStyle(attrs: [.reverse, .bold]),
        .listUnread: ThemeStyle(attrs: [.bold]),
        .stateOk: ThemeStyle(fg: .ansi(2)),
        .stateWarn: ThemeStyle(fg: .ansi(3)),
        .stateError: ThemeStyle(fg: .ansi(1), attrs: [.bold]),
        .stateUnknown: ThemeStyle(attrs: [.dim]),
        .outputFg: ThemeStyle(),
        .outputBg: ThemeStyle(),
        .outputMatch: ThemeStyle(attrs: [.reverse]),
        .outputMatchCurrent: ThemeStyle(fg: .ansi(3), attrs: [.reverse, .bold]),
        .outputTimestamp: ThemeStyle(attrs: [.dim]),
        .outputPrompt: ThemeStyle(fg: .ansi(6), attrs: [.bold]),
        .outputHeading: ThemeStyle(attrs: [.bold, .underline]),
        .outputList: ThemeStyle(fg: .ansi(6)),
        .outputCode: ThemeStyle(fg: .ansi(3)),
        .outputTool: ThemeStyle(fg: .ansi(5), attrs: [.bold]),
        .outputToolResult: ThemeStyle(attrs: [.dim]),
        .outputFooter: ThemeStyle(attrs: [.dim, .italic]),
        .titleFg: ThemeStyle(attrs: [.bold]),
        .titleBg: ThemeStyle(),
        .titlePaused: ThemeStyle(fg: .ansi(3), attrs: [.bold]),
        .statusFg: ThemeStyle(attrs: [.reverse]),
        .statusBg: ThemeStyle(),
        .statusError: ThemeStyle(fg: .ansi(1), attrs: [.reverse, .bold]),
        .statusKey: ThemeStyle(attrs: [.reverse, .bold]),
        .promptFg: ThemeStyle(),
        .promptCursor: ThemeStyle(attrs: [.reverse]),
        .promptLabel: ThemeStyle(attrs: [.bold]),
        .border: ThemeStyle(attrs: [.dim]),
        .focus: ThemeStyle(fg: .ansi(6), attrs: [.bold]),
        .helpFg: ThemeStyle(),
        .helpBg: ThemeStyle(),
        .helpKey: ThemeStyle(attrs: [.bold]),
        .helpTitle: ThemeStyle(attrs: [.bold, .underline]),
        .healthOk: ThemeStyle(fg: .ansi(2)),
        .healthWarn: ThemeStyle(fg: .ansi(3)),
        .healthError: ThemeStyle(fg: .ansi(1), attrs: [.bold]),
        .healthUnknown: ThemeStyle(attrs: [.dim]),
    ])

    /// No colour at all: attributes only (used for NO_COLOR).
    public static let monochrome = Theme(name: "monochrome", roles: [
        .listFg: ThemeStyle(),
        .listSelected: ThemeStyle(attrs: [.reverse]),
        .listUnread: ThemeStyle(attrs: [.bold]),
        .stateOk: ThemeStyle(),
        .stateWarn: ThemeStyle(attrs: [.bold]),
        .stateError: ThemeStyle(attrs: [.bold, .underline]),
        .stateUnknown: ThemeStyle(attrs: [.dim]),
        .outputFg: ThemeStyle(),
        .outputBg: ThemeStyle(),
        .outputMatch: ThemeStyle(attrs: [.reverse]),
        .outputMatchCurrent: ThemeStyle(attrs: [.reverse, .bold, .underline]),
        .outputTimestamp: ThemeStyle(attrs: [.dim]),
        .outputPrompt: ThemeStyle(attrs: [.bold]),
        .outputHeading: ThemeStyle(attrs: [.bold, .underline]),
        .outputList: ThemeStyle(),
        .outputCode: ThemeStyle(attrs: [.italic]),
        .outputTool: ThemeStyle(attrs: [.bold]),
        .outputToolResult: ThemeStyle(attrs: [.dim]),
        .outputFooter: ThemeStyle(attrs: [.dim]),
        .titleFg: ThemeStyle(attrs: [.bold]),
        .titleBg: ThemeStyle(),
        .titlePaused: ThemeStyle(attrs: [.bold, .underline]),
        .statusFg: ThemeStyle(attrs: [.reverse]),
        .statusBg: ThemeStyle(),
        .statusError: ThemeStyle(attrs: [.reverse, .bold]),
        .statusKey: ThemeStyle(attrs: [.reverse, .bold]),
        .promptFg: ThemeStyle(),
        .promptCursor: ThemeStyle(attrs: [.reverse]),
        .promptLabel: ThemeStyle(attrs: [.bold]),
        .border: ThemeStyle(),
        .focus: ThemeStyle(attrs: [.bold, .underline]),
        .helpFg: ThemeStyle(),
        .helpBg: ThemeStyle(),
        .helpKey: ThemeStyle(attrs: [.bold]),
        .helpTitle: ThemeStyle(attrs: [.bold, .underline]),
        .healthOk: ThemeStyle(),
        .healthWarn: ThemeStyle(attrs: [.bold]),
        .healthError: ThemeStyle(attrs: [.bold, .underline]),
        .healthUnknown: ThemeStyle(attrs: [.dim]),
    ], ansiPalette: Array(repeating: .default, count: 16), agentColors: false)
}
