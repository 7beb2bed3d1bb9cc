// SessionTracker: the turns of one instance, fed by the stream decoder's events, and the totals
// the status line, `status` and the health monitor show. Pure and deterministic: it never reads
// a clock; every input carries its time, and `tick(now:)` applies the timeouts.
//
// Attribution: output belongs to the oldest open turn (the agent answers in order). A plain-mode
// turn ends at the `❯` marker or after `quiet_period` of silence; a framed turn ends at its
// `done` frame. A pending turn with no output for `request_timeout`, or an active turn whose
// output stopped for that long, fails with `timeout` (a long reply that keeps streaming never
// times out).
//
// Every input returns the turns it changed, so the caller can hand them to the HistoryStore.

public enum SessionState: String, Codable, Sendable {
    /// A turn is open, or there was activity within `idle_timeout`.
    case active
    /// No turn open and no activity for `idle_timeout` (or none ever).
    case idle
}

public enum StreamFraming: String, Codable, Sendable {
    /// Upstream cc-bridge: no frames; a reply ends at `❯` or after the quiet period.
    case plain
    /// Our agent's framed protocol: `done(id, ...)` ends a turn, heartbeats show liveness.
    case framed
}

/// Totals and timings for display. Medians are over the turns still kept (max_history).
public struct SessionSummary: Codable, Equatable, Sendable {
    public var state: SessionState
    public var requests: Int
    public var completed: Int
    public var failed: Int
    public var timedOut: Int
    public var interrupted: Int
    public var open: Int
    /// completed / (completed + failed + timed out); nil before any turn finished that way.
    public var successRate: Double?
    public var lastTTFB: Double?
    public var medianTTFB: Double?
    public var lastDuration: Double?
    public var medianDuration: Double?
    public var lastStatus: TurnStatus?
    public var lastActivity: Double?
    public var lastHeartbeat: Double?

    enum CodingKeys: String, CodingKey {
        case state, requests, completed, failed, open, interrupted
        case timedOut = "timed_out", successRate = "success_rate"
        case lastTTFB = "last_ttfb", medianTTFB = "median_ttfb"
        case lastDuration = "last_duration", medianDuration = "median_duration"
        case lastStatus = "last_status", lastActivity = "last_activity", lastHeartbeat = "last_heartbeat"
    }
}

public struct SessionTracker: Sendable {
    public static let maxResponseBytes = 256 << 10
    public static let truncationMarker = "\n[truncated]"

    public var settings: SessionSettings
    public var framing: StreamFraming {
        didSet {
            // Prompts still open now went out as plain lines before the agent's hello was read;
            // a framed agent answers each under an id of its own (HostRequest), in order.
            if oldValue == .plain && framing == .framed { sentAsPlain = turns.filter { $0.status.isOpen }.map(\.id) }
        }
    }
    /// Open turns sent as plain lines to an agent that turned out to be framed, oldest first:
    /// a `done` for an id we never gave ends the oldest of them (else it would stay open).
    private var sentAsPlain: [String] = []
    /// Oldest first; at most `settings.maxHistory`.
    public private(set) var turns: [Turn] = []
    public private(set) var state: SessionState = .idle
    public private(set) var lastActivity: Double?
    public private(set) var lastOutputAt: Double?
    public private(set) var lastHeartbeat: Double?
    /// Output that arrived while no turn was open (a banner, another client's reply).
    public private(set) var unattributedBytes = 0
    /// Open turns that wait for the user (a Claude permission request): they never time out.
    public var awaitingUser: Set<String> = []

    // Lifetime totals: they survive max_history trimming.
    public private(set) var requests = 0
    public private(set) var completed = 0
    public private(set) var failed = 0
    public private(set) var timedOut = 0
    public private(set) var interrupted = 0

    public init(settings: SessionSettings = SessionSettings(), framing: StreamFraming = .plain) {
        self.settings = settings
        self.framing = framing
    }

    /// Restores turns read from the history file. Turns still open there were cut off when the
    /// previous process stopped; they become `failed` (returned, so the caller can persist that).
    @discardableResult
    public mutating func restore(_ history: [Turn], at now: Double) -> [Turn] {
        var changed: [Turn] = []
        turns = []
        for var turn in history.suffix(settings.maxHistory) {
            if turn.status.isOpen {
                turn.status = .failed
                turn.error = "cc-bridge-tui stopped before the turn finished"
                turn.doneAt = turn.doneAt ?? turn.lastOutputAt ?? turn.sentAt
                changed.append(turn)
            }
            turns.append(turn)
        }
        requests = turns.count
        completed = turns.count { $0.status == .completed }
        failed = turns.count { $0.status == .failed }
        timedOut = turns.count { $0.status == .timeout }
        interrupted = turns.count { $0.status == .interrupted }
        lastActivity = turns.compactMap { $0.doneAt ?? $0.lastOutputAt ?? $0.sentAt }.max()
        _ = tick(now: now)
        return changed
    }

