// Reducer: the only place AppState changes. Pure: the same state and action always give the
// same new state and effects (time comes in through `tick`, prompt ids from a counter).

import BridgeCore

/// Applies one action; returns what the runtime must do.
public func reduce(state: inout AppState, action: Action) -> [Effect] {
    switch action {
    case .key(let event): return state.handleKey(event)
    case .paste(let text): state.applyPaste(text); return []
    case .pasteRefused(let bytes): state.error(PromptText.sizeRefusal(bytes, what: "paste") ?? ""); return []
    case .mouse(let event): return state.handleMouse(event)
    case .resize(let rows, let cols):
        state.size = Size(rows: max(0, rows), cols: max(0, cols))
        state.needsFullRepaint = true
        return []
    case .instancesChanged(let infos): state.updateInstances(infos); return []
    case .output(let name, let batch):
        state.appendOutput(name, batch)
        return []
    case .sendResult(let name, let id, let error):
        state.handleSendResult(name, id, error)
        return []
    case .queueChanged(let name, let count):
        state.withInstance(name) { $0.queued = max(0, count) }
        return []
    case .historyRestored(let name, let turns, let inputs, let queue):
        state.restoreHistory(name, turns: turns, inputs: inputs, queue: queue)
        return []
    case .turnsChanged(let name, let turns):
        state.withInstance(name) { $0.upsertTurns(turns) }
        return []
    case .outboxChanged(let name, let entries):
        state.withInstance(name) { instance in
            instance.queue = entries.filter { $0.state == .queued }
            instance.queued = instance.queue.count
        }
        if state.focus == .outbox { state.clampOverlaySelection() }
        return []
    case .sendQueued(let name, let id, let reason):
        state.withInstance(name) { instance in
            let text = instance.inFlight.removeValue(forKey: id)
            instance.turnLines[id] = nil
            if let text, instance.prompt.text == text { instance.prompt = LineEditor() }
        }
        state.status = StatusMessage("queued for \(name): \(reason); will be delivered when it reads again",
                                     kind: .info, expires: state.now + 2 * AppState.statusSeconds)
        return []
    case .healthUpdated(let rows, let perInstance):
        state.healthRows = rows
        for index in state.instances.indices {
            if let health = perInstance[state.instances[index].name] { state.instances[index].health = health }
        }
        return []
    case .streamState(let name, let text):
        state.withInstance(name) { $0.streamState = text }
        return []
    case .tick(let now):
        state.now = now
        if let expires = state.status?.expires, expires <= now { state.status = nil }
        return []
    case .notice(let message):
        state.status = message
        return []
    case .command(let command):
        return state.perform(command)
    }
}

extension AppState {
    static let statusSeconds = 5.0
    static let maxTurnStarts = 200
    static let maxClipboardBytes = 64 << 10

    mutating func info(_ text: String) {
        status = StatusMessage(text, kind: .info, expires: now + AppState.statusSeconds)
    }

    mutating func error(_ text: String) {
        status = StatusMessage(text, kind: .error, expires: now + 2 * AppState.statusSeconds)
    }

    mutating func withInstance(_ name: String, _ body: (inout InstanceState) -> Void) {
        guard let index = instances.firstIndex(where: { $0.name == name }) else { return }
        body(&instances[index])
    }

    mutating func withActive(_ body: (inout InstanceState) -> Void) {
        guard let index = activeIndex else { return }
        body(&instances[index])
    }

    /// The focus with attach mode taken into account (there is no list to focus when attached).
    var effectiveFocus: Focus { (focus == .list && isAttached) ? .output : focus }

    var outputPane: Rect { layout.output }

    // MARK: - Keys

    mutating func handleKey(_ event: KeyEvent) -> [Effect] {
        if layout.tooSmall {
            return keymap.quitKeys.contains(event.spec) ? [.quit] : []
        }
        let focus = effectiveFocus
        if focus.isTextEntry, let c = event.spec.printable {
            insertText(String(c))
            return []
        }
        if let command = keymap.command(for: event.spec, focus: focus) {
            return perform(command)
        }
        if event.spec == KeySpec.ctrl("c") {
            info("\(keymap.label(for: .quit) ?? "q") quits, \(keymap.label(for: .interrupt) ?? "x") interrupts the agent")
        }
        return []
    }

