// OutputNavigation: which scrollback lines the output pane can show (all, or the filter's
// matches) and how the view moves over them in screen rows. Every walk here is bounded by
// the pane height or the distance scrolled, never by the scrollback's size.

import BridgeCore

/// Rows a line takes in the output pane.
public enum OutputRows {
    /// "HH:MM:SS " before each line when timestamps are on.
    public static let timestampWidth = 9

    public static func count(_ line: OutputLine, width: Int, wrap: Bool) -> Int {
        guard wrap else { return 1 + line.text.utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }
        let width = max(1, width)
        var rows = 1, col = 0
        for ch in line.text {
            if ch == "\n" {
                rows += 1
                col = 0
                continue
            }
            let w = CharWidth.of(ch)
            if w == 0 { continue }
            if col + w > width {
                rows += 1
                col = 0
            }
            col += w
        }
        return rows
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
        setAnchor(last, skip: 0)
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
    /// moved so that the oldest visible line sits at the top.
    mutating func clampToTop(height: Int, width: Int) {
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
