// Outbox: an instance's prompts that could not be delivered yet (no agent reading), in order.
// It is a view over the HistoryStore's outbox records, so a restart keeps the queue.
// SessionHub delivers the queue, oldest first, through its one delivery path (PromptDelivery)
// as soon as the agent reads again.

import Foundation

public enum OutboxError: Error, Equatable, CustomStringConvertible, Sendable {
    case full(capacity: Int)
    case emptyPrompt

    public var description: String {
        switch self {
        case .full(let capacity): "the outbox is full (\(capacity) prompts waiting)"
        case .emptyPrompt: "an empty prompt is not queued"
        }
    }
}

public final class Outbox {
    public let store: HistoryStore
    public let capacity: Int

    public init(store: HistoryStore, capacity: Int = 1000) {
        self.store = store
        self.capacity = capacity
    }

    /// The waiting prompts, oldest first.
    public func list() -> [OutboxEntry] { store.outbox.filter { $0.state == .queued } }

    public var count: Int { store.outbox.count { $0.state == .queued } }

    public var nextPending: OutboxEntry? { store.outbox.first { $0.state == .queued } }

    /// Queues a prompt. A failed disk write is reported by the store (`lastError`), not here:
    /// the prompt stays queued in memory either way.
    @discardableResult
    public func enqueue(text: String, id: String = UUID().uuidString.lowercased(), at time: Double,
                        origin: PromptOrigin? = nil) throws(OutboxError) -> OutboxEntry {
        guard !text.isEmpty else { throw .emptyPrompt }
        guard count < capacity else { throw .full(capacity: capacity) }
        let entry = OutboxEntry(id: id, text: text, queuedAt: time, origin: origin)
        store.recordOutbox(entry)
        return entry
    }

    /// Cancels a waiting prompt; false when it is not waiting (unknown, delivered, cancelled).
    @discardableResult
    public func cancel(id: String, at time: Double) -> Bool { settle(id, .cancelled, at: time) }

    @discardableResult
    public func markDelivered(id: String, at time: Double) -> Bool { settle(id, .delivered, at: time) }

    private func settle(_ id: String, _ state: OutboxState, at time: Double) -> Bool {
        guard var entry = store.outbox.first(where: { $0.id == id }), entry.state == .queued else { return false }
        entry.state = state
        entry.changedAt = time
        store.recordOutbox(entry)
        return true
    }
}