    // MARK: inputs

    /// A prompt went out with this id. A second `promptSent` for a known id is ignored.
    @discardableResult
    public mutating func promptSent(id: String, text: String, at time: Double, origin: PromptOrigin? = nil) -> [Turn] {
        guard index(of: id) == nil else { return [] }
        requests += 1
        touch(time)
        turns.append(Turn(id: id, prompt: text, sentAt: time, origin: origin))
        trim()
        return [turns[turns.count - 1]]
    }

    /// The prompt could not be delivered. Fails the known turn, or records a failed one.
    @discardableResult
    public mutating func promptFailed(id: String, text: String = "", reason: String, at time: Double,
                                      origin: PromptOrigin? = nil) -> [Turn] {
        touch(time)
        if let i = index(of: id) {
            guard turns[i].status.isOpen else { return [] }
            return [finish(i, .failed, at: time, error: reason)]
        }
        requests += 1
        var turn = Turn(id: id, prompt: text, sentAt: time, origin: origin)
        turns.append(turn)
        turn = finish(turns.count - 1, .failed, at: time, error: reason)
        trim()
        return [turn]
    }

    /// Output text: appended to the oldest open turn, which becomes active at its first byte.
    @discardableResult
    public mutating func output(text: String, at time: Double) -> [Turn] {
        output(byteCount: text.utf8.count, at: time) { text }
    }

    /// Output of `byteCount` bytes whose text `text` makes: called only when an open turn keeps
    /// it, so a flood nobody asked for (or past a turn's response limit) makes no String.
    @discardableResult
    public mutating func output(byteCount: Int, at time: Double, text: () -> String) -> [Turn] {
        guard byteCount > 0 else { return [] }
        touch(time)
        lastOutputAt = time
        guard let i = firstOpenIndex() else {
            unattributedBytes += byteCount
            return []
        }
        if turns[i].status == .pending {
            turns[i].status = .active
            turns[i].firstByteAt = time
        }
        turns[i].lastOutputAt = time
        if !turns[i].truncated { Self.append(text(), to: &turns[i]) }
        return [turns[i]]
    }

    /// The open (unfinished) line changed: the reply is still arriving, so a plain turn's quiet
    /// period starts again. Its text is counted once the line ends (`output`); a turn with no
    /// finished line yet stays pending (its first byte is its first finished line, as before).
    public mutating func outputGrowing(at time: Double) {
        touch(time)
        lastOutputAt = time
        guard let i = firstOpenIndex(), turns[i].status == .active else { return }
        turns[i].lastOutputAt = time
    }

    /// A framed `done(id, status, exit)`. Unknown or already finished ids are ignored.
    @discardableResult
    public mutating func framedDone(id: String, status: DoneStatus, exit: Int?, at time: Double) -> [Turn] {
        touch(time)
        guard let i = index(of: id) ?? oldestSentAsPlain(), turns[i].status.isOpen else { return [] }
        turns[i].exitCode = exit
        switch status {
        case .ok: return [finish(i, .completed, at: time, error: nil)]
        case .interrupted: return [finish(i, .interrupted, at: time, error: "interrupted")]
        case .error:
            return [finish(i, .failed, at: time, error: exit.map { "the agent reported an error (exit \($0))" } ?? "the agent reported an error")]
        }
    }

    /// A line of the turn's transcript that is not output text (a Claude tool call, the turn's
    /// footer): kept in the turn's response, so its history shows it; it is activity, as output is.
    @discardableResult
    public mutating func transcriptLine(_ line: String, turnID: String, at time: Double) -> [Turn] {
        touch(time)
        lastOutputAt = time
        guard let i = index(of: turnID), turns[i].status.isOpen else { return [] }
        if turns[i].status == .pending {
            turns[i].status = .active
            turns[i].firstByteAt = time
        }
        turns[i].lastOutputAt = time
        if !turns[i].truncated {
            // On a line of its own, after any text of the turn that is still unterminated.
            let separator = turns[i].response.isEmpty || turns[i].response.hasSuffix("\n") ? "" : "\n"
            Self.append(separator + line + "\n", to: &turns[i])
        }
        return [turns[i]]
    }

    /// A sign the turn is being worked on that carries no text (a tool started, Claude asks).
    public mutating func turnProgress(id: String, at time: Double) {
        touch(time)
        guard let i = index(of: id), turns[i].status.isOpen else { return }
        turns[i].lastOutputAt = time
    }

