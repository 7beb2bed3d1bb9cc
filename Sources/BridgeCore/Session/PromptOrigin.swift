// PromptOrigin: where a prompt came from (typed in a TUI, `send` from a script, an HTTP bridge,
// an inbox), recorded with its turn and its outbox entry in the history and carried on the
// prompt's events, so every viewer can tell a script's prompt from a typed one.

public enum PromptOrigin: String, Codable, Sendable, CaseIterable {
    case tui, cli, http, inbox
}
