// InstanceSession: what the SessionHub keeps per instance beyond its FIFO channels: the
// SessionTracker (turns and timings), the HistoryStore (the instance's JSONL history file), the
// Outbox (prompts waiting for an agent), the agent's liveness, the reader lock that makes this
// process the only one reading the out-FIFO and writing the history, and the Activity last
// reported. Owned and used by the SessionHub on the loop thread only.

final class InstanceSession {
    let name: String
    var tracker: SessionTracker
    let store: HistoryStore
    let outbox: Outbox
    let lock: ReaderLock?
    var liveness = AgentLiveness()
    var activity: Activity = .idle
    /// Prompt ids handed to the delivery and not yet reported.
    var sending: Set<String> = []
    /// The outbox entry being delivered (one at a time, so the order is kept).
    var outboxInFlight: String?
    /// The agent came back after it was down; cleared by the next accepted prompt.
    var restarted = false
    /// The store's current error was reported (once per episode: cleared by a good write).
    var errorShown = false
    /// The last outbox delivery failure reported (other than "not listening").
    var lastDeliveryFailure: String?
    /// Claude permission requests waiting for the user's answer, oldest first (bounded).
    var approvals: [PendingApproval] = []
    /// The agent's watchdog says Claude is silent this long while a turn is open; cleared by the
    /// next sign of progress.
    var stalledSeconds: Int?
    /// Tools started and not yet answered: tool id -> name, summary, start (bounded), so a
    /// finished call can be written to the history as one transcript line.
    var toolsRunning: [String: (name: String, summary: String, at: Double)] = [:]
    /// The turn whose Claude result said is_error (the next turn clears it).
    var failedResultTurn: String?

    static let maxApprovals = 16
    static let maxToolsRunning = 64

    init(name: InstanceName, settings: SessionSettings, stateDirectory: String, lock: ReaderLock?) {
        self.name = name.rawValue
        tracker = SessionTracker(settings: settings)
        store = HistoryStore(instance: name, stateDirectory: stateDirectory, maxHistory: settings.maxHistory)
        store.compactsInBackground = true   // the event loop does not wait for a rewrite's fsyncs
        outbox = Outbox(store: store)
        self.lock = lock
    }
}

/// A Claude permission request of turn `turnID` that waits for the user's answer.
public struct PendingApproval: Equatable, Sendable {
    public var turnID: String
    public var request: PermissionRequestInfo
    public init(turnID: String, request: PermissionRequestInfo) {
        self.turnID = turnID
        self.request = request
    }
}
