// TypingBurst: tells typing from commands by how keys arrive. A person pressing command keys
// sends one key per read from the terminal; a sentence typed by a tool, pasted without
// bracketed paste, or typed faster than the TUI reads arrives as a run of printable keys in
// one read. Such a run (at least `minimumRun` printable keys, not all the same key, so a held
// `j` still scrolls) is marked `typed`, and the reducer sends it, from its first key, to the
// prompt of the selected instance instead of running the commands its letters are bound to.
// Pure: the read boundary is the timing, and it travels in the key events.

public enum TypingBurst {
    /// Printable keys in one read that count as typing. Three, so two command keys that happen
    /// to arrive together under load (`G` `j`) still run as commands.
    public static let minimumRun = 3

    /// Marks the printable keys of every long enough run in `events` (one read's worth).
    public static func mark(_ events: [InputEvent]) -> [InputEvent] {
        var result = events
        var start = 0
        while start < result.count {
            guard printable(result[start]) != nil else { start += 1; continue }
            var end = start
            while end < result.count, printable(result[end]) != nil { end += 1 }
            let keys = result[start..<end].compactMap(printable)
            if keys.count >= minimumRun, Set(keys).count > 1 {
                for index in start..<end {
                    if case .key(var key) = result[index] {
                        key.typed = true
                        result[index] = .key(key)
                    }
                }
            }
            start = end
        }
        return result
    }

    static func printable(_ event: InputEvent) -> Character? {
        if case .key(let key) = event { return key.spec.printable }
        return nil
    }
}
