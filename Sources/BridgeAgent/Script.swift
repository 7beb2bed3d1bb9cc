// Script: the tiny reply-script format of `--script` (documented in docs/protocol.md).
// A script is a list of replies; prompt k gets reply k mod n. Each reply is a list of directives
// that write text, wait, animate a spinner, switch colours or crash the agent. Parsing is pure;
// `actions(forPrompt:)` flattens a reply into timed writes for ScriptEngine to play.

public struct Script: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        case say(String)
        case print(String)
        case type(milliseconds: Int, String)
        case sleep(milliseconds: Int)
        case spinner(frames: Int, milliseconds: Int, String)
        case color(sgr: String)
        case echo
        case crash(code: Int32)
    }

    /// What ScriptEngine does, in order.
    public enum Action: Sendable, Equatable {
        case write([UInt8])
        case wait(milliseconds: Int)
        case crash(code: Int32)
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "script line \(line): \(message)" }
    }

    public var replies: [[Step]]

    public init(replies: [[Step]]) { self.replies = replies }

    public static let spinnerFrames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    public static let colorNames: [String: String] = [
        "reset": "0", "bold": "1", "dim": "2", "italic": "3", "underline": "4",
        "red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36",
        "white": "37", "gray": "90", "grey": "90",
    ]

    public static func parse(_ text: String) throws(ParseError) -> Script {
        var replies: [[Step]] = []
        var current: [Step] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let (word, rest) = splitWord(trimmed)
            switch word {
            case "---", "reply":
                if !current.isEmpty { replies.append(current); current = [] }
            case "say": current.append(.say(unescape(rest)))
            case "print": current.append(.print(unescape(rest)))
            case "echo": current.append(.echo)
            case "sleep":
                current.append(.sleep(milliseconds: try number(rest, line: lineNumber, what: "milliseconds")))
            case "type":
                let (ms, text) = splitWord(rest)
                current.append(.type(milliseconds: try number(ms, line: lineNumber, what: "milliseconds"),
                                     unescape(text)))
            case "spinner":
                let (n, afterN) = splitWord(rest)
                let (ms, text) = splitWord(afterN)
                current.append(.spinner(frames: try number(n, line: lineNumber, what: "frame count"),
                                        milliseconds: try number(ms, line: lineNumber, what: "milliseconds"),
                                        unescape(text)))
            case "color", "colour":
                let name = rest.trimmingSpaces()
                if let sgr = colorNames[name.lowercased()] {
                    current.append(.color(sgr: sgr))
                } else if !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ";") }) {
                    current.append(.color(sgr: name))
                } else {
                    throw ParseError(line: lineNumber, message: "unknown colour '\(name)'")
                }
            case "crash":
                let code = try number(rest, line: lineNumber, what: "exit code")
                guard (0...255).contains(code) else {
                    throw ParseError(line: lineNumber, message: "exit code \(code) is not in 0...255")
                }
                current.append(.crash(code: Int32(code)))
            default:
                throw ParseError(line: lineNumber, message: "unknown directive '\(word)'")
            }
        }
        if !current.isEmpty { replies.append(current) }
        if replies.isEmpty { throw ParseError(line: lineNumber, message: "the script has no replies") }
        return Script(replies: replies)
    }

    /// The reply for the `index`-th prompt (0-based), flattened into actions.
    public func actions(forPromptNumber index: Int, prompt: String) -> [Action] {
        let steps = replies[index % replies.count]
        var actions: [Action] = []
        func write(_ s: String) { actions.append(.write(Array(s.utf8))) }
        func fill(_ s: String) -> String { s.replacingAll("{prompt}", with: prompt) }
        for step in steps {
            switch step {
            case .say(let text): write(fill(text) + "\n")
            case .print(let text): write(fill(text))
            case .echo: write(prompt + "\n")
            case .sleep(let ms): actions.append(.wait(milliseconds: ms))
            case .type(let ms, let text):
                for c in fill(text) {
                    write(String(c))
                    actions.append(.wait(milliseconds: ms))
                }
                write("\n")
            case .spinner(let n, let ms, let text):
                let label = fill(text)
                for i in 0..<max(n, 0) {
                    write("\r" + Script.spinnerFrames[i % Script.spinnerFrames.count] + " " + label)
                    actions.append(.wait(milliseconds: ms))
                }
                write("\r\u{1B}[2K")
            case .color(let sgr): write("\u{1B}[" + sgr + "m")
            case .crash(let code): actions.append(.crash(code: code))
            }
        }
        return actions
    }

    static func splitWord(_ s: Substring) -> (String, Substring) {
        let s = s.drop(while: { $0 == " " || $0 == "\t" })
        guard let space = s.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return (String(s), "") }
        return (String(s[..<space]), s[s.index(after: space)...])
    }

    static func number(_ s: some StringProtocol, line: Int, what: String) throws(ParseError) -> Int {
        let t = String(s).trimmingSpaces()
        guard let n = Int(t), n >= 0 else {
            throw ParseError(line: line, message: "expected \(what), found '\(t)'")
        }
        return n
    }

    /// `\n \r \t \e \\` escapes; anything else after a backslash is kept as written.
    static func unescape(_ s: Substring) -> String {
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            guard c == "\\", let e = it.next() else { out.append(c); continue }
            switch e {
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "e": out.append("\u{1B}")
            case "\\": out.append("\\")
            default: out.append("\\"); out.append(e)
            }
        }
        return out
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, scalars[start].properties.isWhitespace { start = scalars.index(after: start) }
        while end > start, scalars[scalars.index(before: end)].properties.isWhitespace { end = scalars.index(before: end) }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars[start..<end])
        return String(result)
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