    /// A framed heartbeat: the agent is alive (no effect on turns).
    public mutating func heartbeat(at time: Double) {
        lastHeartbeat = time
    }

    /// The plain-mode reply marker `❯`: ends the oldest active turn. While the oldest open turn
    /// has had no output yet the marker is the prompt being redrawn, not an answer, and is ignored.
    /// Framed turns end only at their `done` frame, so there the marker is just output.
    @discardableResult
    public mutating func replyMarker(at time: Double) -> [Turn] {
        touch(time)
        guard framing == .plain, let i = firstOpenIndex(), turns[i].status == .active else { return [] }
        return [finish(i, .completed, at: time, error: nil)]
    }

    /// An interrupt was sent: the oldest open turn ends as interrupted (plain mode has no frame
    /// that would say so).
    @discardableResult
    public mutating func interruptSent(at time: Double) -> [Turn] {
        touch(time)
        guard let i = firstOpenIndex() else { return [] }
        return [finish(i, .interrupted, at: time, error: "interrupted")]
    }

    /// The agent went away (or was replaced): every open turn ends as interrupted now, so a reply
    /// that begins after the agent is back is never credited to a prompt the old agent swallowed.
    @discardableResult
    public mutating func agentExited(at time: Double) -> [Turn] {
        touch(time)
        return turns.indices.filter { turns[$0].status.isOpen }.map { finish($0, .interrupted, at: time, error: "the agent exited") }
    }

    /// Applies the quiet period (plain), the request timeout and the idle timeout.
    @discardableResult
    public mutating func tick(now: Double) -> [Turn] {
        var changed: [Turn] = []
        for i in turns.indices where turns[i].status.isOpen {
            let turn = turns[i]
            if awaitingUser.contains(turn.id) { continue }
            if turn.status == .active, framing == .plain, let last = turn.lastOutputAt,
               now - last >= settings.quietPeriod {
                // The reply ended when its output stopped, not when we noticed.
                changed.append(finish(i, .completed, at: last, error: nil))
            } else if turn.status == .pending, now - turn.sentAt >= settings.requestTimeout {
                changed.append(finish(i, .timeout, at: now,
                                      error: "no output within \(Self.seconds(settings.requestTimeout)) of the prompt"))
            } else if turn.status == .active, let last = turn.lastOutputAt, now - last >= settings.requestTimeout {
                changed.append(finish(i, .timeout, at: now,
                                      error: "output stopped for \(Self.seconds(settings.requestTimeout)) before the turn ended"))
            }
        }
        let open = hasOpenTurn
        if open {
            state = .active
        } else if let last = lastActivity, now - last < settings.idleTimeout {
            state = .active
        } else {
            state = .idle
        }
        return changed
    }

    // MARK: queries

    public func turn(id: String) -> Turn? { index(of: id).map { turns[$0] } }

    /// Some turn is pending or active.
    public var hasOpenTurn: Bool { firstOpenIndex() != nil }

    /// The newest turn that is no longer open.
    public var lastFinishedTurn: Turn? {
        var i = turns.endIndex
        while i > turns.startIndex {
            i -= 1
            if !turns[i].status.isOpen { return turns[i] }
        }
        return nil
    }

    /// The earliest time `tick` could change something, for the caller's timer (nil: nothing).
    public func nextDeadline() -> Double? {
        var due: [Double] = []
        for i in turns.indices where turns[i].status.isOpen {
            if turns[i].status == .pending { due.append(turns[i].sentAt + settings.requestTimeout) }
            if turns[i].status == .active, let last = turns[i].lastOutputAt {
                due.append(last + (framing == .plain ? min(settings.quietPeriod, settings.requestTimeout) : settings.requestTimeout))
            }
        }
        if state == .active, due.isEmpty, let last = lastActivity { due.append(last + settings.idleTimeout) }
        return due.min()
    }

