// PlainPrompt: a prompt as the plain (upstream) protocol carries it: one UTF-8 line.

public struct PlainPrompt: Equatable, Sendable {
    public var bytes: [UInt8]
    /// True when newlines in the prompt had to be turned into spaces.
    public var joinedLines: Bool

    /// One line ending in `\n`; inner newlines become spaces (the caller tells the user).
    public static func line(for text: String) -> PlainPrompt {
        var joined = false
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\n" || scalar == "\r" {
                joined = true
                scalars.append(" ")
            } else {
                scalars.append(scalar)
            }
        }
        return PlainPrompt(bytes: Array(String(scalars).utf8) + [0x0A], joinedLines: joined)
    }
}
