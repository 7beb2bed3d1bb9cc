// ServerCore: the server's session side, with no UI and no socket. It owns the SessionHub for one
// pipe directory (so it is the only reader of every out-FIFO and the only writer of history,
// through the hub's ReaderLocks) and its HealthScheduler, and keeps both running whether or not
// any client is connected. Clients get plain Swift operations: the instances, an instance's
// status and history, the health, `send` through the hub's one delivery path (outbox included)
// with the prompt's origin, and subscriptions: the kept output from a line id (LineLog), then
// live ServerEvents. A subscription is made on the loop thread in one step, so nothing that
// happens between its backlog and its live events is lost or repeated. The IPC adapter maps
// these onto the wire. Client ids, turn lookup and waiting are ServerCore+Inputs. Loop thread only.

import Foundation

public enum ServerError: Error, Equatable, CustomStringConvertible, Sendable {
    case noSuchInstance(String, directory: String)
    case refused(String)
    case duplicatePromptID(String)

    public var description: String {
        switch self {
        case .noSuchInstance(let name, let directory):
            "no such instance \"\(InstanceScanner.displayName(name))\": no FIFOs for it in \(directory)"
        case .refused(let why): why
        case .duplicatePromptID(let id): "the id \"\(id)\" belongs to a prompt on its way to another instance"
        }
    }
}

/// How a `send` ended: the agent has the prompt, it waits in the outbox, or it failed.
public enum ServerSendResult: Equatable, Sendable {
    case delivered(promptID: String)
    case queued(promptID: String, reason: QueueReason)
    case failed(promptID: String, error: String)
}

/// One instance as `list` shows it.
public struct ServerInstance: Equatable, Sendable {
    public var info: InstanceInfo
    /// nil while no session is open for it (not ready, or another process reads it).
    public var activity: Activity?
    public var mode: StreamMode?
    /// Why this server does not read it (another process holds its reader lock), or nil.
    public var readerRefusal: String?
    /// The instance's state in the last health report, or nil before the first.
    public var health: HealthState?
    /// The id the next output line gets.
    public var nextLineID: UInt64
    public var queued: Int
}

/// One instance as `status` shows it.
public struct ServerInstanceStatus: Sendable {
    public var instance: ServerInstance
    public var summary: SessionSummary?
    public var lastTurn: Turn?
    public var outbox: [OutboxEntry]
    public var historyPath: String?
    public var health: ComponentReport?
}

public final class ServerCore {
    public struct Options {
        public var config: BridgeConfig
        public var configPath = ""
        public var policy = PipePolicy.strict
        public var stateDirectory: String
        public var environment = ProcessInfo.processInfo.environment
        /// Seconds between rescans of the pipe directory.
        public var rescanInterval = 1.0
        /// Seconds between looks at the drop directories (ServerCore+Inbox).
        public var inboxInterval = 0.25
        /// Instances whose FIFOs this host creates: health recovery may recreate them (the demo's).
        public var managed: Set<String> = []

        public init(config: BridgeConfig, stateDirectory: String) {
            self.config = config
            self.stateDirectory = stateDirectory
        }
    }

    public enum Scope: Equatable, Sendable {
        case all
        case instance(String)

        func covers(_ name: String?) -> Bool {
            switch self {
            case .all: true
            case .instance(let wanted): name == nil || name == wanted
            }
        }
    }

    public typealias SubscriptionID = Int

    public let loop: EventLoop
    public let options: Options
    public let startedAt = Date().timeIntervalSince1970
    public private(set) var hub: SessionHub!
    private var health: HealthScheduler?
    var logs: [String: LineLog] = [:]
    var instances: [String: InstanceInfo] = [:]
    var directoryError: String?
    private var subscribers: [SubscriptionID: (scope: Scope, handler: (ServerEvent) -> Void)] = [:]
    var nextSubscriber = 1
    /// Session subscribers and what they need replayed (ServerCore+Session.swift).
    var session = SessionFeedState()
    /// Sends waiting for their outcome: prompt id -> completion.
    var sends: [String: (ServerSendResult) -> Void] = [:]
    /// Client ids, turn waiters, drop directories (ServerCore+Inputs).
    let inputs = ServerInputs()
    /// Open turns per instance, so each ended turn is reported once.
    private var openTurns: [String: Set<String>] = [:]
    private var promptCounter = 0
    /// The prompt `send` is handing to the hub, and its answer once the hub took it at once.
    private var sendInProgress: String?
    private var answerAfterSend: (() -> Void)?
    private let promptPrefix: String
    var running = false

