// Keymap: key bindings as data. One table feeds key dispatch, the help overlay, the status-bar
// hints and docs/keybindings.md, so they cannot disagree.

public struct KeyBinding: Hashable, Sendable {
    public var keys: [KeySpec]
    public var command: Command
    public var description: String
    public var group: String
    public var contexts: [KeyContext]

    public init(_ keys: [String], _ command: Command, _ description: String, group: String, _ contexts: [KeyContext]) {
        self.keys = keys.map { name in
            guard let spec = KeySpec(name: name) else { preconditionFailure("bad default key \(name)") }
            return spec
        }
        self.command = command
        self.description = description
        self.group = group
        self.contexts = contexts
    }
}

public struct KeymapError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public struct Keymap: Sendable, Equatable {
    public private(set) var bindings: [KeyBinding]
    /// Commands that ask "…? y/n" before they act (`tui.confirm`); `quit` asks only while a reply
    /// streams or prompts are queued.
    public private(set) var confirmed: Set<Command>

    public init(bindings: [KeyBinding], confirmed: Set<Command> = Keymap.defaultConfirmed) {
        self.bindings = bindings
        self.confirmed = confirmed
    }

    /// Interrupt and re-send cannot be taken back; quitting while busy drops a reply. `clearPane`
    /// is not here by default: `u` undoes it.
    public static let defaultConfirmed: Set<Command> = [.interrupt, .resendTurn, .quit]

    /// The commands `tui.confirm` may name: the ones that destroy or cannot be taken back.
    public static let confirmable: [Command] = [.interrupt, .resendTurn, .quit, .clearPane]

    /// Applies `tui.confirm` (a list of action names; nil keeps the defaults, `[]` asks for
    /// nothing). Names that are not confirmable actions are returned as errors and ignored.
    public func applying(confirm names: [String]?) -> (Keymap, [KeymapError]) {
        guard let names else { return (self, []) }
        var result = self
        var errors: [KeymapError] = []
        result.confirmed = []
        for name in names {
            if let command = Command(actionName: name), Keymap.confirmable.contains(command) {
                result.confirmed.insert(command)
            } else {
                let allowed = Keymap.confirmable.map(\.rawValue).joined(separator: ", ")
                errors.append(KeymapError(message: "confirm: '\(name)' is not one of \(allowed)"))
            }
        }
        return (result, errors)
    }

    /// The commands each focus reaches, most specific context first.
    public static func contexts(for focus: Focus) -> [KeyContext] {
        switch focus {
        case .list: [.list, .navigation, .global]
        case .output: [.output, .navigation, .global]
        case .prompt: [.prompt, .lineEdit, .global]
        case .search, .filter: [.entry, .lineEdit, .global]
        case .help: [.help, .global]
        case .outbox: [.outbox, .global]
        case .turns: [.turns, .global]
        case .approval: [.approval, .global]
        case .approvalReason: [.approvalReason, .lineEdit, .global]
        }
    }

    public func command(for key: KeySpec, focus: Focus) -> Command? {
        for context in Keymap.contexts(for: focus) {
            if let binding = bindings.first(where: { $0.contexts.contains(context) && $0.keys.contains(key) }) {
                return binding.command
            }
        }
        return nil
    }

    public func binding(for command: Command) -> KeyBinding? {
        bindings.first { $0.command == command }
    }

    /// The first key of a command, as a label ("?", "Ctrl-]"), for hints.
    public func label(for command: Command) -> String? {
        binding(for: command)?.keys.first?.label
    }

    /// The first key that runs `command` where `focus` is, as a label; nil when no key does. A
    /// printable key is text in a text field (`d` types a "d" in the prompt), so it never counts
    /// there.
    public func label(for command: Command, focus: Focus) -> String? {
        keys(for: command, focus: focus).first?.label
    }

    /// The keys that run `command` where `focus` is, in binding order (see `label(for:focus:)`).
    public func keys(for command: Command, focus: Focus) -> [KeySpec] {
        bindings.filter { $0.command == command }.flatMap(\.keys).filter { key in
            self.command(for: key, focus: focus) == command && !(focus.isTextEntry && key.printable != nil)
        }
    }

    /// The keys of every command that can quit from the "terminal too small" screen.
    public var quitKeys: [KeySpec] { binding(for: .quit)?.keys ?? [] }

