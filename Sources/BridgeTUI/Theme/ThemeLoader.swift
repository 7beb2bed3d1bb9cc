// ThemeLoader: reads flat `role = value` theme files. Never crashes on a bad file: every
// problem comes back as `file:line: message`. Roles a file leaves out keep the built-in value.
//
//   # comment
//   list.selected = black on cyan bold
//   output.match  = #202020 on color(214)
//   title.bg      = blue          (a lone colour in a *.bg role is the background)
//   ansi.1        = #cc3333       (how the agent's red is drawn)

import Foundation

public enum ThemeError: Error, Hashable, Sendable, CustomStringConvertible {
    case notFound(name: String, searched: [String])
    case unreadable(file: String, reason: String)
    case syntax(file: String, line: Int, message: String)

    public var description: String {
        switch self {
        case .notFound(let name, let searched):
            "theme '\(name)' not found (looked in: \(searched.joined(separator: ", ")))"
        case .unreadable(let file, let reason): "\(file): \(reason)"
        case .syntax(let file, let line, let message): "\(file):\(line): \(message)"
        }
    }
}

public enum ThemeLoader {
    /// Names shipped in themes/.
    public static let shippedThemes = ["default", "dark", "light", "high-contrast", "monochrome"]

    /// Where theme files are looked for, first match wins.
    public static func defaultSearchPaths(environment: [String: String], executablePath: String? = nil) -> [String] {
        var paths: [String] = []
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            paths.append(xdg + "/cc-bridge-tui/themes")
        } else if let home = environment["HOME"], !home.isEmpty {
            paths.append(home + "/.config/cc-bridge-tui/themes")
        }
        if let exe = executablePath {
            let bin = (exe as NSString).deletingLastPathComponent
            paths.append(bin + "/../share/cc-bridge-tui/themes")
            // Run from a source checkout (.build/<triple>/debug/...): the package's own themes/.
            var dir = bin
            for _ in 0..<5 {
                dir = (dir as NSString).deletingLastPathComponent
                if FileManager.default.fileExists(atPath: dir + "/Package.swift") {
                    paths.append(dir + "/themes")
                    break
                }
            }
        }
        paths.append("themes")
        return paths
    }

    /// Loads a theme by name (searched in `searchPaths` as `<name>.theme`) or by path (anything
    /// with a `/` or ending in `.theme`). A shipped name with no file found is the copy compiled
    /// into the binary (`default` and `monochrome` are the built-in values themselves).
    public static func load(nameOrPath: String, searchPaths: [String]) throws(ThemeError) -> Theme {
        let isPath = nameOrPath.contains("/") || nameOrPath.hasSuffix(".theme")
        let candidates = isPath ? [nameOrPath] : searchPaths.map { $0 + "/" + nameOrPath + ".theme" }
        for file in candidates where FileManager.default.fileExists(atPath: file) {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) }
            catch { throw .unreadable(file: file, reason: "cannot read: \(error.localizedDescription)") }
            let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            return try parse(text, file: file, name: name)
        }
        if !isPath && nameOrPath == "default" { return .builtinDefault }
        if !isPath && nameOrPath == "monochrome" { return .monochrome }
        if !isPath, let text = BuiltinThemes.text[nameOrPath] {
            return try parse(text, file: "(built-in \(nameOrPath).theme)", name: nameOrPath)
        }
        throw .notFound(name: nameOrPath, searched: candidates)
    }

    /// `resolve`, but a theme that cannot be used is a warning, not a failure: the default theme
    /// is used instead and the warning says why (the TUI must start with some theme).
    public static func resolveOrDefault(configured: String, environment: [String: String],
                                        searchPaths: [String]) -> (theme: Theme, warning: String?) {
        do {
            return (try resolve(configured: configured, environment: environment, searchPaths: searchPaths), nil)
        } catch {
            let known = shippedThemes.joined(separator: ", ")
            return (.builtinDefault, "theme: \(error); using the default theme (built in: \(known))")
        }
    }

    /// The theme to use: NO_COLOR (non-empty) forces monochrome; otherwise the configured one.
    public static func resolve(configured: String, environment: [String: String], searchPaths: [String]) throws(ThemeError) -> Theme {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .monochrome }
        return try load(nameOrPath: configured, searchPaths: searchPaths)
    }

    public static func parse(_ text: String, file: String, name: String) throws(ThemeError) -> Theme {
        var theme = Theme.builtinDefault
        theme.name = name
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if let hash = line.indices.first(where: { line[$0] == "#" && !isColourHash(line, $0) }) { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw .syntax(file: file, line: lineNumber, message: "expected 'role = value'")
            }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if key == "agent-colors" || key == "agent.colors" {
                switch value {
                case "on", "true", "yes": theme.agentColors = true
                case "off", "false", "no": theme.agentColors = false
                default: throw .syntax(file: file, line: lineNumber, message: "agent-colors: expected on or off, got '\(value)'")
                }
                continue
            }
            if key.hasPrefix("ansi.") {
                guard let n = Int(key.dropFirst(5)), (0..<16).contains(n) else {
                    throw .syntax(file: file, line: lineNumber, message: "unknown role '\(key)' (ansi.0 to ansi.15)")
                }
                do { theme.ansiPalette[n] = try parseColour(value) }
                catch { throw .syntax(file: file, line: lineNumber, message: "\(key): \(error.message)") }
                continue
            }
            guard let role = ThemeRole(rawValue: key) else {
                throw .syntax(file: file, line: lineNumber, message: "unknown role '\(key)'")
            }
            do { theme.roles[role] = try parseStyle(value, background: role.isBackground) }
            catch { throw .syntax(file: file, line: lineNumber, message: "\(key): \(error.message)") }
        }
        return theme
    }

    /// A `#` followed by six hex digits is a colour, not a comment.
    private static func isColourHash(_ line: Substring, _ hash: Substring.Index) -> Bool {
        let after = line[line.index(after: hash)...].prefix(7)
        let hex = after.prefix(while: { $0.isHexDigit })
        return hex.count == 6 && (after.count == 6 || !(after.last!.isLetter || after.last!.isNumber))
    }

    struct ValueError: Error { var message: String }

    static let attributeNames: [String: CellAttributes] = [
        "bold": .bold, "dim": .dim, "underline": .underline, "reverse": .reverse, "italic": .italic,
    ]
    static let colourNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    static func parseStyle(_ value: String, background: Bool) throws(ValueError) -> ThemeStyle {
        var style = ThemeStyle()
        var expectBackground = false
        var sawColour = false
        for token in value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) {
            let lower = token.lowercased()
            if lower == "on" {
                guard !expectBackground else { throw ValueError(message: "'on' twice") }
                expectBackground = true
                continue
            }
            if let attribute = attributeNames[lower] {
                guard !expectBackground else { throw ValueError(message: "expected a colour after 'on', got '\(token)'") }
                style.attrs.insert(attribute)
                continue
            }
            let colour = try parseColour(token)
            if expectBackground {
                style.bg = colour
                expectBackground = false
            } else if !sawColour {
                if background { style.bg = colour } else { style.fg = colour }
                sawColour = true
            } else {
                throw ValueError(message: "two colours without 'on' ('\(token)')")
            }
        }
        if expectBackground { throw ValueError(message: "missing colour after 'on'") }
        return style
    }

    static func parseColour(_ token: String) throws(ValueError) -> CellColor {
        let lower = token.lowercased()
        if lower == "default" || lower == "none" { return .default }
        if let n = colourNames.firstIndex(of: lower) { return .ansi(UInt8(n)) }
        for prefix in ["bright-", "bright", "light-"] where lower.hasPrefix(prefix) {
            if let n = colourNames.firstIndex(of: String(lower.dropFirst(prefix.count))) { return .ansi(UInt8(n + 8)) }
        }
        if lower == "gray" || lower == "grey" { return .ansi(8) }
        if lower.hasPrefix("#") {
            let hex = lower.dropFirst()
            guard hex.count == 6, let v = UInt32(hex, radix: 16) else {
                throw ValueError(message: "bad colour '\(token)' (expected #rrggbb)")
            }
            return .rgb(UInt8(v >> 16), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF))
        }
        if lower.hasPrefix("color(") && lower.hasSuffix(")") {
            guard let n = Int(lower.dropFirst(6).dropLast()), (0...255).contains(n) else {
                throw ValueError(message: "bad colour '\(token)' (expected color(0) to color(255))")
            }
            return n < 16 ? .ansi(UInt8(n)) : .palette(UInt8(n))
        }
        throw ValueError(message: "unknown colour or attribute '\(token)'")
    }
}