    public init(loop: EventLoop, options: Options) {
        self.loop = loop
        self.options = options
        promptPrefix = "s\(String(UInt64(startedAt * 1000), radix: 36))-"
        var hubOptions = SessionHub.Options(directory: options.config.pipeDirectory, stateDirectory: options.stateDirectory)
        hubOptions.engine.policy = options.policy
        hubOptions.engine.maxLineBytes = options.config.tui.maxLineBytes
        hubOptions.engine.rescanInterval = options.rescanInterval
        hubOptions.session = options.config.docker.session
        hub = SessionHub(loop: loop, options: hubOptions) { [unowned self] event in self.handle(event) }
        // Every byte read, escapes included (heavily styled output costs the wire more than its text).
        hub.engine.rawBytes = { [unowned self] _, bytes in self.onOutputDrained(bytes.count) }
        hub.engine.drainFellBehind = { [unowned self] _ in self.onDrainFellBehind() }
        health = HealthScheduler.make(for: hub, config: options.config, configPath: options.configPath,
                                      policy: options.policy, environment: options.environment, managed: options.managed)
        health?.onReport = { [unowned self] report in
            self.broadcast(.health(report))
            self.forwardHealth(report)
        }
    }

    public func start() {
        running = true
        startInbox()
        hub.start()
        health?.start()
    }

    /// Tells every subscriber the server stops, then stops reading and writes what the history
    /// holds (synced) and lets go of the reader locks.
    public func stop() {
        guard running else { return }
        running = false
        broadcast(.serverStopping)
        forwardSession(.serverStopping)
        subscribers = [:]
        inputsStop()
        session.subscribers = [:]
        for (id, completion) in sends.sorted(by: { $0.key < $1.key }) { completion(.failed(promptID: id, error: "the server stopped")) }
        sends = [:]
        health?.stop()
        hub.stop()
    }

    public var pipeDirectory: String { options.config.pipeDirectory }
    public var subscriberCount: Int { subscribers.count }
    public var lastHealth: HealthReport? { health?.monitor.lastReport }
    public var healthEnabled: Bool { health != nil }

    // MARK: operations

    public func list() -> [ServerInstance] {
        instances.keys.sorted().compactMap { describe($0) }
    }

    public func status(of name: String) throws(ServerError) -> ServerInstanceStatus {
        guard let instance = describe(name) else { throw noSuchInstance(name) }
        let turns = history(of: name)
        var summary = hub.summary(of: name)
        if summary == nil, let valid = try? InstanceName(validating: name) {
            summary = SessionSnapshot.read(instance: valid, settings: options.config.docker.session,
                                           stateDirectory: options.stateDirectory, now: Date().timeIntervalSince1970)
                .tracker.summary()
        }
        return ServerInstanceStatus(instance: instance, summary: summary, lastTurn: turns.last, outbox: hub.queued(of: name) ?? [],
                                    historyPath: hub.historyPath(of: name), health: lastHealth?.component(name))
    }

    /// The instance's turns, oldest first: the session's when this server reads it, else what
    /// its history file holds.
    public func history(of name: String, limit: Int? = nil) -> [Turn] {
        var turns = hub.turns(of: name)
        if turns == nil, let valid = try? InstanceName(validating: name) {
            turns = SessionSnapshot.read(instance: valid, settings: options.config.docker.session,
                                         stateDirectory: options.stateDirectory, now: Date().timeIntervalSince1970).contents.turns
        }
        let all = turns ?? []
        guard let limit else { return all }
        return Array(all.suffix(max(0, limit)))
    }