    /// Applies `tui.keys` overrides (action name -> key names). Each named action gets exactly
    /// the given keys; a key taken from another command in the same context is removed there.
    /// Unknown action or key names are returned as errors and otherwise ignored.
    public func applying(overrides: [String: [String]]) -> (Keymap, [KeymapError]) {
        var result = self
        var errors: [KeymapError] = []
        for actionName in overrides.keys.sorted() {
            let names = overrides[actionName] ?? []
            guard let command = Command(actionName: actionName) else {
                errors.append(KeymapError(message: "keys.\(actionName): unknown action '\(actionName)'"))
                continue
            }
            var specs: [KeySpec] = []
            for name in names {
                if let spec = KeySpec(name: name) { specs.append(spec) }
                else { errors.append(KeymapError(message: "keys.\(actionName): unknown key '\(name)'")) }
            }
            // A command may have several bindings (one per group of contexts): all get the keys.
            let own = result.bindings.indices.filter { result.bindings[$0].command == command }
            let contexts = Set(own.flatMap { result.bindings[$0].contexts })
            for other in result.bindings.indices where !own.contains(other) {
                if result.bindings[other].contexts.contains(where: contexts.contains) {
                    result.bindings[other].keys.removeAll(where: specs.contains)
                }
            }
            for index in own { result.bindings[index].keys = specs }
        }
        return (result, errors)
    }

    /// The rules behind the keys, in a line each: the help overlay shows them after the tables
    /// and docs/keybindings.md lists them (with more words above).
    public static let rules: [String] = [
        "Outside the prompt, a printable key with no command opens the prompt of the instance shown and is typed there.",
        "Three or more printable keys read together (a sentence from a tool, a paste, keys typed faster than the TUI reads), not one key held, are text for that prompt from the first key on: \"can you fix it\" runs no command.",
        "x and R ask \"…? y/n\" naming the instance; y or the same key again runs it, any other key runs nothing (tui.confirm lists what asks).",
        "q asks once while a reply streams, an approval waits or prompts are queued, naming which; c is undone by u for a minute.",
        "/ searches forward (newer, downwards) from the top of the view and wraps; n goes on that way, N goes back.",
    ]

    public static let groups = ["General", "Instances", "Output", "Search and filter", "Prompt", "History and outbox", "Approvals", "Help"]

