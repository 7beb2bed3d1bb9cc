// Outbox: an instance's prompts that could not be delivered yet (no agent reading), in order.
// It is a view over the HistoryStore's outbox records, so a restart keeps the queue.
// OutboxSender delivers the queue, oldest first, as soon as the agent reads again.

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
    public func enqueue(text: String, id: String = UUID().uuidString.lowercased(), at time: Double) throws(OutboxError) -> OutboxEntry {
        guard !text.isEmpty else { throw .emptyPrompt }
        guard count < capacity else { throw .full(capacity: capacity) }
        let entry = OutboxEntry(id: id, text: text, queuedAt: time)
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

/// The outcome of one delivery attempt.
public enum OutboxDelivery: Equatable, Sendable {
    case delivered
    /// No reader on the in-FIFO: keep the prompt and try again later.
    case notListening
    /// Something the next attempt will not fix by itself (unsafe pipe, EPIPE mid-write...). The
    /// prompt stays queued; the sender stops so the order is kept.
    case failed(String)
}

/// Drives an Outbox: call `pump(at:)` from a timer (every 100–250 ms while `hasWork`) or when
/// the agent is seen listening. Each call delivers queued prompts in order until one cannot be.
public final class OutboxSender {
    public let outbox: Outbox
    private let deliver: (OutboxEntry) -> OutboxDelivery
    public private(set) var lastFailure: String?

    /// `deliver` must not block for long: use PromptWriter.send with a timeout of 0 (one
    /// non-blocking open), or tryOpen + writeAll.
    public init(outbox: Outbox, deliver: @escaping (OutboxEntry) -> OutboxDelivery) {
        self.outbox = outbox
        self.deliver = deliver
    }

    public var hasWork: Bool { outbox.nextPending != nil }

    /// Delivers as many queued prompts as possible, oldest first; returns the ones delivered
    /// (the caller reports each to its SessionTracker as `promptSent`).
    @discardableResult
    public func pump(at time: Double, limit: Int = .max) -> [OutboxEntry] {
        var delivered: [OutboxEntry] = []
        while delivered.count < limit, let entry = outbox.nextPending {
            switch deliver(entry) {
            case .delivered:
                outbox.markDelivered(id: entry.id, at: time)
                delivered.append(entry)
                lastFailure = nil
            case .notListening:
                return delivered
            case .failed(let reason):
                lastFailure = reason
                return delivered
            }
        }
        return delivered
    }

    /// The usual deliver closure: one prompt line per entry through the PromptWriter, never
    /// waiting for a reader.
    public static func fifoDelivery(path: String, writer: PromptWriter = PromptWriter()) -> (OutboxEntry) -> OutboxDelivery {
        { entry in
            switch writer.send(PlainPrompt.line(for: entry.text).bytes, to: path, timeout: 0) {
            case .success: .delivered
            case .failure(.agentNotListening): .notListening
            case .failure(let error): .failed(error.description)
            }
        }
    }
}
