// Reducer+Input: keys, pastes and mouse events, turned into commands or text for the focused
// field. Which command a key runs is the keymap's decision (Keymap.command(for:focus:)).

import BridgeCore

extension AppState {
    mutating func handleKey(_ event: KeyEvent) -> [Effect] {
        if layout.tooSmall {
            return keymap.quitKeys.contains(event.spec) ? [.quit] : []
        }
        let focus = effectiveFocus
        // A question is answered by a key pressed on its own: a typed sentence that starts with
        // `y` or `q` says no, and goes on to the prompt.
        if confirmingQuit {
            confirmingQuit = false
            let command = keymap.command(for: event.spec, focus: focus)
            if !event.typed, command == .quit || (detachQuits && (command == .detach || command == .attach)) { return [.quit] }
            info("not quitting")
            if !event.typed { return [] }
        }
        if let pending = pendingConfirmation {
            if !event.typed {
                return answerConfirmation(pending, key: event.spec, command: keymap.command(for: event.spec, focus: focus))
            }
            pendingConfirmation = nil
            info(AppState.cancelledWording(pending.command) + " (\(pending.instance))")
        }
        if focus.isTextEntry, let c = event.spec.printable {
            insertText(String(c))
            return []
        }
        if event.typed, !focus.isOverlay, let c = event.spec.printable, let index = activeIndex {
            // A run of printable keys that arrived together is a sentence, not commands
            // (TypingBurst): "can you fix it" goes to the prompt whole, its `c` and `a` included.
            return startTyping(c, at: index)
        }
        if let command = keymap.command(for: event.spec, focus: focus) {
            return askBeforeRunning(command) ? [] : perform(command)
        }
        if !focus.isOverlay, let c = event.spec.printable, let index = activeIndex,
           Keymap.defaults.command(for: event.spec, focus: focus) == nil {
            // A printable key with no command here is the start of text: it opens the prompt of
            // the instance shown and is typed there, instead of being dropped while the keys
            // after it run commands (docs/keybindings.md, "Typing outside the prompt"). A key
            // freed by `tui.keys` stays inert: it meant something else before.
            return startTyping(c, at: index)
        }
        if event.spec == KeySpec.ctrl("c") {
            info("\(keymap.label(for: .quit) ?? "q") quits, \(keymap.label(for: .interrupt) ?? "x") interrupts the agent")
        }
        return []
    }

    /// Opens the prompt of the instance at `index` with `c` typed in it, and says where it goes.
    mutating func startTyping(_ c: Character, at index: Int) -> [Effect] {
        focusStack.push(.prompt)
        insertText(String(c))
        info("typing to \(instances[index].name): \(keymap.label(for: .leavePrompt) ?? "Esc") leaves the prompt")
        return []
    }

    mutating func handlePaste(_ text: String) {
        switch effectiveFocus {
        case .prompt: insertText(text)
        case .search, .filter, .approvalReason: insertText(text.replacingOccurrences(of: "\n", with: " "))
        case .help, .outbox, .turns, .approval: break
        case .list, .output:
            // A paste is meant for the prompt: open it and insert (never submit).
            guard activeIndex != nil else { return }
            focusStack.push(.prompt)
            insertText(text)
        }
    }

    mutating func handleMouse(_ event: MouseEvent) -> [Effect] {
        guard mouse, !layout.tooSmall else { return [] }
        if pendingConfirmation != nil, case .press = event.kind {
            // A click answers "no", as any other key would.
            pendingConfirmation = nil
            status = nil
        }
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
            if focus.isOverlay { focusStack.pop(); return [] }
            if let list = layout.list, list.contains(row: event.row, col: event.col) {
                let rows = ListRows.of(self)
                let offset = ListView.scrollOffset(selected: ListRows.selectedRow(rows, selected: selectedIndex), count: rows.count,
                                                   height: list.rows)
                let index = offset + event.row - list.row
                // A click on the list leaves a field first: the target never changes under the
                // text being typed. A host's header row selects nothing.
                focusStack.reset(to: .list)
                if index < rows.count, case .instance(let picked) = rows[index] { select(picked) }
            } else if layout.output.contains(row: event.row, col: event.col) || layout.title.contains(row: event.row, col: event.col) {
                focusStack.reset(to: .output)
            } else if layout.prompt.contains(row: event.row, col: event.col), activeIndex != nil {
                if focus != .prompt { focusStack.push(.prompt) }
            }
        default:
            break
        }
        return []
    }
}