    /// Sends a prompt through the hub (recorded, queued in the outbox when no agent reads);
    /// `completion` runs on the loop with the outcome. Returns the prompt's id.
    @discardableResult
    public func send(_ text: String, to name: String, id: String? = nil, origin: PromptOrigin,
                     completion: @escaping (ServerSendResult) -> Void = { _ in }) throws(ServerError) -> String {
        guard instances[name] != nil else { throw noSuchInstance(name) }
        if let refusal = PromptText.sizeRefusal(text.utf8.count) { throw .refused(refusal) }
        if text.utf8.count > options.config.server.maxPromptBytes {
            throw .refused("the prompt is \(text.utf8.count) bytes, more than the limit of \(options.config.server.maxPromptBytes) (server.max_prompt_bytes)")
        }
        guard !text.isEmpty else { throw .refused("an empty prompt is not sent") }
        let promptID: String
        var completion = completion
        if let id {
            // The same id again is not sent again: it gets the first answer (ServerCore+Inputs).
            if let repeated = try answerRepeat(id, to: name, completion: completion) { return repeated }
            guard sends[id] == nil else { throw .duplicatePromptID(id) }
            promptID = id
            completion = firstSend(id, to: name, completion: completion)
        } else {
            promptCounter += 1
            promptID = promptPrefix + String(promptCounter)
        }
        sends[promptID] = completion
        sendInProgress = promptID
        hub.send(text, to: name, promptID: promptID, origin: origin)
        sendInProgress = nil
        // An agent took it at once: the hub has recorded its turn, so it is answered now (in the
        // same write to the client as its events), not on the next timer run.
        if let answer = answerAfterSend {
            answerAfterSend = nil
            answer()
        }
        return promptID
    }

    /// Delivers the kept output of the instances in `scope` from the given line ids (the whole
    /// kept output of an instance not named in `from`), then every live event in `scope`, to
    /// `handler`, on the loop.
    @discardableResult
    public func subscribe(_ scope: Scope, from: [String: UInt64] = [:],
                          handler: @escaping (ServerEvent) -> Void) -> SubscriptionID {
        let id = nextSubscriber
        nextSubscriber += 1
        let names: [String]
        switch scope {
        case .all: names = logs.keys.sorted()
        case .instance(let name): names = logs[name] == nil ? [] : [name]
        }
        for name in names {
            guard let log = logs[name] else { continue }
            let start = from[name] ?? log.oldestID
            let (batches, missing) = log.lines(from: start)
            if missing > 0 { handler(.linesSkipped(instance: name, from: start, count: missing)) }
            for (first, batch) in batches { handler(.output(instance: name, firstLineID: first, batch: batch)) }
        }
        subscribers[id] = (scope, handler)
        return id
    }

    public func unsubscribe(_ id: SubscriptionID) {
        subscribers[id] = nil
    }

    /// Checks health now (a client asked); the report comes as a `.health` event.
    public func checkHealth() {
        health?.checkNow()
    }

    // MARK: hub events

