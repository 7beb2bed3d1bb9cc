// TurnLookup: where a prompt sent through the server is now, found by its id: on its way,
// waiting in the outbox, delivered and its turn running, its turn ended (with the reply), failed,
// or delivered so long ago that its turn is no longer kept. The reply is exact with the framed
// protocols (the turn ends at the `done` carrying its id) and best effort with the plain one
// (it ends at the `❯` marker or after the quiet period); `replyExact` says which.

public struct TurnLookup: Equatable, Sendable {
    public enum State: String, Sendable {
        /// Handed to the delivery; no outcome yet.
        case sending
        /// In the instance's outbox: no agent reads now.
        case queued
        /// The agent has it; its turn is open.
        case working
        /// Its turn ended (`turn.status`: completed, failed, timeout, interrupted).
        case ended
        /// Never delivered (`error` says why).
        case failed
        /// Delivered, but its turn is older than the history keeps.
        case forgotten

        /// Nothing more will happen to it.
        public var isFinal: Bool { self == .ended || self == .failed || self == .forgotten }
    }

    public var instance: String
    public var promptID: String
    public var state: State
    /// The turn once delivered (nil while sending or queued, and when forgotten).
    public var turn: Turn?
    public var error: String?
    /// The reply text is exact (framed protocol) rather than best effort (plain).
    public var replyExact: Bool

    public init(instance: String, promptID: String, state: State, turn: Turn? = nil, error: String? = nil, replyExact: Bool = false) {
        self.instance = instance
        self.promptID = promptID
        self.state = state
        self.turn = turn
        self.error = error
        self.replyExact = replyExact
    }

    /// The reply, once the turn has ended.
    public var reply: String? { state == .ended ? turn?.response : nil }
}
