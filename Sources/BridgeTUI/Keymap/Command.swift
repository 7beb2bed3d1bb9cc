// Command: every named thing a key can do. The raw value is the action name used by
// `tui.keys` overrides in config.yaml and by the generated docs/keybindings.md.

public enum Command: String, CaseIterable, Hashable, Sendable {
    // Application
    case quit, toggleHelp, toggleHealth, refreshHealth, toggleMouse, suspend
    // Focus and instances
    case selectNext, selectPrevious, focusOutput, focusList, toggleFocus
    case attach, detach
    // Output pane
    case scrollUp, scrollDown, pageUp, pageDown, halfPageUp, halfPageDown
    case scrollTop, followTail, scrollLeft, scrollRight
    case search, nextMatch, previousMatch, filter, toggleRegex
    case toggleWrap, toggleTimestamps, clearPane, undoClear, saveScrollback, copyTurn, interrupt
    // Prompt
    case enterPrompt, leavePrompt, submitPrompt, insertNewline, cancelPrompt, cancelInput
    case cursorLeft, cursorRight, lineStart, lineEnd, wordLeft, wordRight
    case deleteBackward, deleteForward, killToEnd, killToStart, killWordBackward
    case historyPrevious, historyNext
    // Help overlay and search/filter entry
    case closeOverlay, confirmInput
    // Outbox and turn history
    case toggleOutbox, cancelQueued, toggleTurns, jumpToTurn, resendTurn
    // Claude transcripts and approvals
    case toggleToolOutput, showApproval, allowOnce, allowSession, denyApproval, sendDenial

    /// Looks a command up by its action name; `scroll-up`, `scroll_up` and `scrollUp` all match.
    public init?(actionName: String) {
        let wanted = Command.normalize(actionName)
        guard let found = Command.allCases.first(where: { Command.normalize($0.rawValue) == wanted }) else {
            return nil
        }
        self = found
    }

    static func normalize(_ s: String) -> String {
        String(s.lowercased().filter { $0 != "-" && $0 != "_" && $0 != " " })
    }
}

/// Where a binding applies. The focus decides which contexts are searched, in order.
public enum KeyContext: String, CaseIterable, Hashable, Sendable {
    /// Everywhere, including while typing.
    case global
    /// Outside text entry: instance list and output pane.
    case navigation
    case list
    case output
    case prompt
    /// Line editing: the prompt, the search and the filter field.
    case lineEdit
    /// The search and filter fields.
    case entry
    case help
    /// The outbox overlay (queued prompts).
    case outbox
    /// The turn-history overlay.
    case turns
    /// The approval overlay (a Claude permission request).
    case approval
    /// The field for a denial's reason.
    case approvalReason

    public var title: String {
        switch self {
        case .global: "everywhere"
        case .navigation: "list and output"
        case .list: "instance list"
        case .output: "output pane"
        case .prompt: "prompt"
        case .lineEdit: "prompt, search, filter"
        case .entry: "search, filter"
        case .help: "help"
        case .outbox: "queued prompts"
        case .turns: "turn history"
        case .approval: "approval"
        case .approvalReason: "denial reason"
        }
    }
}
