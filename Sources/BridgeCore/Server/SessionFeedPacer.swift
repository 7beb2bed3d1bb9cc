// SessionFeedPacer: one session subscription's way onto its client's socket, paced by the
// client's outgoing queue. While the queue is below half its bound, items go out as they come.
// Above it, output is not encoded or queued: the pacer notes up to which line id each instance's
// lines are owed (they are in the server's LineLog already) and other items in their order, and
// hands them over as the queue drains, a step of lines at a time read from the log. So a
// subscribe or resume whose backlog is larger than the client's queue (up to the log's 16 MiB
// into an 8 MiB queue) arrives whole instead of half of it being dropped, and a client that
// reads more slowly than the agent writes gets every line the log still holds; lines the log let
// go meanwhile come as `lines_skipped` before the next ones. The FIFO drain never waits for a
// client, and the client's queue stays bounded (a step is at most one log batch over). Only when
// more than `maxPending` items are owed does it give up: the client hears `skipped` (and
// resubscribes, as before). Loop thread only.

final class SessionFeedPacer {
    private enum Owed {
        /// The instance's lines up to (not including) `end`, from where the client stands.
        case lines(instance: String, end: UInt64)
        case item(SessionFeedItem)
    }

    /// Items owed before the pacer gives up on the client (its resync then starts over).
    static let maxPending = 1 << 16
    /// Bytes of lines read from the log per step.
    static let stepBytes = 256 << 10

    private weak var peer: IPCPeer?
    private let listener: IPCListener
    private let log: (String) -> LineLog?
    private var owed: [Owed] = []
    private var head = 0
    /// Per instance: the first line id the client lacks (after the last finished line it got).
    private var next: [String: UInt64] = [:]
    private var gaveUp = false
    private var draining = false

    init(peer: IPCPeer, listener: IPCListener, log: @escaping (String) -> LineLog?) {
        self.peer = peer
        self.listener = listener
        self.log = log
    }

    private var pending: Bool { head < owed.count }

    private func hasRoom(_ peer: IPCPeer) -> Bool {
        peer.queuedBytes < listener.options.maxQueuedBytes / 2
    }

    /// An item from the core's feed (the snapshot, then every event).
    func take(_ item: SessionFeedItem) {
        guard let peer, peer.isConnected else { return }
        if gaveUp { return listener.skip(1, for: peer) }
        if case .event(.instanceRemoved(let name, _), _, _) = item { forget(name) }
        if !pending && hasRoom(peer) { return send(item, to: peer) }
        if case .event(.output(let name, let batch), let first?, _) = item {
            let end = first + UInt64(batch.count)
            if next[name] == nil { next[name] = first }
            if pending, case .lines(name, let owedEnd) = owed[owed.count - 1] {
                owed[owed.count - 1] = .lines(instance: name, end: max(owedEnd, end))
            } else {
                owed.append(.lines(instance: name, end: end))
            }
        } else {
            owed.append(.item(item))
        }
        if owed.count - head > Self.maxPending { giveUp(peer) }
    }

    /// After a flush of the peer's queue: hands over what is owed while there is room.
    func drain() {
        guard let peer, peer.isConnected, !gaveUp, !draining else { return }
        draining = true
        defer { draining = false }
        while pending && hasRoom(peer) && peer.isConnected {
            switch owed[head] {
            case .item(let item):
                head += 1
                send(item, to: peer)
            case .lines(let name, let end):
                if step(name, before: end, to: peer) { head += 1 }
            }
        }
        if head == owed.count {
            owed.removeAll(keepingCapacity: owed.capacity <= 1024)
            head = 0
        } else if head > 1024 && head * 2 > owed.count {
            owed.removeFirst(head)
            head = 0
        }
    }

    /// One step of an instance's owed lines; true when they are all handed over.
    private func step(_ name: String, before end: UInt64, to peer: IPCPeer) -> Bool {
        guard let log = log(name) else { return true }
        let start = next[name] ?? log.oldestID
        guard start < end else { return true }
        let (batches, missing) = log.lines(from: start, before: end, maxBytes: Self.stepBytes)
        if missing > 0 { send(.linesSkipped(instance: name, from: start, count: missing), to: peer) }
        let before = next[name] ?? 0
        for (first, batch) in batches {
            send(.event(.output(instance: name, batch: batch), firstLineID: first, mark: nil), to: peer)
        }
        let now = next[name] ?? 0
        // Done at the end, or when nothing finished came (only the open line is left to show).
        return now >= end || now == before && batches.count <= 1 && batches.first?.batch.endsWithOpenLine != false
    }

    private func send(_ item: SessionFeedItem, to peer: IPCPeer) {
        if case .event(.output(let name, let batch), let first?, _) = item {
            let finished = UInt64(batch.count - (batch.endsWithOpenLine ? 1 : 0))
            next[name] = max(next[name] ?? 0, first + finished)
        } else if case .linesSkipped(let name, let from, let count) = item {
            next[name] = max(next[name] ?? 0, from + count)
        }
        _ = listener.send(to: peer) { SessionWire.encode(item) }
    }

    /// An instance went away: what was owed of its lines goes with it (a new one of the same
    /// name counts its lines from 1 again).
    private func forget(_ name: String) {
        next[name] = nil
        owed = owed[head...].filter { if case .lines(name, _) = $0 { return false } else { return true } }
        head = 0
    }

    private func giveUp(_ peer: IPCPeer) {
        gaveUp = true
        listener.skip(owed.count - head, for: peer)
        owed = []
        head = 0
    }
}
