// Reducer+Prompt: the prompt line: entering and leaving it, editing (shared with the search and
// filter fields), its history, and sending a prompt to an instance.

import BridgeCore

extension AppState {
    mutating func performPrompt(_ command: Command) -> [Effect] {
        switch command {
        case .enterPrompt:
            guard activeIndex != nil else { info("no instance to send to"); break }
            if focus != .prompt { focusStack.push(.prompt) }
        case .leavePrompt:
            if focus == .prompt { focusStack.pop() }
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
        default:
            break
        }
        return []
    }

    mutating func insertText(_ text: String) {
        editFocused { $0.insert(text) }
    }

    /// Runs an edit on the focused text field.
    mutating func editFocused(_ body: (inout LineEditor) -> Void) {
        switch effectiveFocus {
        case .prompt: withActive { body(&$0.prompt) }
        case .search, .filter, .approvalReason: body(&entry)
        default: break
        }
    }

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
}
