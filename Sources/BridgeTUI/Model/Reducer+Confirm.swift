// Reducer+Confirm: the one-key confirmation of destructive commands. Which commands ask is
// data (`Keymap.confirmed`, from `tui.confirm`); each asks a question that names the instance it
// would act on ("interrupt api's reply? y/n"), and the next key answers: `y` (or the command's
// own key again) runs it, any other key runs nothing. `quit` keeps its own rule (it asks only
// while work is in flight, Reducer+General).

import BridgeCore

extension AppState {
    /// Asks before `command` when it is confirmed and would act on something; true when it asked.
    mutating func askBeforeRunning(_ command: Command) -> Bool {
        guard command != .quit, keymap.confirmed.contains(command), let (instance, question) = question(for: command) else {
            return false
        }
        pendingConfirmation = PendingConfirmation(command: command, instance: instance)
        status = StatusMessage(question, kind: .error, expires: nil)
        return true
    }

    /// The answer to a pending question: the key that follows it.
    mutating func answerConfirmation(_ pending: PendingConfirmation, key: KeySpec, command: Command?) -> [Effect] {
        pendingConfirmation = nil
        status = nil
        if key == .char("y") || key == .char("Y") || command == pending.command {
            return perform(pending.command)
        }
        info(AppState.cancelledWording(pending.command) + " (\(pending.instance))")
        return []
    }

    /// The question, and the instance it names; nil when the command would do nothing anyway.
    func question(for command: Command) -> (String, String)? {
        guard let index = activeIndex else { return nil }
        let instance = instances[index]
        switch command {
        case .interrupt:
            return (instance.name, "interrupt \(instance.name)'s reply? y/n")
        case .resendTurn:
            guard focus == .turns, instance.turns.indices.contains(overlaySelection) else { return nil }
            return (instance.name, "re-send \"\(Excerpt.of(instance.turns[overlaySelection].prompt, 40))\" to \(instance.name)? y/n")
        case .clearPane:
            guard !instance.scrollback.isEmpty else { return nil }
            return (instance.name, "clear \(instance.name)'s pane? y/n")
        default:
            return nil
        }
    }

    static func cancelledWording(_ command: Command) -> String {
        switch command {
        case .interrupt: "not interrupted"
        case .resendTurn: "not re-sent"
        case .clearPane: "not cleared"
        default: "cancelled"
        }
    }
}
