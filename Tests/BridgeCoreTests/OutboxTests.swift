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

    @Test func senderStopsAtTheFirstUndeliverableAndKeepsOrder() throws {
        let tmp = TempDir()
        let outbox = Outbox(store: HistoryStore(instance: historyName(), stateDirectory: tmp.path))
        for i in 0..<5 { try outbox.enqueue(text: "p\(i)", id: "\(i)", at: Double(i)) }
        var seen: [String] = []
        var budget = 2
        let sender = OutboxSender(outbox: outbox) { entry in
            if budget == 0 { return .notListening }
            budget -= 1
            seen.append(entry.text)
            return .delivered
        }
        #expect(sender.pump(at: 10).map(\.id) == ["0", "1"])
        #expect(sender.hasWork)
        budget = 100
        #expect(sender.pump(at: 11).map(\.id) == ["2", "3", "4"])
        #expect(seen == ["p0", "p1", "p2", "p3", "p4"])
        #expect(!sender.hasWork)
    }

    @Test func hundredQueuedPromptsAreDeliveredInOrderOnceAReaderAppears() throws {
        let tmp = TempDir()
        let inPath = tmp.file("alpha.in.fifo")
        try FifoSafety.create(inPath)
        let state = tmp.path + "/state"
        do {
            let outbox = Outbox(store: HistoryStore(instance: historyName(), stateDirectory: state))
            let sender = OutboxSender(outbox: outbox, deliver: OutboxSender.fifoDelivery(path: inPath))
            for i in 0..<100 { try outbox.enqueue(text: "prompt \(i) ✓", id: "id\(i)", at: Double(i)) }
            #expect(sender.pump(at: 100).isEmpty, "nobody reads yet")
            #expect(outbox.count == 100)
        }
        // A restart in between: the queue comes back from the history file.
        let store = HistoryStore(instance: historyName(), stateDirectory: state)
        store.load()
        let outbox = Outbox(store: store)
        #expect(outbox.count == 100)
        let sender = OutboxSender(outbox: outbox, deliver: OutboxSender.fifoDelivery(path: inPath))

        // The reader opens the FIFO once and keeps reading across writers' EOFs.
        let reader = try Child.python("""
        import os, sys, time
        path, want = sys.argv[1], int(sys.argv[2])
        fd = os.open(path, os.O_RDONLY)
        buf, lines = b"", []
        while len(lines) < want:
            chunk = os.read(fd, 65536)
            if not chunk:
                time.sleep(0.001)
                continue
            buf += chunk
            while b"\\n" in buf:
                line, buf = buf.split(b"\\n", 1)
                lines.append(line.decode())
        sys.stdout.write("\\n".join(lines) + "\\n")
        """, [inPath, "100"])
        var delivered: [OutboxEntry] = []
        let deadline = MonotonicClock.now() + 30
        while sender.hasWork && MonotonicClock.now() < deadline {
            delivered += sender.pump(at: 200)
            if sender.hasWork { usleep(5000) }
        }
        #expect(!sender.hasWork)
        #expect(sender.lastFailure == nil)
        #expect(delivered.map(\.id) == (0..<100).map { "id\($0)" })
        #expect(reader.waitForExit(timeout: 20))
        let received = reader.output()
        #expect(received == (0..<100).map { "prompt \($0) ✓\n" }.joined())
        #expect(store.outbox.allSatisfy { $0.state == .delivered })
    }
}