    mutating func handlePaste(_ text: String) {
        switch effectiveFocus {
        case .prompt: insertText(text)
        case .search, .filter: insertText(text.replacingOccurrences(of: "\n", with: " "))
        case .help, .outbox, .turns: break
        case .list, .output:
            // A paste is meant for the prompt: open it and insert (never submit).
            guard activeIndex != nil else { return }
            previousFocus = focus
            focus = .prompt
            insertText(text)
        }
    }

    mutating func insertText(_ text: String) {
        editFocused { $0.insert(text) }
    }

    /// Runs an edit on the focused text field.
    mutating func editFocused(_ body: (inout LineEditor) -> Void) {
        switch effectiveFocus {
        case .prompt: withActive { body(&$0.prompt) }
        case .search, .filter: body(&entry)
        default: break
        }
    }

    // MARK: - Mouse

    mutating func handleMouse(_ event: MouseEvent) -> [Effect] {
        guard mouse, !layout.tooSmall else { return [] }
        let layout = self.layout
        switch event.kind {
        case .wheelUp, .wheelDown:
            if focus == .help {
                helpScroll = max(0, helpScroll + (event.kind == .wheelUp ? -3 : 3))
                return []
            }
            let pane = layout.output
            withActive {
                if event.kind == .wheelUp { $0.scrollUp(rows: 3, height: pane.rows, width: pane.cols) }
                else { $0.scrollDown(rows: 3, height: pane.rows, width: pane.cols) }
            }
        case .press(button: 0):
            if focus.isOverlay { focus = previousFocus; return [] }
            if let list = layout.list, list.contains(row: event.row, col: event.col) {
                let offset = ListView.scrollOffset(selected: selectedIndex ?? 0, count: instances.count, height: list.rows)
                let index = offset + event.row - list.row
                if index < instances.count { select(index) }
                if !focus.isTextEntry { focus = .list }
            } else if layout.output.contains(row: event.row, col: event.col) || layout.title.contains(row: event.row, col: event.col) {
                focus = .output
            } else if layout.prompt.contains(row: event.row, col: event.col), activeIndex != nil {
                if focus != .prompt { previousFocus = isAttached ? .output : focus }
                focus = .prompt
            }
        default:
            break
        }
        return []
    }

