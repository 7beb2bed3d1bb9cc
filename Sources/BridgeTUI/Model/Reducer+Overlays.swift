// Reducer+Overlays: the help, the outbox (queued prompts) and the turn history: opening and
// closing them, moving the selection, and what Enter, `x` and `R` do on an entry.

import BridgeCore

extension AppState {
    mutating func performOverlay(_ command: Command) -> [Effect] {
        let pane = outputPane
        switch command {
        case .closeOverlay where focus == .approvalReason:
            focusStack.pop()
            entry = LineEditor()
        case .toggleHelp, .closeOverlay:
            if focus.isOverlay {
                focusStack.pop()
            } else if command == .toggleHelp {
                focusStack.push(.help)
                helpScroll = 0
            }
        case .scrollUp, .scrollDown, .pageUp, .pageDown:
            let up = command == .scrollUp || command == .pageUp
            if focus == .help {
                let rows = HelpView.geometry(size).inner
                let step = (command == .pageUp || command == .pageDown) ? max(1, rows - 1) : 1
                let last = max(0, HelpView.lines(keymap, width: HelpView.geometry(size).width).count - rows)
                helpScroll = max(0, min(last, helpScroll + (up ? -step : step)))
            } else {
                overlaySelection = max(0, overlaySelection + (up ? -1 : 1))
                clampOverlaySelection()
            }
        case .toggleOutbox, .toggleTurns:
            let target: Focus = command == .toggleOutbox ? .outbox : .turns
            if focus == target { focusStack.pop(); break }
            guard let active = activeInstance else { info("no instance selected"); break }
            focusStack.push(target)
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
            // The jump is shown in the output pane: a prompt left open under the overlay closes.
            focusStack.popOverlays()
            if !focusStack.layers.isEmpty { focusStack.reset(to: .output) }
            withActive { $0.showAtTop(line, height: pane.rows, width: pane.cols) }
            info("turn of \(TimeFormat.clock(row.sentAt + Double(timeZoneOffset))): \(Excerpt.of(row.prompt, 40))")
        case .resendTurn:
            guard focus == .turns, let index = activeIndex, instances[index].turns.indices.contains(overlaySelection) else { break }
            let text = instances[index].turns[overlaySelection].prompt
            focusStack.popOverlays()
            return send(text, at: index)
        default:
            break
        }
        return []
    }

    mutating func clampOverlaySelection() {
        let count = focus == .outbox ? (activeInstance?.queue.count ?? 0) : (activeInstance?.turns.count ?? 0)
        overlaySelection = max(0, min(overlaySelection, count - 1))
    }
}
