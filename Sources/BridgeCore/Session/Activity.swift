// Activity: what an instance is doing, in a word a user reads at a glance. Derived by the
// SessionHub from protocol facts (delivery results, output, framed `done`, the agent's liveness)
// and from timers only where the protocol gives none (the plain quiet period). The Claude
// stream-json mode adds exact facts: a permission request (waiting for approval), the agent's
// stall watchdog, and the turn result's error flag; `failed` is derived for every protocol from
// how the last turn ended.

public enum Activity: Equatable, Sendable, Codable {
    /// Nothing open: no prompt on its way, no reply running.
    case idle
    /// A prompt is on its way into the in-FIFO.
    case sending
    /// A turn is open (its reply is awaited or streaming).
    case working
    /// Prompts wait in the outbox for the agent to read again.
    case queued(Int)
    /// No agent reads the in-FIFO (it exited, or its pipes are gone).
    case agentDown
    /// The agent came back after it was down; shown until the next prompt.
    case agentRestarted
    /// Claude asks for permission to use a tool: this many requests wait for the user's answer.
    case waitingForApproval(Int)
    /// A turn is open and Claude has been silent this many seconds (the agent's watchdog).
    case stalled(Int)
    /// Nothing open; the last turn ended in an error (failed, timed out, or Claude's error result).
    case failed

    /// The user is needed: an approval waits.
    public var needsUser: Bool { if case .waitingForApproval = self { true } else { false } }
}