    // MARK: - Engine events

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
        // Vanished instances stay (marked gone) while they hold output or a draft.
        for previous in instances where old[previous.name] != nil {
            var gone = previous
            gone.isPresent = false
            if !gone.scrollback.isEmpty || !gone.prompt.isEmpty { result.append(gone) }
        }
        instances = result
        balanceScrollback()
        if case .attach(let name) = mode, instance(named: name) == nil {
            mode = .all
            focus = .list
        }
        if selected == nil || selectedIndex == nil {
            selected = instances.first?.name
        }
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
        for index in instances.indices {
            let first = instances[index].firstLine
            ScrollbackBudget.apply(to: &instances[index].scrollback, settings: settings, instanceCount: count)
            guard instances[index].firstLine != first else { continue }
            // Lines were trimmed: the same upkeep as when output pushes old lines out.
            let floor = instances[index].firstLine
            instances[index].filter.lines.compact(below: floor)
            instances[index].search.matches.compact(below: floor)
            if !instances[index].view.follow, instances[index].view.anchorLine < floor {
                instances[index].setAnchor(floor, skip: 0)
            }
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
        withInstance(name) { instance in
            let appended = instance.recordOutput(batch)
            if !instance.view.follow { instance.view.newWhilePaused += appended }
            if !isActive { instance.unread += appended }
            instance.filter.lines.compact(below: instance.firstLine)
            instance.search.matches.compact(below: instance.firstLine)
            if !instance.view.follow, instance.view.anchorLine < instance.firstLine {
                instance.setAnchor(instance.firstLine, skip: 0)
            }
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

    // MARK: - Selection

    mutating func select(_ index: Int) {
        guard instances.indices.contains(index) else { return }
        selected = instances[index].name
        instances[index].unread = 0
    }

    // MARK: - Commands

    mutating func perform(_ command: Command) -> [Effect] {
        let pane = outputPane
        switch command {
        case .quit:
            return [.quit]
        case .toggleHelp, .closeOverlay:
            if focus.isOverlay {
                focus = previousFocus
            } else if command == .toggleHelp {
                previousFocus = focus
                focus = .help
                helpScroll = 0
            }
        case .toggleHealth:
            healthVisible.toggle()
            if healthVisible && healthRows.isEmpty { return [.refreshHealth] }
        case .refreshHealth:
            info("checking health…")
            return [.refreshHealth]
        case .toggleMouse:
            mouse.toggle()
            info(mouse ? "mouse on" : "mouse off: the terminal's own selection works")
            return [.setMouse(mouse)]
        case .selectNext, .selectPrevious:
            guard !instances.isEmpty else { break }
            let current = selectedIndex ?? 0
            select(command == .selectNext ? min(instances.count - 1, current + 1) : max(0, current - 1))
        case .focusOutput:
            focus = .output
        case .focusList:
            if !isAttached { focus = .list }
        case .toggleFocus:
            if !isAttached { focus = (focus == .list) ? .output : .list }
        case .attach:
            if isAttached { return perform(.detach) }
            guard let index = selectedIndex else { break }
            mode = .attach(instances[index].name)
            instances[index].unread = 0
            previousFocus = .output
            focus = .prompt
        case .detach:
            guard case .attach(let name) = mode else { break }
            mode = .all
            selected = name
            focus = .list
        case .scrollUp:
            if focus == .help { helpScroll = max(0, helpScroll - 1); break }
            if focus == .outbox || focus == .turns { overlaySelection = max(0, overlaySelection - 1); break }
            withActive { $0.scrollUp(rows: 1, height: pane.rows, width: pane.cols) }
        case .scrollDown:
            if focus == .help { helpScroll += 1; break }
            if focus == .outbox || focus == .turns {
                overlaySelection += 1
                clampOverlaySelection()
                break
            }
            withActive { $0.scrollDown(rows: 1, height: pane.rows, width: pane.cols) }
        case .pageUp:
            withActive { $0.scrollUp(rows: max(1, pane.rows - 1), height: pane.rows, width: pane.cols) }
        case .pageDown:
            withActive { $0.scrollDown(rows: max(1, pane.rows - 1), height: pane.rows, width: pane.cols) }
        case .halfPageUp:
            withActive { $0.scrollUp(rows: max(1, pane.rows / 2), height: pane.rows, width: pane.cols) }
        case .halfPageDown:
            withActive { $0.scrollDown(rows: max(1, pane.rows / 2), height: pane.rows, width: pane.cols) }
        case .scrollTop:
            withActive { $0.scrollToTop(height: pane.rows, width: pane.cols) }
        case .followTail:
            withActive { $0.resumeFollow() }
        case .scrollLeft, .scrollRight:
            guard let active = activeInstance else { break }
            if active.view.wrap {
                info("wrap is on: \(keymap.label(for: .toggleWrap) ?? "w") turns it off to scroll sideways")
                break
            }
            let step = max(4, pane.cols / 4)
            withActive {
                $0.view.horizontalOffset = max(0, $0.view.horizontalOffset + (command == .scrollLeft ? -step : step))
            }
        case .search, .filter:
            guard let active = activeInstance else { break }
            previousFocus = effectiveFocus
            focus = command == .search ? .search : .filter
            entry = LineEditor(command == .search ? active.search.query : active.filter.query)
        case .confirmInput:
            let text = entry.text
            let wasSearch = focus == .search
            focus = previousFocus
            if wasSearch { commitSearch(text) } else { applyFilter(text) }
        case .cancelInput:
            focus = previousFocus
        case .nextMatch, .previousMatch:
            stepMatch(older: command == .nextMatch)
        case .toggleWrap:
            withActive {
                $0.view.wrap.toggle()
                $0.view.horizontalOffset = 0
                $0.view.anchorSkip = 0
            }
            if let active = activeInstance { info(active.view.wrap ? "wrap on" : "wrap off") }
        case .toggleTimestamps:
            withActive {
                $0.view.timestamps.toggle()
                $0.view.anchorSkip = 0
            }
        case .clearPane:
            withActive { instance in
                instance.scrollback.removeAll()
                instance.search.matches = []
                instance.search.current = nil
                instance.filter.lines = []
                instance.turnStarts = []
                instance.resumeFollow()
            }
            needsFullRepaint = true
        case .saveScrollback:
            guard let active = activeInstance else { break }
            let path = saveDirectory + "/cc-bridge-\(active.name)-\(TimeFormat.fileStamp(now + Double(timeZoneOffset))).log"
            info("saving to \(path)…")
            return [.saveScrollback(instance: active.name, path: path)]
        case .copyTurn:
            return copyTurn()
        case .interrupt:
            guard let active = activeInstance else { break }
            info("interrupt sent to \(active.name)")
            return [.interrupt(instance: active.name)]
        case .enterPrompt:
            guard activeIndex != nil else { info("no instance to send to"); break }
            if focus != .prompt { previousFocus = effectiveFocus }
            focus = .prompt
        case .leavePrompt:
            focus = isAttached ? .output : (previousFocus == .prompt ? .list : previousFocus)
        case .submitPrompt:
            return submit()
        case .insertNewline:
            insertText("\n")
        case .cancelPrompt:
            guard let active = activeInstance else { break }
            if active.prompt.isEmpty { return perform(.interrupt) }
            withActive {
                $0.prompt = LineEditor()
                $0.history.resetWalk()
            }
        case .cursorLeft: editFocused { $0.moveLeft() }
        case .cursorRight: editFocused { $0.moveRight() }
        case .lineStart: editFocused { $0.moveToLineStart() }
        case .lineEnd: editFocused { $0.moveToLineEnd() }
        case .wordLeft: editFocused { $0.moveWordLeft() }
        case .wordRight: editFocused { $0.moveWordRight() }
        case .deleteBackward: editFocused { $0.deleteBackward() }
        case .deleteForward: editFocused { $0.deleteForward() }
        case .killToEnd: editFocused { $0.killToEnd() }
        case .killToStart: editFocused { $0.killToStart() }
        case .killWordBackward: editFocused { $0.killWordBackward() }
        case .historyPrevious:
            withActive { instance in
                if instance.prompt.moveLineUp() { return }
                if let entry = instance.history.previous(current: instance.prompt.text) { instance.prompt.setText(entry) }
            }
        case .historyNext:
            withActive { instance in
                if instance.prompt.moveLineDown() { return }
                if let entry = instance.history.next() { instance.prompt.setText(entry) }
            }
        case .toggleOutbox, .toggleTurns:
            let target: Focus = command == .toggleOutbox ? .outbox : .turns
            if focus == target { focus = previousFocus; break }
            guard let active = activeInstance else { info("no instance selected"); break }
            if !focus.isOverlay { previousFocus = effectiveFocus }
            focus = target
            overlaySelection = target == .outbox ? 0 : max(0, active.turns.count - 1)
        case .cancelQueued:
            guard focus == .outbox, let active = activeInstance, active.queue.indices.contains(overlaySelection) else {
                info("nothing queued")
                break
            }
            let entry = active.queue[overlaySelection]
            info("cancelled: \(Excerpt.of(entry.text, 40))")
            return [.cancelQueued(instance: active.name, id: entry.id)]
        case .jumpToTurn:
            guard focus == .turns, let active = activeInstance, active.turns.indices.contains(overlaySelection) else { break }
            let row = active.turns[overlaySelection]
            guard let line = row.line, line >= active.firstLine, line < active.endLine else {
                error(row.line == nil ? "that turn has no place in the scrollback"
                                      : "that turn's start was trimmed from the scrollback (or cleared)")
                break
            }
            focus = isAttached ? .output : (previousFocus == .prompt || previousFocus.isOverlay ? .output : previousFocus)
            withActive { $0.showAtTop(line, height: pane.rows, width: pane.cols) }
            info("turn of \(TimeFormat.clock(row.sentAt + Double(timeZoneOffset))): \(Excerpt.of(row.prompt, 40))")
        case .resendTurn:
            guard focus == .turns, let index = activeIndex, instances[index].turns.indices.contains(overlaySelection) else { break }
            let text = instances[index].turns[overlaySelection].prompt
            focus = previousFocus.isOverlay ? .list : previousFocus
            return send(text, at: index)
        }
        return []
    }

    mutating func clampOverlaySelection() {
        let count = focus == .outbox ? (activeInstance?.queue.count ?? 0) : (activeInstance?.turns.count ?? 0)
        overlaySelection = max(0, min(overlaySelection, count - 1))
    }

    // MARK: - History

    static let maxTurnRows = 200

    /// Puts the earlier conversation into the (normally still empty) scrollback: a dimmed header,
    /// each turn as a `❯ prompt` line and its dimmed response, then a footer before live output.
    mutating func restoreHistory(_ name: String, turns: [Turn], inputs: [String], queue: [OutboxEntry]) {
        let time = now
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
                for line in HistoryLines.lines(for: turn) { instance.record(line, appended: true) }
                rows.append(TurnRow(turn, line: start, restored: true))
            }
            instance.record(HistoryLines.line("── end of history; live output below ──", style: dim, at: time), appended: true)
            instance.turns = rows + instance.turns.filter { row in !rows.contains { $0.id == row.id } }
            if instance.turns.count > AppState.maxTurnRows { instance.turns.removeFirst(instance.turns.count - AppState.maxTurnRows) }
            instance.resumeFollow()
        }
    }

