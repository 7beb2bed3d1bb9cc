// SessionHub: the one owner of everything per instance that is not pixels. It runs the engine
// (InstanceHub: FIFO channels, decoding, PromptDelivery) and keeps, per instance, an
// InstanceSession: turns (SessionTracker), the history file (HistoryStore), the outbox, the
// agent's liveness and the instance's Activity. Every prompt, typed, queued, re-sent or from a
// command, goes through the engine's non-blocking PromptDelivery; the outbox is a policy in front
// of it (SessionHub+Delivery). The agent's comings and goings are SessionHub+Lifecycle.
// It reports SessionEvents only: facts, never wording. One thread: the EventLoop's.

import Foundation

public final class SessionHub {
    public struct Options: Sendable {
        public var engine: InstanceHub.Options
        public var session = SessionSettings()
        /// Where history files and reader locks live.
        public var stateDirectory: String
        /// Seconds to retry a typed prompt while no agent reads before it goes to the outbox.
        public var sendTimeout = 2.0
        /// Seconds between outbox delivery attempts while prompts wait.
        public var outboxRetry = 0.5
        /// Seconds between liveness probes of the in-FIFO while a turn is open or the agent is
        /// down, and otherwise.
        public var busyProbeInterval = 0.25
        public var idleProbeInterval = 1.0
        /// Idle instances probed per probe tick, in turn (busy ones are probed every tick): a
        /// thousand idle instances cost this many open(2)s a second, not a thousand.
        public var idleProbesPerTick = 50
        /// Instances whose agent went (down) probed per tick, in turn: a thousand of them cost
        /// this many open(2)s a tick, not a thousand (4,000 a second).
        public var waitingProbesPerTick = 16
        /// Seconds an instance whose pipes vanished stays (gone) before it is removed.
        public var goneGrace = 30.0

        public init(directory: String, stateDirectory: String) {
            engine = InstanceHub.Options(directory: directory)
            self.stateDirectory = stateDirectory
        }
    }

    public let loop: EventLoop
    public let options: Options
    /// Told about output, heartbeats, sessions and the agent's liveness (set before `start`).
    public var monitor: HealthMonitor?
    var engine: InstanceHub!
    let onEvent: (SessionEvent) -> Void
    var sessions: [String: InstanceSession] = [:]
    /// Prompts handed to the engine and not yet reported: id -> who and what.
    var pending: [String: Pending] = [:]
    /// Instances whose reader lock another process holds: the refusal last reported.
    var refused: [String: String] = [:]
    var interruptCounter = 0
    var answerCounter = 0
    var sessionTimer: EventLoop.TimerID?
    var sessionTimerDue: Double?
    var outboxTimer: EventLoop.TimerID?
    var probeTimer: EventLoop.TimerID?
    var probeInterval: Double?
    /// Where the next tick's round of idle probes starts.
    var probeCursor = 0
    /// No session needs more than an idle probe (SessionHub+Lifecycle, `scheduleProbe`).
    var probesAllIdle = false
    /// Likewise for the instances no agent reads.
    var waitingProbeCursor = 0
    /// Told the in-FIFO path of every liveness probe (tests).
    var probeSeen: ((String) -> Void)?
    /// Instances whose pipes vanished, until they come back or are removed (SessionHub+Gone).
    var gone: GoneInstances
    var goneTimer: EventLoop.TimerID?
    let writer: PromptWriter
    var running = false

    struct Pending {
        var instance: String
        var text: String
        var fromOutbox: Bool
        var origin: PromptOrigin
    }

    public init(loop: EventLoop, options: Options, onEvent: @escaping (SessionEvent) -> Void) {
        self.loop = loop
        self.options = options
        self.onEvent = onEvent
        writer = PromptWriter(policy: options.engine.policy)
        gone = GoneInstances(grace: options.goneGrace)
        engine = InstanceHub(loop: loop, options: options.engine) { [unowned self] event in self.handle(event) }
        engine.admit = { [unowned self] info in self.admit(info.name) }
    }

    public func start() {
        running = true
        engine.start()
        scheduleProbe()
    }

    /// Stops reading, writes what is buffered and lets go of the reader locks.
    public func stop() {
        running = false
        engine.stop()
        for timer in [sessionTimer, outboxTimer, probeTimer, goneTimer].compactMap({ $0 }) { loop.cancel(timer) }
        goneTimer = nil
        sessionTimer = nil
        outboxTimer = nil
        probeTimer = nil
        sessionTimerDue = nil
        probeInterval = nil
        for session in sessions.values {
            session.store.flush()
            session.lock?.release()
        }
    }

    public var currentInstances: [InstanceInfo] { engine.currentInstances }

