// OutputNavigation: which scrollback lines the output pane can show (all, or the filter's
// matches) and how the view moves over them in screen rows. Every walk here is bounded by
// the pane height or the distance scrolled, never by the scrollback's size.

import BridgeCore

/// Rows a line takes in the output pane, and where each row starts: the one wrap rule that
/// drawing, scrolling and search all use.
public enum OutputRows {
    /// "HH:MM:SS " before each line when timestamps are on.
    public static let timestampWidth = 9

    public static func count(_ line: OutputLine, width: Int, wrap: Bool) -> Int {
        // A line may hold newlines (an expanded tool result): each starts a row.
        guard wrap else { return 1 + line.text.utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
        var rows = 1
        forEachBreak(line.text, width: width) { _ in rows += 1 }
        return rows
    }

    /// Wraps `text` at word boundaries in rows of `width` cells, calling `body` with the UTF-8
    /// offset where each row after the first starts. A word that does not fit in the rest of
    /// a row moves to the next one when it fits there; a longer word breaks at the edge. Each
    /// wide character is a word of its own (CJK text breaks between characters). Spaces that do
    /// not fit at a row's end are swallowed by the break; zero-width characters stay with the
    /// character before them. A newline always starts a row (after it).
    static func forEachBreak(_ text: String, width: Int, _ body: (Int) -> Void) {
        let width = Swift.max(1, width)
        var col = 0
        var byte = 0
        // The word being laid out on the current row: its UTF-8 offset and column; nil after a space.
        var word: (byte: Int, col: Int)?
        // Spaces met the row's end: the next row starts at the next character that is not one.
        var swallowing = false
        for ch in text {
            let w = CharWidth.of(ch)
            let length = ch.utf8.count
            defer { byte += length }
            if ch == "\n" {
                body(byte + length)
                col = 0
                word = nil
                swallowing = false
                continue
            }
            if w == 0 { continue }
            let isSpace = ch == " " || ch == "\t"
            if swallowing {
                if isSpace { continue }
                swallowing = false
                body(byte)
                col = 0
                word = nil
            }
            if col > 0 && col + w > width {
                if isSpace {
                    swallowing = true
                    continue
                }
                if w == 1, let start = word, start.col > 0, col - start.col + w <= width {
                    body(start.byte)
                    col -= start.col
                    word = (start.byte, 0)
                } else {
                    body(byte)
                    col = 0
                    word = (byte, 0)
                }
            } else if isSpace {
                word = nil
            } else if word == nil || w > 1 {
                word = (byte, col)
            }
            col += w
            if w > 1 || isSpace { word = nil }
        }
    }
}

extension Array where Element == Int {
    /// First index whose element is >= value (the array is ascending).
    func lowerBound(_ value: Int) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Drops stale entries below `floor` once they are a tenth of the array (tmux-style chunks).
    mutating func compact(below floor: Int) {
        let stale = lowerBound(floor)
        if stale > 64 && stale > count / 10 { removeFirst(stale) }
    }
}

extension InstanceState {
    var firstLine: Int { scrollback.firstLineNumber }
    var endLine: Int { scrollback.endLineNumber }

    /// Newest line the pane can show.
    public var lastVisibleLine: Int? {
        if filter.isActive {
            guard let last = filter.lines.last, last >= firstLine else { return nil }
            return last
        }
        return scrollback.isEmpty ? nil : endLine - 1
    }

    public var firstVisibleLine: Int? {
        if filter.isActive {
            let i = filter.lines.lowerBound(firstLine)
            return i < filter.lines.count ? filter.lines[i] : nil
        }
        return scrollback.isEmpty ? nil : firstLine
    }

    public func visibleLine(before n: Int) -> Int? {
        if filter.isActive {
            let i = filter.lines.lowerBound(n) - 1
            return i >= 0 && filter.lines[i] >= firstLine ? filter.lines[i] : nil
        }
        return n - 1 >= firstLine && n - 1 < endLine ? n - 1 : nil
    }

    public func visibleLine(after n: Int) -> Int? {
        if filter.isActive {
            let i = filter.lines.lowerBound(n + 1)
            return i < filter.lines.count ? filter.lines[i] : nil
        }
        return n + 1 < endLine && n + 1 >= firstLine ? n + 1 : nil
    }

    /// The nearest visible line at or before n (or the first one after, if none before).
    func visibleLine(atOrBefore n: Int) -> Int? {
        if filter.isActive {
            let i = filter.lines.lowerBound(n + 1) - 1
            if i >= 0, filter.lines[i] >= firstLine { return filter.lines[i] }
            return firstVisibleLine
        }
        guard !scrollback.isEmpty else { return nil }
        return Swift.min(Swift.max(n, firstLine), endLine - 1)
    }

    /// (line, skip) at the bottom of the pane right now.
    public var anchor: (line: Int, skip: Int)? {
        if view.follow { return lastVisibleLine.map { ($0, 0) } }
        guard let line = visibleLine(atOrBefore: view.anchorLine) else { return nil }
        return (line, line == view.anchorLine ? view.anchorSkip : 0)
    }

    public func rows(of lineNumber: Int, width: Int) -> Int {
        guard let line = displayLine(at: lineNumber, theme: .builtinDefault) else { return 1 }
        return OutputRows.count(line, width: contentWidth(width), wrap: view.wrap)
    }

    /// Width left for text after the timestamp column.
    public func contentWidth(_ paneWidth: Int) -> Int {
        Swift.max(1, paneWidth - (view.timestamps ? OutputRows.timestampWidth : 0))
    }

