// Reducer+EngineEvents: what the engine reports: instances found and gone, output, send results,
// the outbox, turns, history restored at start-up and health.

import BridgeCore

extension AppState {
    mutating func updateInstances(_ infos: [InstanceInfo]) {
        var old = Dictionary(instances.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var result: [InstanceState] = []
        for info in infos {
            if var existing = old.removeValue(forKey: info.name) {
                existing.info = info
                existing.isPresent = true
                result.append(existing)
            } else {
                result.append(newInstance(info))
            }
        }
        // Vanished instances stay (marked gone) in their place until the session hub removes them
        // (`instanceRemoved`, after tui.gone_grace_seconds): an agent that removes its pipes while
        // it restarts must not make the list jump, and comes back with its scrollback.
        for (i, previous) in instances.enumerated() where old[previous.name] != nil {
            var gone = previous
            gone.isPresent = false
            let above = instances[..<i].last { p in result.contains { $0.name == p.name } }
            let at = above.flatMap { a in result.firstIndex { $0.name == a.name } }.map { $0 + 1 } ?? 0
            result.insert(gone, at: at)
        }
        instances = result
        balanceScrollback()
        if case .attach(let name) = mode, instance(named: name) == nil {
            mode = .all
            focusStack.reset(to: .list)
        }
        if selected == nil || selectedIndex == nil {
            selected = instances.first?.name
        }
    }

    /// The session hub removed an instance that stayed gone through its grace. The selection
    /// moves to the instance now in its place (or the one above), and the status line says so.
    mutating func removeGoneInstance(_ name: String, after grace: Double) {
        guard let index = instances.firstIndex(where: { $0.name == name }), !instances[index].isPresent else { return }
        let wasSelected = selected == name
        instances.remove(at: index)
        balanceScrollback()
        if case .attach(let attached) = mode, attached == name {
            mode = .all
            focusStack.reset(to: .list)
        }
        if wasSelected {
            selected = instances.isEmpty ? nil : instances[min(index, instances.count - 1)].name
            // A prompt or field open on the removed instance closes: typing goes nowhere unseen.
            if focus.isTextEntry { focusStack.reset(to: .list) }
        }
        needsFullRepaint = true
        status = StatusMessage(SessionWording.removed(name, after: grace, nowShowing: wasSelected ? selected : nil),
                               kind: .info, expires: now + 10)
    }

    func newInstance(_ info: InstanceInfo) -> InstanceState {
        InstanceState(
            info: info,
            scrollback: Scrollback(maxLines: settings.scrollbackLines, maxBytes: settings.scrollbackBytes),
            view: OutputView(wrap: settings.wrap, timestamps: settings.timestamps))
    }

    /// Splits `tui.scrollback_total_bytes` over the instances held (gone ones with output too);
    /// called whenever their number changes. Trims at once when a share shrinks.
    mutating func balanceScrollback() {
        let count = instances.count
        let pane = outputPane
        for index in instances.indices {
            let first = instances[index].firstLine
            ScrollbackBudget.apply(to: &instances[index].scrollback, settings: settings, instanceCount: count)
            guard instances[index].firstLine != first else { continue }
            // Lines were trimmed: the same upkeep as when output pushes old lines out.
            instances[index].settleAfterOutput(appended: 0, height: pane.rows, width: pane.cols)
        }
    }

    mutating func appendOutput(_ name: String, _ batch: OutputBatch) {
        if instance(named: name) == nil {
            // Output before discovery reported the instance: keep it rather than lose it.
            instances.append(newInstance(InstanceInfo(name: name, inPath: "", outPath: "", status: .ready)))
            balanceScrollback()
            if selected == nil { selected = name }
        }
        let isActive = activeInstance?.name == name
        let pane = outputPane
        withInstance(name) { instance in
            let appended = instance.recordOutput(batch)
            if !isActive { instance.unread += appended }
            instance.settleAfterOutput(appended: appended, height: pane.rows, width: pane.cols)
        }
    }

    mutating func handleSendResult(_ name: String, _ id: String, _ failure: String?) {
        withInstance(name) { instance in
            let text = instance.inFlight.removeValue(forKey: id)
            if failure != nil { instance.turnLines[id] = nil }
            if failure == nil {
                if let text, instance.prompt.text == text { instance.prompt = LineEditor() }
            } else if let text, instance.prompt.isEmpty {
                instance.prompt.setText(text)
            }
        }
        if let failure { error("send to \(name) failed: \(failure)") }
        else { info("sent to \(name)") }
    }

    mutating func handleQueueChanged(_ name: String, _ count: Int) {
        withInstance(name) { $0.queued = max(0, count) }
    }

    mutating func handleOutboxChanged(_ name: String, _ entries: [OutboxEntry]) {
        withInstance(name) { instance in
            instance.queue = entries.filter { $0.state == .queued }
            instance.queued = instance.queue.count
        }
        if focus == .outbox { clampOverlaySelection() }
    }

    mutating func handleSendQueued(_ name: String, _ id: String, _ reason: String) {
        withInstance(name) { instance in
            let text = instance.inFlight.removeValue(forKey: id)
            instance.turnLines[id] = nil
            if let text, instance.prompt.text == text { instance.prompt = LineEditor() }
        }
        status = StatusMessage("queued for \(name): \(reason); will be delivered when it reads again",
                               kind: .info, expires: now + 2 * AppState.statusSeconds)
    }

    mutating func handleHealth(_ rows: [HealthRow], _ perInstance: [String: InstanceHealth]) {
        healthRows = rows
        for index in instances.indices {
            if let health = perInstance[instances[index].name] { instances[index].health = health }
        }
    }

    // MARK: - History

    static let maxTurnRows = 200

    /// Puts the earlier conversation into the (normally still empty) scrollback: a dimmed header,
    /// each turn as a `❯ prompt` line and its dimmed response, then a footer before live output.
    mutating func restoreHistory(_ name: String, turns: [Turn], inputs: [String], queue: [OutboxEntry]) {
        let time = now
        let theme = self.theme
        withInstance(name) { instance in
            if !inputs.isEmpty {
                var history = PromptHistory()
                for text in inputs { history.add(text) }
                for entry in instance.history.entries { history.add(entry) }
                instance.history = history
            }
            instance.queue = queue.filter { $0.state == .queued }
            instance.queued = instance.queue.count
            guard !turns.isEmpty else { return }
            let dim = TextStyle(dim: true)
            instance.record(HistoryLines.line("── earlier conversation: \(turns.count) turn\(turns.count == 1 ? "" : "s") from history ──",
                                              style: dim, at: turns.first?.sentAt ?? time), appended: true)
            var rows: [TurnRow] = []
            for turn in turns {
                let start = instance.endLine
                for line in HistoryLines.lines(for: turn, theme: theme) { instance.record(line, appended: true) }
                rows.append(TurnRow(turn, line: start, restored: true))
            }
            instance.record(HistoryLines.line("── end of history; live output below ──", style: dim, at: time), appended: true)
            instance.turns = rows + instance.turns.filter { row in !rows.contains { $0.id == row.id } }
            if instance.turns.count > AppState.maxTurnRows { instance.turns.removeFirst(instance.turns.count - AppState.maxTurnRows) }
            instance.resumeFollow()
        }
    }
}

extension InstanceState {
    /// Updates the turn rows from the tracker's changed turns; a new turn starts where its prompt
    /// was sent (or, for a delivered queued prompt, at the current end of the scrollback).
    mutating func upsertTurns(_ changed: [Turn]) {
        for turn in changed {
            if let i = turns.lastIndex(where: { $0.id == turn.id }) {
                let line = turns[i].line
                let restored = turns[i].restored
                turns[i] = TurnRow(turn, line: line, restored: restored)
            } else {
                let line = turnLines.removeValue(forKey: turn.id) ?? endLine
                turns.append(TurnRow(turn, line: line, restored: false))
                if turns.count > AppState.maxTurnRows { turns.removeFirst(turns.count - AppState.maxTurnRows) }
            }
        }
    }

    /// Adds a line and updates the search and filter indexes.
    mutating func record(_ line: OutputLine, appended: Bool) {
        scrollback.append(line)
        indexLines(from: scrollback.endLineNumber - 1)
    }

    /// Applies a batch of output to the scrollback (a replaced open line is re-checked) and indexes
    /// the new lines for an active filter or search. Returns how many lines were appended.
    mutating func recordOutput(_ batch: OutputBatch) -> Int {
        let replaces = batch.replacesOpenLine && scrollback.lastIsOpen && !scrollback.isEmpty
        let firstChanged = scrollback.endLineNumber - (replaces ? 1 : 0)
        if replaces {
            if filter.lines.last == firstChanged { filter.lines.removeLast() }
            if search.matches.last == firstChanged { search.matches.removeLast() }
        }
        let appended = scrollback.apply(batch)
        indexLines(from: firstChanged)
        return appended
    }
}