    private func handle(_ event: SessionEvent) {
        health?.noteSessionEvent(event)
        var firstLineID: UInt64?
        defer { forwardSession(event, firstLineID: firstLineID) }
        switch event {
        case .instancesChanged(let list, let error):
            directoryError = error
            let now = Dictionary(list.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for name in instances.keys.sorted() where now[name] == nil {
                instances[name] = nil
                broadcast(.instanceRemoved(name))
            }
            for info in list where instances[info.name] != info {
                instances[info.name] = info
                if logs[info.name] == nil { logs[info.name] = LineLog(maxBytes: backlogBytes()) }
                broadcast(.instanceAdded(info))
            }
        case .output(let name, let batch):
            // Kept even while the instance is gone: an agent restarting removes its FIFOs for a
            // moment, and the line ids go on.
            if logs[name] == nil { logs[name] = LineLog(maxBytes: backlogBytes()) }
            let first = logs[name]!.append(batch)
            firstLineID = first
            broadcast(.output(instance: name, firstLineID: first, batch: batch))
        case .promptAccepted(let name, let id, let text, let at, let origin):
            openTurns[name, default: []].insert(id)
            broadcast(.turnStarted(instance: name, promptID: id, text: text, origin: origin, at: at))
            // Answered once the hub has recorded the turn (right after this event), so whoever
            // looks the id up from the answer finds it: as `send` returns, or on the timer run.
            if let completion = sends.removeValue(forKey: id) {
                let answer = { completion(.delivered(promptID: id)) }
                if sendInProgress == id { answerAfterSend = answer } else { loop.schedule(after: 0, answer) }
            }
        case .promptQueued(let name, let id, let reason):
            broadcast(.promptQueued(instance: name, promptID: id, reason: reason))
            sends.removeValue(forKey: id)?(.queued(promptID: id, reason: reason))
        case .promptFailed(let name, let id, let error):
            broadcast(.promptFailed(instance: name, promptID: id, error: error))
            sends.removeValue(forKey: id)?(.failed(promptID: id, error: error))
        case .turnsChanged(let name, let turns):
            for turn in turns where !turn.status.isOpen && openTurns[name]?.remove(turn.id) != nil {
                broadcast(.turnEnded(instance: name, turn: turn))
            }
        case .outboxChanged(let name, let entries):
            broadcast(.outbox(instance: name, entries: entries))
        case .activityChanged(let name, let activity):
            broadcast(.activity(instance: name, activity: activity))
        case .lifecycle(let name, let change):
            broadcast(.agent(instance: name, change: change))
        case .notice(let name, let notice):
            broadcast(.notice(instance: name, notice: notice))
        case .instanceRemoved(let name, _):
            // Its pipes stayed away for the whole grace period: the hub closed the session, and
            // the server forgets its lines (a new agent under that name starts a new log).
            logs[name] = nil
            openTurns[name] = nil
            if instances.removeValue(forKey: name) != nil { broadcast(.instanceRemoved(name)) }
        case .stream, .attachment, .historyRestored:
            break
        }
        inputsNote(event)
    }

    /// While a live event goes to the subscribers: a number of its own, so a handler that encodes
    /// the event for the wire can encode it once for all of them (`nil` for a backlog).
    public private(set) var currentBroadcast: Int?
    /// Bytes read from an out-FIFO, as each read brings them in (the server's sockets pace their
    /// writes by it: SocketWriteBudget).
    public var onOutputDrained: (Int) -> Void = { _ in }
    /// A drain stopped at its read budget: an agent writes faster than the server reads.
    public var onDrainFellBehind: () -> Void = {}
    private var broadcastCounter = 0

    private func broadcast(_ event: ServerEvent) {
        let name = event.instance
        broadcastCounter += 1
        currentBroadcast = broadcastCounter
        defer { currentBroadcast = nil }
        for id in subscribers.keys.sorted() {
            guard let subscriber = subscribers[id], subscriber.scope.covers(name) else { continue }
            subscriber.handler(event)
        }
    }

    private func describe(_ name: String) -> ServerInstance? {
        guard let info = instances[name] else { return nil }
        return ServerInstance(info: info, activity: hub.activity(of: name), mode: hub.mode(of: name),
                              readerRefusal: hub.readerRefusal(of: name), health: lastHealth?.component(name)?.state,
                              nextLineID: logs[name]?.nextID ?? 1, queued: hub.queued(of: name)?.count ?? 0)
    }

    private func noSuchInstance(_ name: String) -> ServerError {
        .noSuchInstance(name, directory: options.config.pipeDirectory)
    }

    /// Each instance's share of the scrollback budget, as the TUI keeps it.
    private func backlogBytes() -> Int {
        ScrollbackBudget.bytesPerInstance(settings: options.config.tui, instanceCount: max(1, instances.count))
    }
}