    // MARK: - Prompt

    mutating func submit() -> [Effect] {
        guard let index = activeIndex else { return [] }
        let text = instances[index].prompt.text
        guard !text.allSatisfy(\.isWhitespace) else { return [] }
        let instance = instances[index]
        if !instance.isPresent {
            error("cannot send: \(instance.name) is gone (its FIFOs disappeared)")
            return []
        }
        if let reason = instance.info.brokenReason {
            error("cannot send: \(instance.name) is broken: \(reason)")
            return []
        }
        return send(text, at: index)
    }

    /// Sends `text` to the instance at `index`: a new prompt id, history, the turn's start line.
    mutating func send(_ text: String, at index: Int) -> [Effect] {
        let instance = instances[index]
        let id = "\(promptIDPrefix)\(nextPromptNumber)"
        nextPromptNumber += 1
        instances[index].inFlight[id] = text
        instances[index].history.add(text)
        let start = instances[index].scrollback.endLineNumber
        instances[index].turnStarts.append(start)
        if instances[index].turnStarts.count > AppState.maxTurnStarts { instances[index].turnStarts.removeFirst() }
        instances[index].turnLines[id] = start
        if instances[index].turnLines.count > AppState.maxTurnStarts, let oldest = instances[index].turnLines.min(by: { $0.value < $1.value }) {
            instances[index].turnLines[oldest.key] = nil
        }
        instances[index].resumeFollow()
        info("sending to \(instance.name)…")
        return [.send(instance: instance.name, promptID: id, text: text)]
    }