    mutating func setAnchor(_ line: Int, skip: Int) {
        view.anchorLine = line
        view.anchorSkip = skip
    }

    /// Leaves follow mode, keeping what is on screen.
    mutating func pause() {
        guard view.follow, let last = lastVisibleLine else { return }
        view.follow = false
        view.newWhilePaused = 0
        view.droppedAtPause = scrollback.droppedLines
        setAnchor(last, skip: 0)
    }

    /// Lines trimmed from the scrollback since the view paused (0 while following).
    public var droppedWhilePaused: Int {
        view.follow ? 0 : Swift.max(0, scrollback.droppedLines - view.droppedAtPause)
    }

    /// Rows above the oldest line held for the "lines dropped while paused" marker (0 or 1).
    public var markerRows: Int { droppedWhilePaused > 0 ? 1 : 0 }

    /// Upkeep after `appended` lines arrived (and old ones may have been trimmed): the indexes
    /// forget trimmed lines; a paused view counts what is new (at most what is held) and keeps
    /// its lines while they exist; once the top of the view is trimmed, the oldest line held
    /// moves to the top, under the dropped marker, so the pane stays full.
    mutating func settleAfterOutput(appended: Int, height: Int, width: Int) {
        filter.lines.compact(below: firstLine)
        search.matches.compact(below: firstLine)
        guard !view.follow else { return }
        view.newWhilePaused = Swift.min(view.newWhilePaused + appended, scrollback.count)
        guard droppedWhilePaused > 0 else { return }
        if view.anchorLine < firstLine { setAnchor(firstLine, skip: 0) }
        clampToTop(height: height, width: width)
    }

    mutating func resumeFollow() {
        view.follow = true
        view.newWhilePaused = 0
        view.anchorSkip = 0
    }

    /// Scrolls toward older output by `count` rows in a pane of `height` x `width`.
    mutating func scrollUp(rows count: Int, height: Int, width: Int) {
        guard var (line, skip) = anchor else { return }
        pause()
        for _ in 0..<count {
            if skip + 1 < rows(of: line, width: width) { skip += 1 }
            else if let previous = visibleLine(before: line) { line = previous; skip = 0 }
            else { break }
        }
        setAnchor(line, skip: skip)
        clampToTop(height: height, width: width)
        if view.anchorLine == lastVisibleLine && view.anchorSkip == 0 { resumeFollow() }
    }

    /// Scrolls toward newer output; reaching the newest line resumes following.
    mutating func scrollDown(rows count: Int, height: Int, width: Int) {
        guard !view.follow, var (line, skip) = anchor else { return }
        for _ in 0..<count {
            if skip > 0 { skip -= 1 }
            else if let next = visibleLine(after: line) { line = next; skip = rows(of: next, width: width) - 1 }
            else { break }
        }
        setAnchor(line, skip: skip)
        if line == lastVisibleLine && skip == 0 { resumeFollow() }
    }

    /// Keeps the pane full: when fewer than `height` rows lie above the anchor, the view is
    /// moved so that the oldest visible line sits at the top (below the dropped marker, if any).
    mutating func clampToTop(height paneHeight: Int, width: Int) {
        let height = Swift.max(1, paneHeight - markerRows)
        guard let (line, skip) = anchor else { return }
        var above = rows(of: line, width: width) - skip
        var cursor = line
        while above < height, let previous = visibleLine(before: cursor) {
            above += rows(of: previous, width: width)
            cursor = previous
        }
        guard above < height, let first = firstVisibleLine else { return }
        // Not enough content above: anchor where the first line plus `height` rows end.
        var total = 0
        var anchorLine = first
        var current: Int? = first
        while let n = current {
            let r = rows(of: n, width: width)
            if total + r >= height {
                setAnchor(n, skip: total + r - height)
                return
            }
            total += r
            anchorLine = n
            current = visibleLine(after: n)
        }
        setAnchor(anchorLine, skip: 0)
    }

    mutating func scrollToTop(height: Int, width: Int) {
        guard let first = firstVisibleLine else { return }
        pause()
        setAnchor(first, skip: Swift.max(0, rows(of: first, width: width) - 1))
        clampToTop(height: height, width: width)
        if view.anchorLine == lastVisibleLine && view.anchorSkip == 0 { resumeFollow() }
    }

    /// The oldest line the pane shows (wholly or in part) in a pane of `height` rows.
    public func topLine(height: Int, width: Int) -> Int? {
        guard let (line, skip) = anchor else { return nil }
        var used = rows(of: line, width: width) - skip
        var cursor = line
        while used < height, let previous = visibleLine(before: cursor) {
            used += rows(of: previous, width: width)
            cursor = previous
        }
        return cursor
    }

    /// Shows line `n` with up to half a pane of newer output below it.
    mutating func reveal(_ n: Int, height: Int, width: Int) {
        pause()
        var anchor = n
        var below = 0
        while let next = visibleLine(after: anchor) {
            let r = rows(of: next, width: width)
            if below + r > (height - 1) / 2 { break }
            below += r
            anchor = next
        }
        setAnchor(anchor, skip: 0)
        clampToTop(height: height, width: width)
    }

    /// Shows line `n` at the top of the pane (as far as there is newer output to fill it).
    mutating func showAtTop(_ n: Int, height: Int, width: Int) {
        pause()
        var anchor = n
        var used = rows(of: n, width: width)
        while let next = visibleLine(after: anchor) {
            let r = rows(of: next, width: width)
            if used + r > height { break }
            used += r
            anchor = next
        }
        setAnchor(anchor, skip: 0)
        clampToTop(height: height, width: width)
        if anchor == lastVisibleLine { resumeFollow() }
    }
}
