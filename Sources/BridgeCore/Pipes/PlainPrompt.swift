// PlainPrompt: a prompt as the plain (upstream) protocol carries it: one UTF-8 line, cleaned by
// PromptText's rules (no control bytes, so never an interrupt; tabs and line breaks as spaces).

public struct PlainPrompt: Equatable, Sendable {
    public var bytes: [UInt8]
    /// True when newlines in the prompt had to be turned into spaces.
    public var joinedLines: Bool
    /// Control characters, escape sequences and invisible format characters removed.
    public var removed: Int

    /// One line ending in `\n`; inner line breaks become spaces (the caller tells the user).
    public static func line(for text: String) -> PlainPrompt {
        let cleaned = PromptText.clean(text, keepLines: false)
        return PlainPrompt(bytes: Array(cleaned.text.utf8) + [0x0A], joinedLines: cleaned.joinedLines,
                           removed: cleaned.removed)
    }
}
