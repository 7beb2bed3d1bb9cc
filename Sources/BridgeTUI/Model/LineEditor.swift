// LineEditor: a small readline-style text buffer (the prompt, the search and filter fields).
// Text is kept as Characters so the cursor never splits a grapheme; it may hold newlines
// (multi-line prompts): line-wise commands (Ctrl-A/E/K/U) act on the cursor's line.

public struct LineEditor: Hashable, Sendable {
    public private(set) var characters: [Character]
    /// Index into `characters` (0...count).
    public private(set) var cursor: Int

    public init(_ text: String = "") {
        characters = Array(text)
        cursor = characters.count
    }

    public var text: String { String(characters) }
    public var isEmpty: Bool { characters.isEmpty }

    public mutating func setText(_ text: String) {
        characters = Array(text)
        cursor = characters.count
    }

    public mutating func insert(_ text: String) {
        let new = Array(text)
        characters.insert(contentsOf: new, at: cursor)
        cursor += new.count
    }

    public mutating func moveLeft() { cursor = max(0, cursor - 1) }
    public mutating func moveRight() { cursor = min(characters.count, cursor + 1) }

    /// Start of the cursor's line (after the previous newline).
    var lineStartIndex: Int {
        var i = cursor
        while i > 0 && characters[i - 1] != "\n" { i -= 1 }
        return i
    }

    /// End of the cursor's line (at the next newline or the end).
    var lineEndIndex: Int {
        var i = cursor
        while i < characters.count && characters[i] != "\n" { i += 1 }
        return i
    }

    public mutating func moveToLineStart() { cursor = lineStartIndex }
    public mutating func moveToLineEnd() { cursor = lineEndIndex }

    static func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    public mutating func moveWordLeft() {
        var i = cursor
        while i > 0 && !LineEditor.isWord(characters[i - 1]) { i -= 1 }
        while i > 0 && LineEditor.isWord(characters[i - 1]) { i -= 1 }
        cursor = i
    }

    public mutating func moveWordRight() {
        var i = cursor
        while i < characters.count && !LineEditor.isWord(characters[i]) { i += 1 }
        while i < characters.count && LineEditor.isWord(characters[i]) { i += 1 }
        cursor = i
    }

    public mutating func deleteBackward() {
        guard cursor > 0 else { return }
        characters.remove(at: cursor - 1)
        cursor -= 1
    }

    public mutating func deleteForward() {
        guard cursor < characters.count else { return }
        characters.remove(at: cursor)
    }

    /// Ctrl-K: to the end of the line; at a line's end it joins the next line.
    public mutating func killToEnd() {
        let end = lineEndIndex
        if end == cursor { deleteForward() } else { characters.removeSubrange(cursor..<end) }
    }

    /// Ctrl-U: to the start of the line.
    public mutating func killToStart() {
        let start = lineStartIndex
        characters.removeSubrange(start..<cursor)
        cursor = start
    }

    /// Ctrl-W: the word before the cursor (and the spaces after it), like readline's unix-word-rubout.
    public mutating func killWordBackward() {
        var i = cursor
        while i > 0 && characters[i - 1].isWhitespace { i -= 1 }
        while i > 0 && !characters[i - 1].isWhitespace { i -= 1 }
        characters.removeSubrange(i..<cursor)
        cursor = i
    }

    /// (line, column) of the cursor in logical lines, column in characters.
    public var cursorLineAndColumn: (line: Int, column: Int) {
        var line = 0
        for c in characters[..<cursor] where c == "\n" { line += 1 }
        return (line, cursor - lineStartIndex)
    }

    public var lineCount: Int { characters.reduce(1) { $1 == "\n" ? $0 + 1 : $0 } }

    /// Moves to the previous logical line, same column where possible; false on the first line.
    public mutating func moveLineUp() -> Bool {
        let start = lineStartIndex
        guard start > 0 else { return false }
        let column = cursor - start
        var prevStart = start - 1
        while prevStart > 0 && characters[prevStart - 1] != "\n" { prevStart -= 1 }
        cursor = min(prevStart + column, start - 1)
        return true
    }

    /// Moves to the next logical line, same column where possible; false on the last line.
    public mutating func moveLineDown() -> Bool {
        let end = lineEndIndex
        guard end < characters.count else { return false }
        let column = cursor - lineStartIndex
        let nextStart = end + 1
        var nextEnd = nextStart
        while nextEnd < characters.count && characters[nextEnd] != "\n" { nextEnd += 1 }
        cursor = min(nextStart + column, nextEnd)
        return true
    }
}

/// Per-instance prompt history: Up walks back through sent prompts, Down walks forward and
/// finally returns the draft that was being typed before the walk started.
public struct PromptHistory: Hashable, Sendable {
    public static let limit = 200
    public private(set) var entries: [String] = []
    /// Position while walking; nil while editing the draft.
    public private(set) var index: Int?
    public private(set) var draft = ""

    public init(entries: [String] = []) { self.entries = entries }

    public mutating func add(_ entry: String) {
        if entries.last != entry { entries.append(entry) }
        if entries.count > PromptHistory.limit { entries.removeFirst(entries.count - PromptHistory.limit) }
        index = nil
        draft = ""
    }

    /// The older entry to show, or nil when there is none. `current` is the text in the box.
    public mutating func previous(current: String) -> String? {
        guard !entries.isEmpty else { return nil }
        switch index {
        case nil:
            draft = current
            index = entries.count - 1
        case let i? where i > 0:
            index = i - 1
        default:
            return nil
        }
        return entries[index!]
    }

    /// The newer entry, or the draft after the newest; nil when not walking.
    public mutating func next() -> String? {
        guard let i = index else { return nil }
        if i + 1 < entries.count {
            index = i + 1
            return entries[i + 1]
        }
        index = nil
        return draft
    }

    public mutating func resetWalk() { index = nil }
}
