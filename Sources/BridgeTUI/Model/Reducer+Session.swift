// Reducer+Session: what the session hub's events do to the screen. An accepted prompt puts its
// `❯ prompt` lines into the scrollback exactly as restored history shows them (HistoryLines), so a
// live session and a restored one look the same; the agent going away or coming back puts one
// marker line there; the activity word goes to the title.

import BridgeCore

extension AppState {
    mutating func reduceSession(_ action: Action) -> [Effect] {
        switch action {
        case .promptAccepted(let name, let id, let text, let time, let origin):
            let confirmed = instance(named: name)?.inFlight[id] != nil
            if confirmed { handleSendResult(name, id, nil) }
            let theme = self.theme
            let pane = outputPane
            withInstance(name) { instance in
                // A plain agent's bare `❯ ` line, waiting for this prompt, gives way to it (the
                // engine dropped it too), as a terminal shows the typed prompt after the marker.
                instance.removeOpenReplyMarker()
                let lines = HistoryLines.lines(for: Turn(id: id, prompt: text, sentAt: time, status: .completed, origin: origin),
                                               theme: theme)
                instance.classifyTranscript()
                instance.noteInserted(at: instance.endLine - (instance.scrollback.lastIsOpen && !instance.scrollback.isEmpty ? 1 : 0),
                                      count: lines.count)
                instance.transcript.inFence = false
                let first = instance.insertFinishedLines(lines, height: pane.rows, width: pane.cols)
                // The turn starts at its prompt line.
                instance.turnLines[id] = first
                if let start = instance.turnStarts.last, start < first { instance.turnStarts[instance.turnStarts.count - 1] = first }
            }
        case .agentLifecycle(let name, let change, let time):
            let pane = outputPane
            withInstance(name) { instance in
                var number: Int?
                if case .exited(let turn?, _) = change, let i = instance.turns.lastIndex(where: { $0.id == turn.id }) {
                    number = i + 1
                }
                guard let text = SessionWording.marker(change, turnNumber: number) else { return }
                _ = instance.insertFinishedLines([HistoryLines.line(text, style: TextStyle(dim: true), at: time)],
                                                 height: pane.rows, width: pane.cols)
            }
        case .marker(let name, let text, let time):
            let pane = outputPane
            withInstance(name) { instance in
                _ = instance.insertFinishedLines([HistoryLines.line(text, style: TextStyle(dim: true), at: time)],
                                                 height: pane.rows, width: pane.cols)
            }
        case .activityChanged(let name, let activity):
            withInstance(name) { $0.activity = activity }
        default:
            break
        }
        return []
    }
}

extension InstanceState {
    /// Removes the open last line when it is nothing but the reply marker `❯`.
    mutating func removeOpenReplyMarker() {
        guard scrollback.lastIsOpen, !scrollback.isEmpty,
              let last = scrollback.line(at: scrollback.endLineNumber - 1),
              last.text.trimmingCharacters(in: .whitespaces) == "❯" else { return }
        let number = scrollback.endLineNumber - 1
        if filter.lines.last == number { filter.lines.removeLast() }
        if search.matches.last == number { search.matches.removeLast() }
        scrollback.removeOpenLine()
    }

    /// Adds finished lines in front of the open (still growing) last line, if there is one, so
    /// the output that continues it stays below them. Returns the first added line's number.
    mutating func insertFinishedLines(_ lines: [OutputLine], height: Int, width: Int) -> Int {
        let first = scrollback.endLineNumber - (scrollback.lastIsOpen && !scrollback.isEmpty ? 1 : 0)
        if first < scrollback.endLineNumber {
            // The open line moves down: its index entries are made again below.
            if filter.lines.last == first { filter.lines.removeLast() }
            if search.matches.last == first { search.matches.removeLast() }
        }
        for line in lines { scrollback.insertBeforeOpenLine(line) }
        indexLines(from: first)
        settleAfterOutput(appended: lines.count, height: height, width: width)
        return first
    }
}
