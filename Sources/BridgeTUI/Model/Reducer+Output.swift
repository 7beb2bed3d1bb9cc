// Reducer+Output: the output pane's commands: scrolling, wrap and timestamps, clearing,
// saving, copying the last turn and interrupting the agent.

import BridgeCore

extension AppState {
    mutating func performOutput(_ command: Command) -> [Effect] {
        let pane = outputPane
        switch command {
        case .scrollUp:
            withActive { $0.scrollUp(rows: 1, height: pane.rows, width: pane.cols) }
        case .scrollDown:
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
            let until = now + AppState.undoSeconds
            withActive { instance in
                instance.cleared = ClearedPane(scrollback: instance.scrollback, turnStarts: instance.turnStarts, until: until)
                instance.scrollback.removeAll()
                instance.search.matches = []
                instance.search.current = nil
                instance.filter.lines = []
                instance.turnStarts = []
                instance.resumeFollow()
            }
            needsFullRepaint = true
            if let active = activeInstance {
                info("cleared \(active.name): \(keymap.label(for: .undoClear) ?? "u") brings it back")
            }
        case .undoClear:
            guard let active = activeInstance, active.cleared != nil else { info("nothing to bring back"); break }
            withActive { $0.undoClear() }
            needsFullRepaint = true
            info("\(active.name): the cleared lines are back")
        case .saveScrollback:
            guard let active = activeInstance else { break }
            // A remote instance's HOST/NAME is one file name: HOST_NAME.
            let fileName = active.name.replacingOccurrences(of: "/", with: "_")
            let path = saveDirectory + "/cc-bridge-\(fileName)-\(TimeFormat.fileStamp(now + Double(timeZoneOffset))).log"
            info("saving to \(path)…")
            return [.saveScrollback(instance: active.name, path: path)]
        case .copyTurn:
            return copyTurn()
        case .toggleToolOutput:
            guard let active = activeInstance, let anchor = active.anchor?.line else { info("no tool calls here"); break }
            var expanded: Bool?
            withActive { expanded = $0.toggleTool(near: anchor) }
            guard let expanded else { info("no tool calls in \(active.name)"); break }
            info(expanded ? "tool result expanded (\(keymap.label(for: .toggleToolOutput) ?? "e") collapses)" : "tool result collapsed")
        case .interrupt:
            guard let active = activeInstance else { break }
            info("interrupt sent to \(active.name)")
            return [.interrupt(instance: active.name)]
        default:
            break
        }
        return []
    }

    static let undoSeconds = 60.0

    /// Work quitting would abandon: prompts queued in an outbox, or a turn not yet answered.
    var hasWorkInFlight: Bool { workInFlight != nil }

    /// What quitting now would leave behind, in words (the first instance with something): an
    /// approval asked for, a reply on its way, prompts queued; nil when nothing is in flight.
    var workInFlight: String? {
        for instance in instances {
            let name = instance.name
            if case .waitingForApproval = instance.activity { return "\(name) waits for your approval" }
            if instance.turns.contains(where: { $0.status == .pending || $0.status == .active }) { return "\(name) is replying" }
            if instance.queued > 0 { return instance.queued == 1 ? "a prompt is queued for \(name)" : "\(instance.queued) prompts are queued for \(name)" }
        }
        return nil
    }

    /// The last turn's lines (from where its prompt was sent), bounded, for the clipboard.
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
    /// Puts the cleared lines back in front of what arrived since (line numbers run on, so the
    /// two join up), and rebuilds the search and filter indexes over the result.
    mutating func undoClear() {
        guard var restored = cleared?.scrollback else { return }
        for n in scrollback.firstLineNumber..<scrollback.endLineNumber {
            if let line = scrollback.line(at: n) { restored.append(line) }
        }
        turnStarts = (cleared?.turnStarts ?? []) + turnStarts
        cleared = nil
        scrollback = restored
        if filter.isActive { filter.lines = matchingLines(TextMatch(filter.query), ignoringFilter: true) }
        if let match = search.match { search.matches = matchingLines(match) }
        resumeFollow()
    }
}