    /// `medians: false` leaves `medianTTFB` and `medianDuration` nil: the health monitor, which
    /// gets a summary at every turn change, reads neither (HealthRules.session).
    public func summary(medians: Bool = true) -> SessionSummary {
        let finishedFairly = completed + failed + timedOut
        // One pass that copies no Turn (the server asks for this after every turn change).
        var ttfbs: [Double] = [], durations: [Double] = []
        var open = 0
        var lastTTFB: Double?, lastDuration: Double?, lastCompletedSeen = false
        if medians {
            ttfbs.reserveCapacity(turns.count)
            durations.reserveCapacity(turns.count)
        }
        for index in turns.indices {
            if let ttfb = turns[index].ttfb {
                lastTTFB = ttfb
                if medians { ttfbs.append(ttfb) }
            }
            let status = turns[index].status
            if status.isOpen { open += 1 }
            if status == .completed {
                lastCompletedSeen = true
                lastDuration = turns[index].duration
                if medians, let duration = lastDuration { durations.append(duration) }
            }
        }
        return SessionSummary(
            state: state, requests: requests, completed: completed, failed: failed, timedOut: timedOut,
            interrupted: interrupted, open: open,
            successRate: finishedFairly == 0 ? nil : Double(completed) / Double(finishedFairly),
            lastTTFB: lastTTFB, medianTTFB: medians ? Self.median(selectingIn: &ttfbs) : nil,
            lastDuration: lastCompletedSeen ? lastDuration : nil,
            medianDuration: medians ? Self.median(selectingIn: &durations) : nil,
            lastStatus: turns.last?.status, lastActivity: lastActivity, lastHeartbeat: lastHeartbeat)
    }

    public static func median(_ values: [Double]) -> Double? {
        var values = values
        return median(selectingIn: &values)
    }

    /// The median by selection (reorders `values`): linear, where a sort was n log n twice per
    /// summary, and the server makes a summary at every turn change.
    static func median(selectingIn values: inout [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let mid = values.count / 2
        select(mid, in: &values)
        if values.count % 2 == 1 { return values[mid] }
        // Everything before `mid` is at most values[mid]: the largest of it is the other middle.
        var lower = values[0]
        for i in 1..<mid where values[i] > lower { lower = values[i] }
        return (lower + values[mid]) / 2
    }

    /// Reorders `values` so that values[k] is the k-th smallest, with nothing larger before it
    /// and nothing smaller after it (Hoare's selection, pivot the median of three).
    static func select(_ k: Int, in values: inout [Double]) {
        var low = 0, high = values.count - 1
        while low < high {
            let a = values[low], b = values[low + (high - low) / 2], c = values[high]
            let pivot = max(min(a, b), min(max(a, b), c))
            var i = low, j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            // low...j ≤ pivot, i...high ≥ pivot, and what lies between equals it.
            if k <= j { high = j } else if k >= i { low = i } else { return }
        }
    }

    // MARK: internals

    // Scans by index: a Sequence method's closure gets a copy of every Turn it looks at (the
    // server asks these at every event, over up to max_history turns).

    private func index(of id: String) -> Int? {
        var i = turns.endIndex
        while i > turns.startIndex {
            i -= 1
            if turns[i].id == id { return i }
        }
        return nil
    }

    /// The oldest open turn (output belongs to it).
    private func firstOpenIndex() -> Int? {
        for i in turns.indices where turns[i].status.isOpen { return i }
        return nil
    }

    /// The oldest turn still open of those sent as plain lines before the agent's hello, taken
    /// off the list (those that ended some other way meanwhile are dropped from it).
    private mutating func oldestSentAsPlain() -> Int? {
        while !sentAsPlain.isEmpty {
            let id = sentAsPlain.removeFirst()
            if let i = index(of: id), turns[i].status.isOpen { return i }
        }
        return nil
    }

    private mutating func touch(_ time: Double) {
        lastActivity = max(lastActivity ?? time, time)
        state = .active
    }

    private mutating func finish(_ i: Int, _ status: TurnStatus, at time: Double, error: String?) -> Turn {
        turns[i].status = status
        turns[i].doneAt = time
        turns[i].error = error
        switch status {
        case .completed: completed += 1
        case .failed: failed += 1
        case .timeout: timedOut += 1
        case .interrupted: interrupted += 1
        case .pending, .active: break
        }
        return turns[i]
    }

    /// Keeps at most maxHistory turns, dropping the oldest (finished ones first).
    private mutating func trim() {
        while turns.count > max(settings.maxHistory, 1) {
            if let i = turns.firstIndex(where: { !$0.status.isOpen }) { turns.remove(at: i) } else { turns.removeFirst() }
        }
    }

    /// Appends up to the byte limit, cutting on a scalar boundary, then marks the turn truncated.
    static func append(_ text: String, to turn: inout Turn, limit: Int = maxResponseBytes) {
        guard !turn.truncated else { return }
        let used = turn.response.utf8.count
        let incoming = text.utf8.count
        if used + incoming <= limit {
            turn.response += text
            return
        }
        var room = limit - used
        var kept = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let size = String(scalar).utf8.count
            if size > room { break }
            room -= size
            kept.append(scalar)
        }
        turn.response += String(kept) + truncationMarker
        turn.truncated = true
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
