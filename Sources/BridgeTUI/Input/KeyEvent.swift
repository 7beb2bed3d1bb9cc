// KeyEvent and MouseEvent: decoded terminal input, independent of ncurses.
// A KeySpec is the same shape used as a binding in the keymap; it has a canonical name
// ("ctrl-q", "alt-b", "pgup", "f2", "G") that config overrides and the docs use.

/// A key as the keymap names it: a base key plus Ctrl/Alt. Shifted letters are their uppercase
/// character ("G"); Ctrl with a letter always uses the lowercase letter.
public struct KeySpec: Hashable, Sendable, CustomStringConvertible {
    public enum Key: Hashable, Sendable {
        case char(Character)
        case up, down, left, right, home, end, pageUp, pageDown, insert, delete, backspace
        case enter, tab, backTab, esc
        case function(Int)
    }

    public var key: Key
    public var ctrl: Bool
    public var alt: Bool

    public init(_ key: Key, ctrl: Bool = false, alt: Bool = false) {
        if ctrl, case .char(let c) = key, c.isLetter, c.isASCII {
            self.key = .char(Character(c.lowercased()))
        } else {
            self.key = key
        }
        self.ctrl = ctrl
        self.alt = alt
    }

    public static func char(_ c: Character) -> KeySpec { KeySpec(.char(c)) }
    public static func ctrl(_ c: Character) -> KeySpec { KeySpec(.char(c), ctrl: true) }
    public static func alt(_ c: Character) -> KeySpec { KeySpec(.char(c), alt: true) }

    static let namedKeys: [(String, Key)] = [
        ("up", .up), ("down", .down), ("left", .left), ("right", .right),
        ("home", .home), ("end", .end), ("pgup", .pageUp), ("pgdn", .pageDown),
        ("insert", .insert), ("delete", .delete), ("backspace", .backspace),
        ("enter", .enter), ("tab", .tab), ("shift-tab", .backTab), ("esc", .esc),
    ]
    static let aliases: [String: Key] = [
        "pageup": .pageUp, "pagedown": .pageDown, "pgdown": .pageDown, "del": .delete,
        "return": .enter, "escape": .esc, "backtab": .backTab, "bs": .backspace, "ins": .insert,
    ]

    /// Parses a key name: `q`, `G`, `?`, `space`, `ctrl-q`, `alt-b`, `alt-enter`, `pgup`, `f2`,
    /// `shift-tab`. Modifier prefixes (`ctrl-`, `c-`, `alt-`, `m-`, `meta-`) may be combined.
    public init?(name rawName: String) {
        var rest = Substring(rawName)
        var ctrl = false, alt = false
        while true {
            let lower = rest.lowercased()
            if rest.count > 1, lower.hasPrefix("ctrl-") { ctrl = true; rest = rest.dropFirst(5) }
            else if rest.count > 1, lower.hasPrefix("c-") { ctrl = true; rest = rest.dropFirst(2) }
            else if rest.count > 1, lower.hasPrefix("alt-") { alt = true; rest = rest.dropFirst(4) }
            else if rest.count > 1, lower.hasPrefix("meta-") { alt = true; rest = rest.dropFirst(5) }
            else if rest.count > 1, lower.hasPrefix("m-") { alt = true; rest = rest.dropFirst(2) }
            else { break }
        }
        guard !rest.isEmpty else { return nil }
        if rest.count == 1, let c = rest.first {
            self.init(.char(c), ctrl: ctrl, alt: alt)
            return
        }
        let lower = rest.lowercased()
        if lower == "space" { self.init(.char(" "), ctrl: ctrl, alt: alt); return }
        if let named = KeySpec.namedKeys.first(where: { $0.0 == lower })?.1 ?? KeySpec.aliases[lower] {
            self.init(named, ctrl: ctrl, alt: alt)
            return
        }
        if lower.hasPrefix("f"), let n = Int(lower.dropFirst()), (1...12).contains(n) {
            self.init(.function(n), ctrl: ctrl, alt: alt)
            return
        }
        return nil
    }

    /// The canonical name, accepted back by `init(name:)`.
    public var name: String {
        var base: String
        switch key {
        case .char(" "): base = "space"
        case .char(let c): base = String(c)
        case .function(let n): base = "f\(n)"
        default: base = KeySpec.namedKeys.first(where: { $0.1 == key })?.0 ?? "?"
        }
        if alt { base = "alt-" + base }
        if ctrl { base = "ctrl-" + base }
        return base
    }

    /// A short label for hints and help: `Ctrl-Q`, `Alt-B`, `PgUp`, `F2`, `q`.
    public var label: String {
        var base: String
        switch key {
        case .char(" "): base = "Space"
        case .char(let c): base = ctrl ? c.uppercased() : String(c)
        case .function(let n): base = "F\(n)"
        case .up: base = "↑"
        case .down: base = "↓"
        case .left: base = "←"
        case .right: base = "→"
        case .home: base = "Home"
        case .end: base = "End"
        case .pageUp: base = "PgUp"
        case .pageDown: base = "PgDn"
        case .insert: base = "Ins"
        case .delete: base = "Del"
        case .backspace: base = "Backspace"
        case .enter: base = "Enter"
        case .tab: base = "Tab"
        case .backTab: base = "Shift-Tab"
        case .esc: base = "Esc"
        }
        if alt { base = "Alt-" + base }
        if ctrl { base = "Ctrl-" + base }
        return base
    }

    public var description: String { name }

    /// A printable character without Ctrl/Alt: text when a text field has focus.
    public var printable: Character? {
        guard !ctrl, !alt, case .char(let c) = key else { return nil }
        return c
    }
}

/// One key press as decoded from the terminal.
public struct KeyEvent: Hashable, Sendable, CustomStringConvertible {
    public var spec: KeySpec
    /// The key came in a run of printable keys read together from the terminal: typing, not a
    /// command (see `TypingBurst`).
    public var typed = false
    public init(_ spec: KeySpec, typed: Bool = false) {
        self.spec = spec
        self.typed = typed
    }
    public init(_ key: KeySpec.Key, ctrl: Bool = false, alt: Bool = false) {
        spec = KeySpec(key, ctrl: ctrl, alt: alt)
    }
    public static func char(_ c: Character) -> KeyEvent { KeyEvent(.char(c)) }
    /// Builds an event from a key name (`"ctrl-a"`); traps on an invalid name (tests, fixtures).
    public static func named(_ name: String) -> KeyEvent {
        guard let spec = KeySpec(name: name) else { preconditionFailure("bad key name \(name)") }
        return KeyEvent(spec)
    }
    public var key: KeySpec.Key { spec.key }
    public var ctrl: Bool { spec.ctrl }
    public var alt: Bool { spec.alt }
    public var description: String { spec.name }
}

/// A mouse report (SGR 1006). Rows and columns are 0-based screen cells.
public struct MouseEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case wheelUp, wheelDown
        /// Button 0 = left, 1 = middle, 2 = right.
        case press(button: Int)
        case release
        case drag
    }
    public var kind: Kind
    public var row: Int
    public var col: Int
    public init(_ kind: Kind, row: Int, col: Int) {
        self.kind = kind
        self.row = row
        self.col = col
    }
}
