// ServerCore+Session: the `session` subscription, for clients that show what the in-process hub
// shows (the TUI). It forwards every SessionEvent as the hub made it (output with the line id of
// its first line), so a client's reducer cannot tell it from a hub of its own. On subscribe it
// first gives a snapshot: the instances, then per instance the history restored when the server
// opened it, the kept lines with the events that put lines of their own into a pane ("marks":
// accepted prompts, Claude frames, the agent leaving and coming back) in their places, and the
// instance's current turns, outbox, activity and stream mode; the last health report follows,
// whole, and each later one as its changes (HealthDelta). A client that resumes names, per
// instance, the first line it lacks and the last mark it saw: it gets exactly what it lacks.
// Loop thread only.

/// What a session subscriber is told.
public enum SessionFeedItem: Sendable {
    /// A hub event; `firstLineID` for output, `mark` for events replayed in place on resubscribe.
    case event(SessionEvent, firstLineID: UInt64?, mark: UInt64?)
    /// Lines `from ..< from + count` were asked for and are no longer kept.
    case linesSkipped(instance: String, from: UInt64, count: UInt64)
    case health(HealthReport)
    /// The next report as its changes from the one before (HealthDelta); a subscriber holds that
    /// one (the full report after its subscribe, then every report since).
    case healthChanges(HealthDelta)
    case serverStopping
}

/// Where a resuming session subscriber stands for one instance.
public struct SessionResume: Equatable, Sendable {
    /// The first line id the client lacks.
    public var fromLineID: UInt64
    /// The last mark it saw (0: none).
    public var lastMark: UInt64

    public init(fromLineID: UInt64, lastMark: UInt64) {
        self.fromLineID = fromLineID
        self.lastMark = lastMark
    }
}

/// The session subscribers and, per instance, what a new one needs replayed.
struct SessionFeedState {
    struct Mark {
        var seq: UInt64
        /// The first line id not finished when it happened: it goes before that line.
        var position: UInt64
        var event: SessionEvent
    }

    struct Memory {
        var restored: SessionEvent?
        var marks: [Mark] = []
        var nextMark: UInt64 = 1

        /// Adds a mark and returns its number. The oldest go in chunks of a tenth of `maxMarks`
        /// (not one per mark: that moved every kept mark at every prompt).
        mutating func remember(_ event: SessionEvent, at position: UInt64) -> UInt64 {
            let seq = nextMark
            nextMark += 1
            marks.append(.init(seq: seq, position: position, event: event))
            if marks.count > SessionFeedState.maxMarks + SessionFeedState.maxMarks / 10 {
                marks.removeFirst(marks.count - SessionFeedState.maxMarks)
            }
            return seq
        }
    }

    var subscribers: [ServerCore.SubscriptionID: (SessionFeedItem) -> Void] = [:]
    var memory: [String: Memory] = [:]
    /// The last health report told to session subscribers: the next one goes as changes from it.
    var healthBase: HealthReport?
    /// Marks kept per instance, at least (the oldest go first, a tenth at a time).
    static let maxMarks = 2000
}

extension ServerCore {
    /// Subscribes to every instance's session events; `resume` names, per instance, where the
    /// client stands (instances not named get their whole kept state). Everything is delivered to
    /// `handler` on the loop, the snapshot before this returns.
    /// `fresh`: the client has no state yet, so what equals a new instance's (no turns, an empty
    /// outbox, idle) is left out of the snapshot (1,000 silent instances: a quarter of the events).
    @discardableResult
    public func subscribeSession(resume: [String: SessionResume] = [:], fresh: Bool = false,
                                 handler: @escaping (SessionFeedItem) -> Void) -> SubscriptionID {
        let id = nextSubscriber
        nextSubscriber += 1
        let listed = hub.currentInstances
        handler(.event(.instancesChanged(listed, directoryError: directoryError), firstLineID: nil, mark: nil))
        let names = Set(logs.keys).union(listed.map(\.name)).sorted()
        for name in names {
            snapshot(of: name, resume: resume[name], fresh: fresh, to: handler)
        }
        session.subscribers[id] = handler
        // The last health report (one component per instance: large with many) comes on the next
        // turn of the loop, after the answer to the subscribe: a client's first frame does not
        // wait for it.
        _ = loop.schedule(after: 0) { [weak self] in
            guard let self, self.session.subscribers[id] != nil, let report = self.lastHealth else { return }
            handler(.health(report))
        }
        return id
    }

    public func unsubscribeSession(_ id: SubscriptionID) {
        session.subscribers[id] = nil
    }

    public var sessionSubscriberCount: Int { session.subscribers.count }

    // MARK: operations for session clients

