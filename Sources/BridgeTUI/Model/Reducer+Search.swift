// Reducer+Search: the search and filter fields, stepping through matches, and the per-instance
// indexes of matching lines that are kept up to date as output arrives.

import BridgeCore

extension AppState {
    mutating func performSearch(_ command: Command) -> [Effect] {
        switch command {
        case .search, .filter:
            guard let active = activeInstance else { break }
            focusStack.push(command == .search ? .search : .filter)
            // A search starts empty (Up brings the last one back); a filter shows the one in force.
            entry = LineEditor(command == .search ? "" : active.filter.query)
            entryRegex = command == .search && active.search.regex
            fieldHistory.resetWalk()
        case .confirmInput:
            let text = entry.text
            let wasSearch = focus == .search
            if wasSearch && entryRegex, let problem = TextMatch.regexProblem(text) {
                error("not a regular expression: \(problem)")
                break
            }
            if !text.isEmpty { fieldHistory.add(text) }
            focusStack.pop()
            if wasSearch { commitSearch(text, regex: entryRegex) } else { applyFilter(text) }
        case .cancelInput:
            fieldHistory.resetWalk()
            focusStack.pop()
        case .toggleRegex:
            guard focus == .search else { break }
            entryRegex.toggle()
            info(entryRegex ? "regular expression search" : "plain text search")
        case .historyPrevious:
            if let text = fieldHistory.previous(current: entry.text) { entry.setText(text) }
        case .historyNext:
            if let text = fieldHistory.next() { entry.setText(text) }
        case .nextMatch, .previousMatch:
            // `n` keeps the search's direction (forward, newer), `N` goes back (older).
            stepMatch(older: command == .previousMatch)
        default:
            break
        }
        return []
    }

    mutating func commitSearch(_ query: String, regex: Bool = false) {
        let pane = outputPane
        withActive { instance in
            instance.search = SearchState()
            instance.search.query = query
            instance.search.regex = regex
            guard let match = instance.search.match else { return }
            instance.search.matches = instance.matchingLines(match)
        }
        guard let active = activeInstance, !query.isEmpty else { return }
        let matches = active.search.matches
        guard !matches.isEmpty else {
            error("no match for '\(query)'")
            return
        }
        // A search goes forward (downwards, to newer lines), as `/` does in less and vim: the
        // first match from the top of the view, wrapping to the oldest when none is below it.
        let top = active.topLine(height: pane.rows, width: pane.cols) ?? active.firstLine
        let i = matches.lowerBound(top)
        let target = i < matches.count ? matches[i] : matches[0]
        withActive {
            $0.search.current = target
            $0.reveal(target, height: pane.rows, width: pane.cols)
        }
        info("\(matches.count) match\(matches.count == 1 ? "" : "es") for '\(query)'" + (i < matches.count ? "" : " (wrapped)"))
    }

    mutating func stepMatch(older: Bool) {
        let pane = outputPane
        guard let active = activeInstance else { return }
        guard !active.search.query.isEmpty else {
            info("no search: \(keymap.label(for: .search) ?? "/") starts one")
            return
        }
        let matches = Array(active.search.matches[active.search.matches.lowerBound(active.firstLine)...])
        guard !matches.isEmpty else {
            error("no match for '\(active.search.query)'")
            return
        }
        let current = active.search.current ?? active.anchor?.line ?? active.endLine
        var target: Int
        var wrapped = false
        if older {
            let i = matches.lowerBound(current) - 1
            if i >= 0 { target = matches[i] } else { target = matches[matches.count - 1]; wrapped = true }
        } else {
            let i = matches.lowerBound(current + 1)
            if i < matches.count { target = matches[i] } else { target = matches[0]; wrapped = true }
        }
        withActive {
            $0.search.current = target
            $0.reveal(target, height: pane.rows, width: pane.cols)
        }
        let position = matches.lowerBound(target) + 1
        info("match \(position) of \(matches.count)" + (wrapped ? " (wrapped)" : ""))
    }

    mutating func applyFilter(_ query: String) {
        let pane = outputPane
        withActive { instance in
            instance.filter = FilterState()
            instance.filter.query = query
            if !query.isEmpty { instance.filter.lines = instance.matchingLines(TextMatch(query), ignoringFilter: true) }
            if let match = instance.search.match {
                instance.search.matches = instance.matchingLines(match)
                instance.search.current = nil
            }
            instance.resumeFollow()
            instance.clampToTop(height: pane.rows, width: pane.cols)
        }
        guard let active = activeInstance else { return }
        if query.isEmpty { info("filter off") }
        else { info("filter '\(query)': \(active.filter.lines.count) line\(active.filter.lines.count == 1 ? "" : "s")") }
    }
}

extension InstanceState {
    /// Adds the held lines from `first` to the newest to the filter and search indexes; their
    /// Strings are made only while a filter or a search is active.
    mutating func indexLines(from first: Int) {
        guard filter.isActive || !search.query.isEmpty else { return }
        let filterMatch = filter.isActive ? TextMatch(filter.query) : nil
        let searchMatch = search.match
        for n in max(first, scrollback.firstLineNumber)..<scrollback.endLineNumber {
            guard let text = scrollback.line(at: n)?.text else { continue }
            let visible = filterMatch?.matches(text) ?? true
            if filterMatch != nil && visible { filter.lines.append(n) }
            if let searchMatch, visible && searchMatch.matches(text) { search.matches.append(n) }
        }
    }

    /// Absolute numbers of the held lines matching `match` (and the filter unless told not to).
    /// One pass over the scrollback, done when a search or filter is committed, not per frame.
    func matchingLines(_ match: TextMatch, ignoringFilter: Bool = false) -> [Int] {
        let filterMatch = (!ignoringFilter && filter.isActive) ? TextMatch(filter.query) : nil
        if !match.isRegex {
            // Plain text: searched block by block in the packed bytes (no String per line); only
            // the lines that match are made, to apply the filter.
            let found = scrollback.lineNumbers { bytes, from in match.firstRange(in: bytes, from: from) }
            guard let filterMatch else { return found }
            return found.filter { n in scrollback.line(at: n).map { filterMatch.matches($0.text) } ?? false }
        }
        var result: [Int] = []
        for position in 0..<scrollback.count {
            let text = scrollback[position].text
            if match.matches(text) && (filterMatch?.matches(text) ?? true) {
                result.append(scrollback.firstLineNumber + position)
            }
        }
        return result
    }
}
