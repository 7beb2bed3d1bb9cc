// CommandSplitter: turns a `--exec`/`--persistent` command string into argv the way a POSIX
// shell splits simple words: blanks separate, '…' is literal, "…" honours \" \\ \$ \` and a
// backslash outside quotes escapes the next character. No expansion, no globbing, no operators:
// the result goes to posix_spawnp, never to /bin/sh, so a prompt can never be interpreted.

public enum CommandSplitter {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unterminatedQuote(Character)
        case trailingBackslash
        case empty

        public var description: String {
            switch self {
            case .unterminatedQuote(let q): "unterminated \(q) quote in command"
            case .trailingBackslash: "command ends with a lone backslash"
            case .empty: "command is empty"
            }
        }
    }

    public static func split(_ command: String) throws(Failure) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var chars = command.makeIterator()
        while let c = chars.next() {
            switch c {
            case " ", "\t", "\n":
                if inWord { words.append(current); current = ""; inWord = false }
            case "'":
                inWord = true
                var closed = false
                while let d = chars.next() {
                    if d == "'" { closed = true; break }
                    current.append(d)
                }
                if !closed { throw .unterminatedQuote("'") }
            case "\"":
                inWord = true
                var closed = false
                while let d = chars.next() {
                    if d == "\"" { closed = true; break }
                    if d == "\\" {
                        guard let e = chars.next() else { throw .unterminatedQuote("\"") }
                        if e == "\"" || e == "\\" || e == "$" || e == "`" {
                            current.append(e)
                        } else if e != "\n" {
                            current.append("\\"); current.append(e)
                        }
                        continue
                    }
                    current.append(d)
                }
                if !closed { throw .unterminatedQuote("\"") }
            case "\\":
                guard let e = chars.next() else { throw .trailingBackslash }
                if e != "\n" { current.append(e); inWord = true }
            default:
                current.append(c)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        if words.isEmpty { throw .empty }
        return words
    }
}