    /// Rescans pipe_dir now (new instances attached, vanished ones detached, replaced reopened).
    public func rescan() { engine.rescan() }

    public func mode(of instance: String) -> StreamMode? { engine.mode(of: instance) }

    public func activity(of instance: String) -> Activity? { sessions[instance]?.activity }

    public func summary(of instance: String) -> SessionSummary? { sessions[instance]?.tracker.summary() }

    /// Why this process does not read the instance (another one holds its ReaderLock), or nil.
    public func readerRefusal(of instance: String) -> String? { refused[instance] }

    /// The instance's turns as its history keeps them (oldest first), or nil when not read here.
    public func turns(of instance: String) -> [Turn]? { sessions[instance]?.tracker.turns }

    /// The prompts waiting in the instance's outbox, or nil when not read here.
    public func queued(of instance: String) -> [OutboxEntry]? { sessions[instance]?.outbox.list() }

    /// The history file the instance's session writes, or nil when not read here.
    public func historyPath(of instance: String) -> String? { sessions[instance]?.store.path }

    static func now() -> Double { Date().timeIntervalSince1970 }

    // MARK: engine events

    private func handle(_ event: EngineEvent) {
        switch event {
        case .instancesChanged(let list, let directoryError):
            onEvent(.instancesChanged(list, directoryError: directoryError))
            noteListed(list)
            let ready = Set(list.filter(\.isReady).map(\.name))
            for info in list where sessions[info.name] == nil && refused[info.name] == nil { openSession(info.name) }
            for (name, session) in sessions.sorted(by: { $0.key < $1.key }) where !ready.contains(name) {
                lifecycle(session, session.liveness.pipesGone())
            }
        case .output(let name, let batch):
            let now = Self.now()
            let session = sessions[name]
            session?.stalledSeconds = nil
            if let session { lifecycle(session, session.liveness.signOfLife()) }
            onEvent(.output(instance: name, batch: batch))
            monitor?.noteOutput(instance: name, at: now)
            // Finished lines only: an open line is counted once it ends (it may still change).
            let finishedBytes = batch.finishedTextByteCount
            if let session, finishedBytes > 0 {
                sessionChanged(session, session.tracker.output(byteCount: finishedBytes, at: now) { batch.finishedText })
            } else if let session, batch.endsWithOpenLine {
                // A line still being typed: the reply is not over (plain turns end after a quiet period).
                session.tracker.outputGrowing(at: now)
                scheduleSessionTick()
            }
            pumpOutbox(name)
        case .stream(let name, let event):
            streamEvent(name, event)
        case .attachment(let name, let state):
            onEvent(.attachment(instance: name, state: state))
        case .delivered(let name, let id, let error):
            delivered(name, id: id, error: error)
        }
        if let name = event.instance, let session = sessions[name] { updateActivity(session) }
    }

    private func streamEvent(_ name: String, _ event: StreamEvent) {
        let now = Self.now()
        let session = sessions[name]
        switch event {
        case .modeChanged(let mode):
            session?.tracker.framing = mode == .framed ? .framed : .plain
        case .done(let id, let status, let exit):
            if let session { sessionChanged(session, session.tracker.framedDone(id: id, status: status, exit: exit, at: now)) }
        case .replyMarker:
            if let session { sessionChanged(session, session.tracker.replyMarker(at: now)) }
        case .heartbeat:
            session?.tracker.heartbeat(at: now)
            monitor?.noteHeartbeat(instance: name, at: now)
            if let session { lifecycle(session, session.liveness.signOfLife()) }
        case .hello(let pid, _):
            if let session { lifecycle(session, session.liveness.hello(pid: pid)) }
        case .claude(let frame):
            if let session { claudeFrame(session, frame, at: now) }
        case .notice, .chunkStarted:
            break
        }
        if let session, session.stalledSeconds != nil, event.isProgress { session.stalledSeconds = nil }
        onEvent(.stream(instance: name, event: event))
        pumpOutbox(name)
    }

    // MARK: sessions and history