    public static let defaults = Keymap(bindings: [
        // General
        KeyBinding(["q"], .quit, "Quit", group: "General", [.navigation]),
        KeyBinding(["?", "f1"], .toggleHelp, "Show or hide this help", group: "General", [.navigation, .help]),
        KeyBinding(["H"], .toggleHealth, "Show or hide the health panel", group: "General", [.navigation]),
        KeyBinding(["r"], .refreshHealth, "Check health now, retry failed hosts", group: "General", [.navigation]),
        KeyBinding(["m"], .toggleMouse, "Mouse capture on/off (off: the terminal's own selection works)", group: "General", [.navigation]),
        KeyBinding(["ctrl-z"], .suspend, "Suspend to the shell, terminal restored (`fg` brings the UI back)", group: "General", [.global]),
        // Instances
        KeyBinding(["j", "down"], .selectNext, "Next instance", group: "Instances", [.list]),
        KeyBinding(["k", "up"], .selectPrevious, "Previous instance", group: "Instances", [.list]),
        KeyBinding(["l", "right"], .focusOutput, "Focus the output pane", group: "Instances", [.list]),
        KeyBinding(["esc"], .focusList, "Back to the instance list", group: "Instances", [.output]),
        KeyBinding(["shift-tab"], .toggleFocus, "Switch between list and output", group: "Instances", [.navigation]),
        KeyBinding(["a", "f2"], .attach, "Attach: full screen on the selected instance (again: detach)", group: "Instances", [.navigation, .prompt]),
        KeyBinding(["d", "ctrl-]"], .detach, "Detach back to the instance list (after `attach NAME`: leave, unless --stay)", group: "Instances", [.navigation, .prompt]),
        KeyBinding(["x"], .interrupt, "Interrupt the agent's reply, after a y/n question (framed agent or cc-bridge-agent; others cannot be: nothing is sent)", group: "Instances", [.navigation]),
        // Output
        KeyBinding(["k", "up"], .scrollUp, "Scroll up one line (pauses following)", group: "Output", [.output]),
        KeyBinding(["j", "down"], .scrollDown, "Scroll down one line", group: "Output", [.output]),
        KeyBinding(["pgup", "ctrl-b"], .pageUp, "Scroll up one page", group: "Output", [.navigation, .prompt]),
        KeyBinding(["pgdn", "ctrl-f"], .pageDown, "Scroll down one page", group: "Output", [.navigation, .prompt]),
        KeyBinding(["ctrl-u"], .halfPageUp, "Scroll up half a page", group: "Output", [.navigation]),
        KeyBinding(["ctrl-d"], .halfPageDown, "Scroll down half a page", group: "Output", [.navigation]),
        KeyBinding(["g", "home"], .scrollTop, "Go to the oldest line", group: "Output", [.navigation]),
        KeyBinding(["G", "end"], .followTail, "Go to the newest line and follow", group: "Output", [.navigation]),
        KeyBinding(["h", "left"], .scrollLeft, "Scroll left (wrap off)", group: "Output", [.output]),
        KeyBinding(["l", "right"], .scrollRight, "Scroll right (wrap off)", group: "Output", [.output]),
        KeyBinding(["w"], .toggleWrap, "Wrap long lines on/off", group: "Output", [.navigation]),
        KeyBinding(["t"], .toggleTimestamps, "Timestamps on/off", group: "Output", [.navigation]),
        KeyBinding(["c"], .clearPane, "Clear the pane (u brings it back for a minute)", group: "Output", [.navigation]),
        KeyBinding(["u"], .undoClear, "Undo the last clear of the pane, with what arrived since", group: "Output", [.navigation]),
        KeyBinding(["s"], .saveScrollback, "Save the scrollback to a file", group: "Output", [.navigation]),
        KeyBinding(["y"], .copyTurn, "Copy the last turn to the clipboard (OSC 52)", group: "Output", [.navigation]),
        KeyBinding(["e"], .toggleToolOutput, "Expand or collapse a tool call's result: the one at the bottom of the pane, or the nearest above it", group: "Output", [.navigation]),
        // Search and filter
        KeyBinding(["/"], .search, "Search the scrollback forward (downwards, to newer lines) from the top of the view, wrapping at the end; opens empty, Up brings back the last search. Smart case: a query in lower case ignores case, one with a capital letter does not", group: "Search and filter", [.navigation]),
        KeyBinding(["n"], .nextMatch, "Next match in the search's direction (newer, downwards)", group: "Search and filter", [.navigation]),
        KeyBinding(["N"], .previousMatch, "Previous match (older, upwards)", group: "Search and filter", [.navigation]),
        KeyBinding(["f", "&"], .filter, "Show only lines that match (empty: all lines)", group: "Search and filter", [.navigation]),
        KeyBinding(["enter"], .confirmInput, "Apply the search or filter", group: "Search and filter", [.entry]),
        KeyBinding(["esc", "ctrl-c"], .cancelInput, "Cancel the search or filter", group: "Search and filter", [.entry]),
        KeyBinding(["ctrl-r"], .toggleRegex, "Regular expression on/off for this search (the field shows re/)", group: "Search and filter", [.entry]),
        KeyBinding(["up", "ctrl-p"], .historyPrevious, "Earlier search or filter", group: "Search and filter", [.entry]),
        KeyBinding(["down", "ctrl-n"], .historyNext, "Later search or filter, then what you typed", group: "Search and filter", [.entry]),
        // Prompt
        KeyBinding(["i", "tab", "enter"], .enterPrompt, "Type a prompt", group: "Prompt", [.navigation]),
        KeyBinding(["esc"], .leavePrompt, "Leave the prompt (the text stays)", group: "Prompt", [.prompt]),
        KeyBinding(["enter"], .submitPrompt, "Send the prompt", group: "Prompt", [.prompt]),
        KeyBinding(["alt-enter", "ctrl-j"], .insertNewline, "New line in the prompt", group: "Prompt", [.prompt]),
        KeyBinding(["ctrl-c"], .cancelPrompt, "Empty prompt: interrupt the agent; else clear the prompt", group: "Prompt", [.prompt]),
        KeyBinding(["left"], .cursorLeft, "Cursor left", group: "Prompt", [.lineEdit]),
        KeyBinding(["right"], .cursorRight, "Cursor right", group: "Prompt", [.lineEdit]),
        KeyBinding(["ctrl-a", "home"], .lineStart, "Start of line", group: "Prompt", [.lineEdit]),
        KeyBinding(["ctrl-e", "end"], .lineEnd, "End of line", group: "Prompt", [.lineEdit]),
        KeyBinding(["alt-b", "ctrl-left", "alt-left"], .wordLeft, "Word left", group: "Prompt", [.lineEdit]),
        KeyBinding(["alt-f", "ctrl-right", "alt-right"], .wordRight, "Word right", group: "Prompt", [.lineEdit]),
        KeyBinding(["backspace", "ctrl-h"], .deleteBackward, "Delete before the cursor", group: "Prompt", [.lineEdit]),
        KeyBinding(["delete"], .deleteForward, "Delete at the cursor", group: "Prompt", [.lineEdit]),
        KeyBinding(["ctrl-k"], .killToEnd, "Delete to the end of the line", group: "Prompt", [.lineEdit]),
        KeyBinding(["ctrl-u"], .killToStart, "Delete to the start of the line", group: "Prompt", [.lineEdit]),
        KeyBinding(["ctrl-w", "alt-backspace"], .killWordBackward, "Delete the word before the cursor", group: "Prompt", [.lineEdit]),
        KeyBinding(["up", "ctrl-p"], .historyPrevious, "Previous line, or older history entry (draft kept)", group: "Prompt", [.prompt]),
        KeyBinding(["down", "ctrl-n"], .historyNext, "Next line, or newer history entry / the draft", group: "Prompt", [.prompt]),
        // History and outbox
        KeyBinding(["T"], .toggleTurns, "Turn history of the instance: status, first byte, duration, prompt", group: "History and outbox", [.navigation, .turns]),
        KeyBinding(["enter"], .jumpToTurn, "Jump the scrollback to the selected turn", group: "History and outbox", [.turns]),
        KeyBinding(["R"], .resendTurn, "Send the selected turn's prompt again (asks y/n first)", group: "History and outbox", [.turns]),
        KeyBinding(["o"], .toggleOutbox, "Prompts queued for the instance (sent when its agent reads again)", group: "History and outbox", [.navigation, .outbox]),
        KeyBinding(["x", "delete"], .cancelQueued, "Cancel the selected queued prompt", group: "History and outbox", [.outbox]),
        KeyBinding(["j", "down"], .scrollDown, "Next entry", group: "History and outbox", [.outbox, .turns]),
        KeyBinding(["k", "up"], .scrollUp, "Previous entry", group: "History and outbox", [.outbox, .turns]),
        KeyBinding(["esc", "q"], .closeOverlay, "Close the list", group: "History and outbox", [.outbox, .turns]),
        // Approvals
        KeyBinding(["p"], .showApproval, "Answer the selected instance's waiting approval (badge ! in the list), without attaching", group: "Approvals", [.navigation]),
        KeyBinding(["y"], .allowOnce, "Allow this tool use once", group: "Approvals", [.approval]),
        KeyBinding(["A"], .allowSession, "Allow this tool for the rest of the session", group: "Approvals", [.approval]),
        KeyBinding(["n"], .denyApproval, "Deny: a field for an optional reason opens; Enter sends the denial", group: "Approvals", [.approval]),
        KeyBinding(["esc", "q"], .closeOverlay, "Close and leave the request pending (nothing is ever approved by default)", group: "Approvals", [.approval]),
        KeyBinding(["enter"], .sendDenial, "Send the denial with the reason typed (may be empty)", group: "Approvals", [.approvalReason]),
        KeyBinding(["esc"], .closeOverlay, "Back to the request, nothing sent", group: "Approvals", [.approvalReason]),
        // Help
        KeyBinding(["esc", "q"], .closeOverlay, "Close the help (never quits)", group: "Help", [.help]),
        KeyBinding(["j", "down"], .scrollDown, "Scroll the help down", group: "Help", [.help]),
        KeyBinding(["k", "up"], .scrollUp, "Scroll the help up", group: "Help", [.help]),
        KeyBinding(["pgdn", "space", "ctrl-f"], .pageDown, "Scroll the help down a page", group: "Help", [.help]),
        KeyBinding(["pgup", "ctrl-b"], .pageUp, "Scroll the help up a page", group: "Help", [.help]),
    ])
}