    // MARK: - Search and filter

    mutating func commitSearch(_ query: String) {
        let pane = outputPane
        withActive { instance in
            instance.search = SearchState()
            instance.search.query = query
            guard !query.isEmpty else { return }
            instance.search.matches = instance.matchingLines(TextMatch(query))
        }
        guard let active = activeInstance, !query.isEmpty else { return }
        let bottom = active.anchor?.line ?? active.endLine
        let matches = active.search.matches
        guard !matches.isEmpty else {
            error("no match for '\(query)'")
            return
        }
        let i = matches.lowerBound(bottom + 1) - 1
        let target = i >= 0 ? matches[i] : matches[matches.count - 1]
        withActive {
            $0.search.current = target
            $0.reveal(target, height: pane.rows, width: pane.cols)
        }
        info("\(matches.count) match\(matches.count == 1 ? "" : "es") for '\(query)'")
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
            if !instance.search.query.isEmpty {
                instance.search.matches = instance.matchingLines(TextMatch(instance.search.query))
                instance.search.current = nil
            }
            instance.resumeFollow()
            instance.clampToTop(height: pane.rows, width: pane.cols)
        }
        guard let active = activeInstance else { return }
        if query.isEmpty { info("filter off") }
        else { info("filter '\(query)': \(active.filter.lines.count) line\(active.filter.lines.count == 1 ? "" : "s")") }
    }

    // MARK: - Clipboard

    mutating func copyTurn() -> [Effect] {
        guard let active = activeInstance, !active.scrollback.isEmpty else {
            info("nothing to copy")
            return []
        }
        let start = max(active.turnStarts.last ?? active.firstLine, active.firstLine)
        var text = ""
        var count = 0
        var truncated = false
        for n in start..<active.endLine {
            guard let line = active.scrollback.line(at: n) else { continue }
            if text.utf8.count + line.text.utf8.count + 1 > AppState.maxClipboardBytes {
                truncated = true
                break
            }
            text += line.text + "\n"
            count += 1
        }
        info("copied \(count) line\(count == 1 ? "" : "s") of the last turn" + (truncated ? " (cut at 64 KiB)" : ""))
        return [.copyToClipboard(text)]
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

    /// Adds the held lines from `first` to the newest to the filter and search indexes; their
    /// Strings are made only while a filter or a search is active.
    private mutating func indexLines(from first: Int) {
        guard filter.isActive || !search.query.isEmpty else { return }
        let filterMatch = filter.isActive ? TextMatch(filter.query) : nil
        let searchMatch = search.query.isEmpty ? nil : TextMatch(search.query)
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

/// Short one-line excerpts of prompts for lists and messages.
public enum Excerpt {
    public static func of(_ text: String, _ limit: Int) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ⏎ ")
        return flat.count <= limit ? flat : String(flat.prefix(max(0, limit - 1))) + "…"
    }
}

/// The scrollback lines that show a restored turn: `❯ prompt` (bold), the response (dim), and
/// for a turn that did not complete, why.
public enum HistoryLines {
    public static func line(_ text: String, style: TextStyle, at time: Double) -> OutputLine {
        OutputLine(text: text, runs: text.isEmpty ? [] : [StyleRun(start: 0, count: text.utf8.count, style: style)], timestamp: time)
    }

    public static func lines(for turn: Turn) -> [OutputLine] {
        var out: [OutputLine] = []
        let promptStyle = TextStyle(foreground: .ansi(6), bold: true)
        for (i, part) in turn.prompt.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            out.append(line((i == 0 ? "❯ " : "  ") + part, style: promptStyle, at: turn.sentAt))
        }
        var response = Substring(turn.response)
        while response.last == "\n" { response = response.dropLast() }
        let dim = TextStyle(dim: true)
        let at = turn.firstByteAt ?? turn.sentAt
        if !response.isEmpty {
            for part in response.split(separator: "\n", omittingEmptySubsequences: false) {
                out.append(line(String(part), style: dim, at: at))
            }
        }
        if turn.status != .completed {
            let why = turn.error.map { ": \($0)" } ?? ""
            out.append(line("[\(turn.status.rawValue)\(why)]", style: TextStyle(foreground: .ansi(1), dim: true), at: turn.doneAt ?? at))
        }
        return out
    }
}

/// Time formatting without Foundation's locale-dependent formatters (pure, UTC + given offset).
public enum TimeFormat {
    static func components(_ seconds: Double) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let total = Int(seconds.rounded(.down))
        var days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secs = total - days * 86_400
        // Civil-from-days (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, secs / 3600, (secs / 60) % 60, secs % 60)
    }

    static func pad(_ n: Int, _ width: Int = 2) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// "HH:MM:SS"
    public static func clock(_ seconds: Double) -> String {
        let c = components(seconds)
        return "\(pad(c.hour)):\(pad(c.minute)):\(pad(c.second))"
    }

    /// "YYYYMMDD-HHMMSS"
    public static func fileStamp(_ seconds: Double) -> String {
        let c = components(seconds)
        return "\(pad(c.year, 4))\(pad(c.month))\(pad(c.day))-\(pad(c.hour))\(pad(c.minute))\(pad(c.second))"
    }
}