    /// Takes the instance's reader lock, then reads its history: the earlier conversation, the
    /// prompt history, the prompts still queued. Without the lock nothing is read or written.
    @discardableResult
    private func openSession(_ name: String) -> Bool {
        guard let valid = try? InstanceName(validating: name) else { return false }
        let lock: ReaderLock
        do {
            lock = try ReaderLock.acquire(instance: valid, pipeDirectory: options.engine.directory,
                                          stateDirectory: options.stateDirectory)
        } catch {
            let text = error.description
            if refused[name] != text {
                refused[name] = text
                onEvent(.notice(instance: name, notice: .readerRefused(text)))
            }
            return false
        }
        refused[name] = nil
        let session = InstanceSession(name: valid, settings: options.session, stateDirectory: options.stateDirectory, lock: lock)
        sessions[name] = session
        let warnings = session.store.load()
        let now = Self.now()
        for turn in session.tracker.restore(session.store.turns, at: now) { session.store.record(turn) }
        onEvent(.historyRestored(instance: name, turns: session.tracker.turns, inputs: session.store.inputs.map(\.text),
                                 queue: session.outbox.list()))
        if let first = warnings.first { onEvent(.notice(instance: name, notice: .historyWarning(first))) }
        reportStoreError(session)
        monitor?.updateSession(instance: name, summary: session.tracker.summary(medians: false), framing: session.tracker.framing)
        scheduleSessionTick()
        if session.outbox.count > 0 { scheduleOutbox() }
        updateActivity(session)
        return true
    }

    /// The engine asks before it reads an instance's out-FIFO: only with the reader lock.
    private func admit(_ name: String) -> Bool {
        if sessions[name] != nil { return true }
        return openSession(name)
    }

    /// Records turns the tracker changed, reports them and tells the health monitor.
    func sessionChanged(_ session: InstanceSession, _ turns: [Turn]) {
        if !turns.isEmpty {
            for turn in turns { session.store.record(turn) }
            reportStoreError(session)
            onEvent(.turnsChanged(instance: session.name, turns: turns))
            monitor?.updateSession(instance: session.name, summary: session.tracker.summary(medians: false), framing: session.tracker.framing)
        }
        scheduleSessionTick()
    }

    /// A failed history write (a full disk above all) is reported once; the store keeps
    /// everything in memory until a write succeeds again.
    func reportStoreError(_ session: InstanceSession) {
        guard let error = session.store.lastError else {
            session.errorShown = false
            return
        }
        guard !session.errorShown else { return }
        session.errorShown = true
        onEvent(.notice(instance: session.name, notice: .historyWriteFailed(error.description)))
    }

    /// Reports the instance's activity when it changed.
    func updateActivity(_ session: InstanceSession) {
        pruneApprovals(session)
        let activity: Activity
        let open = session.tracker.hasOpenTurn
        if session.liveness.state == .down {
            activity = .agentDown
        } else if !session.approvals.isEmpty {
            activity = .waitingForApproval(session.approvals.count)
        } else if session.outbox.count > 0 {
            activity = .queued(session.outbox.count)
        } else if !session.sending.isEmpty {
            activity = .sending
        } else if open, let seconds = session.stalledSeconds {
            activity = .stalled(seconds)
        } else if open {
            activity = .working
        } else if session.restarted {
            activity = .agentRestarted
        } else if lastTurnFailed(session) {
            activity = .failed
        } else {
            activity = .idle
        }
        guard activity != session.activity else { return }
        session.activity = activity
        onEvent(.activityChanged(instance: session.name, activity: activity))
        scheduleProbe()
    }

    /// One timer at the earliest session deadline (quiet period, request or idle timeout).
    func scheduleSessionTick() {
        let due = sessions.values.compactMap { $0.tracker.nextDeadline() }.min()
        guard due != sessionTimerDue else { return }
        if let sessionTimer { loop.cancel(sessionTimer) }
        sessionTimer = nil
        sessionTimerDue = due
        guard let due else { return }
        sessionTimer = loop.schedule(after: max(0, due - Self.now()) + 0.01) { [unowned self] in
            self.sessionTimer = nil
            self.sessionTimerDue = nil
            let now = Self.now()
            for (_, session) in self.sessions.sorted(by: { $0.key < $1.key }) {
                let changed = session.tracker.tick(now: now)
                if changed.isEmpty {
                    self.monitor?.updateSession(instance: session.name, summary: session.tracker.summary(medians: false),
                                                framing: session.tracker.framing)
                }
                self.sessionChanged(session, changed)
                self.updateActivity(session)
            }
            self.scheduleSessionTick()
        }
    }
}

extension StreamEvent {
    /// The agent shows the turn moving (what ends a stall); heartbeats and notices do not.
    var isProgress: Bool {
        switch self {
        case .chunkStarted, .done, .replyMarker: true
        case .claude(let frame): if case .stalled = frame { false } else { true }
        case .modeChanged, .hello, .heartbeat, .notice: false
        }
    }
}

extension EngineEvent {
    /// The instance an event is about (nil for the list).
    var instance: String? {
        switch self {
        case .instancesChanged: nil
        case .output(let name, _), .stream(let name, _), .attachment(let name, _), .delivered(let name, _, _): name
        }
    }
}
