// Activity: what an instance is doing, in a word a user reads at a glance. Derived by the
// SessionHub from protocol facts (delivery results, output, framed `done`, the agent's liveness)
// and from timers only where the protocol gives none (the plain quiet period).

public enum Activity: Equatable, Sendable {
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
}
