// InstanceSession: what the TUI keeps per instance beyond the screen: the SessionTracker (turns
// and timings), the HistoryStore (the instance's JSONL history file) and the Outbox (prompts
// waiting for an agent). Owned and used by TUIRuntime on the loop thread only.

import BridgeCore

final class InstanceSession {
    let name: String
    var tracker: SessionTracker
    let store: HistoryStore
    let outbox: Outbox
    /// The store's current error was shown (once per episode: cleared by a good write).
    var errorShown = false
    /// The last outbox delivery failure shown (other than "not listening").
    var lastDeliveryFailure: String?

    init(name: InstanceName, settings: SessionSettings, stateDirectory: String) {
        self.name = name.rawValue
        tracker = SessionTracker(settings: settings)
        store = HistoryStore(instance: name, stateDirectory: stateDirectory, maxHistory: settings.maxHistory)
        outbox = Outbox(store: store)
    }
}

/// Lets a value cross to another thread and back to the loop that owns it. Only the loop thread
/// touches `value`: other threads merely carry it to `EventLoop.post`.
struct LoopBound<Value>: @unchecked Sendable {
    let value: Value
}