    public func cancelQueued(instance: String, id: String) throws(ServerError) {
        guard instances[instance] != nil || logs[instance] != nil else { throw .noSuchInstance(instance, directory: pipeDirectory) }
        hub.cancelQueued(instance: instance, id: id)
    }

    @discardableResult
    public func interrupt(_ instance: String) throws(ServerError) -> InstanceHub.InterruptRoute {
        guard instances[instance] != nil else { throw .noSuchInstance(instance, directory: pipeDirectory) }
        return hub.interrupt(instance)
    }

    /// False when that request no longer waits (its turn ended).
    public func answerPermission(instance: String, requestID: String, behavior: PermissionBehavior, message: String) -> Bool {
        hub.answerPermission(instance: instance, requestID: requestID, behavior: behavior, message: message)
    }

    public func rescan() {
        hub.rescan()
    }

    // MARK: forwarding

    func forwardSession(_ event: SessionEvent, firstLineID: UInt64?) {
        var mark: UInt64?
        switch event {
        case .historyRestored(let name, _, _, _):
            session.memory[name, default: .init()].restored = event
        case .promptAccepted(let name, _, _, _, _), .lifecycle(let name, _), .stream(let name, .claude):
            mark = remember(event, of: name)
        case .instanceRemoved(let name, _):
            session.memory[name] = nil
        default:
            break
        }
        guard !session.subscribers.isEmpty else { return }
        let item = SessionFeedItem.event(event, firstLineID: firstLineID, mark: mark)
        for id in session.subscribers.keys.sorted() { session.subscribers[id]?(item) }
    }

    /// A new health report: whole for the first, else as its changes from the one before (a
    /// subscriber gets the whole last report after its subscribe, so it always holds the base).
    func forwardHealth(_ report: HealthReport) {
        let base = session.healthBase
        session.healthBase = report
        guard !session.subscribers.isEmpty else { return }
        forwardSession(base.map { .healthChanges(HealthDelta(from: $0, to: report)) } ?? .health(report))
    }

    func forwardSession(_ item: SessionFeedItem) {
        for id in session.subscribers.keys.sorted() { session.subscribers[id]?(item) }
    }

    /// In place: a copy of the instance's memory taken out and put back would copy every mark
    /// (a thousand prompts: a thousand marks copied per prompt).
    private func remember(_ event: SessionEvent, of name: String) -> UInt64 {
        let position = logs[name].map { $0.openLine?.id ?? $0.nextID } ?? 1
        return session.memory[name, default: .init()].remember(event, at: position)
    }

    /// One instance's state for a new (or resuming) subscriber.
    private func snapshot(of name: String, resume: SessionResume?, fresh: Bool, to handler: (SessionFeedItem) -> Void) {
        let memory = session.memory[name]
        if resume == nil, let restored = memory?.restored { handler(.event(restored, firstLineID: nil, mark: nil)) }
        var marks = (memory?.marks ?? [])[...]
        if let log = logs[name] {
            let start = resume?.fromLineID ?? log.oldestID
            let (batches, missing) = log.lines(from: start)
            if missing > 0 { handler(.linesSkipped(instance: name, from: start, count: missing)) }
            let lastMark = resume?.lastMark ?? 0
            // Marks from before the kept lines went with them.
            marks = marks.drop { $0.seq <= lastMark || (resume == nil && $0.position < log.oldestID) }
            for (first, batch) in batches {
                while let mark = marks.first, mark.position <= first {
                    handler(.event(mark.event, firstLineID: nil, mark: mark.seq))
                    marks = marks.dropFirst()
                }
                handler(.event(.output(instance: name, batch: batch), firstLineID: first, mark: nil))
            }
        } else {
            marks = marks.drop { $0.seq <= (resume?.lastMark ?? 0) }
        }
        for mark in marks { handler(.event(mark.event, firstLineID: nil, mark: mark.seq)) }
        if let refusal = hub.readerRefusal(of: name) {
            handler(.event(.notice(instance: name, notice: .readerRefused(refusal)), firstLineID: nil, mark: nil))
        }
        if let mode = hub.mode(of: name) {
            handler(.event(.stream(instance: name, event: .modeChanged(mode)), firstLineID: nil, mark: nil))
        }
        if let turns = hub.turns(of: name), !turns.isEmpty {
            handler(.event(.turnsChanged(instance: name, turns: turns), firstLineID: nil, mark: nil))
        }
        if let queued = hub.queued(of: name), !(fresh && queued.isEmpty) {
            handler(.event(.outboxChanged(instance: name, entries: queued), firstLineID: nil, mark: nil))
        }
        if let activity = hub.activity(of: name), !(fresh && activity == .idle) {
            handler(.event(.activityChanged(instance: name, activity: activity), firstLineID: nil, mark: nil))
        }
    }
}
