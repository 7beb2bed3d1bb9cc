// SessionTrackerTests: turn transitions, the plain and framed endings, timeouts, idle, totals and
// max_history, all with explicit times (no clock is read).

import Testing
@testable import BridgeCore

/// One input to the tracker, so transition tables read as data.
enum TrackerEvent: Sendable, CustomStringConvertible {
    case sent(String, Double)
    case sendFailed(String, Double)
    case out(String, Double)
    /// The open line changed (a line still being typed): no finished text yet.
    case growing(Double)
    case done(String, DoneStatus, Double)
    case marker(Double)
    case interrupt(Double)
    case tick(Double)

    var description: String {
        switch self {
        case .sent(let id, let t): "sent(\(id))@\(t)"
        case .sendFailed(let id, let t): "sendFailed(\(id))@\(t)"
        case .out(let text, let t): "out(\(text))@\(t)"
        case .growing(let t): "growing@\(t)"
        case .done(let id, let s, let t): "done(\(id),\(s))@\(t)"
        case .marker(let t): "❯@\(t)"
        case .interrupt(let t): "interrupt@\(t)"
        case .tick(let t): "tick@\(t)"
        }
    }

    func apply(to tracker: inout SessionTracker) {
        switch self {
        case .sent(let id, let t): tracker.promptSent(id: id, text: "prompt " + id, at: t)
        case .sendFailed(let id, let t): tracker.promptFailed(id: id, reason: "agent not listening", at: t)
        case .out(let text, let t): tracker.output(text: text, at: t)
        case .growing(let t): tracker.outputGrowing(at: t)
        case .done(let id, let s, let t): tracker.framedDone(id: id, status: s, exit: s == .error ? 3 : 0, at: t)
        case .marker(let t): tracker.replyMarker(at: t)
        case .interrupt(let t): tracker.interruptSent(at: t)
        case .tick(let t): tracker.tick(now: t)
        }
    }
}

struct TrackerCase: Sendable, CustomStringConvertible {
    var name: String
    var framing: StreamFraming
    var events: [TrackerEvent]
    var status: TurnStatus
    var response: String
    var firstByte: Double?
    var done: Double?
    var description: String { name }
}

func trackerSettings(idle: Double = 300, request: Double = 120, history: Int = 100, quiet: Double = 3) -> SessionSettings {
    var s = SessionSettings()
    s.idleTimeout = idle
    s.requestTimeout = request
    s.maxHistory = history
    s.quietPeriod = quiet
    return s
}

@Suite struct SessionTrackerTests {
    static let cases: [TrackerCase] = [
        .init(name: "sent only", framing: .plain, events: [.sent("a", 10)],
              status: .pending, response: "", firstByte: nil, done: nil),
        .init(name: "first byte makes it active", framing: .plain, events: [.sent("a", 10), .out("he", 10.5), .out("llo", 10.7)],
              status: .active, response: "hello", firstByte: 10.5, done: nil),
        .init(name: "plain marker completes", framing: .plain, events: [.sent("a", 10), .out("hi\n", 11), .marker(11.2)],
              status: .completed, response: "hi\n", firstByte: 11, done: 11.2),
        .init(name: "plain marker before any output is a redraw", framing: .plain, events: [.sent("a", 10), .marker(10.1)],
              status: .pending, response: "", firstByte: nil, done: nil),
        .init(name: "plain quiet period completes at the last output", framing: .plain,
              events: [.sent("a", 10), .out("x", 11), .out("y", 12), .tick(14.9), .tick(15)],
              status: .completed, response: "xy", firstByte: 11, done: 12),
        // The demo's slow agent types "Still here. Almost there." for ~4 s after a 2.5 s pause:
        // the turn was completed at the pause while the agent was visibly typing.
        .init(name: "a line still being typed defers the plain quiet period", framing: .plain,
              events: [.sent("a", 10), .out("x\n", 11), .growing(13), .growing(15.5), .tick(18)],
              status: .active, response: "x\n", firstByte: 11, done: nil),
        .init(name: "the quiet period counts from the last growth", framing: .plain,
              events: [.sent("a", 10), .out("x\n", 11), .growing(13), .growing(15.5), .tick(18), .tick(18.5)],
              status: .completed, response: "x\n", firstByte: 11, done: 15.5),
        .init(name: "an open line before any finished one leaves the turn pending", framing: .plain,
              events: [.sent("a", 10), .growing(11)],
              status: .pending, response: "", firstByte: nil, done: nil),
        .init(name: "framed ignores the quiet period", framing: .framed,
              events: [.sent("a", 10), .out("x", 11), .tick(30)],
              status: .active, response: "x", firstByte: 11, done: nil),
        .init(name: "framed ignores the marker", framing: .framed,
              events: [.sent("a", 10), .out("x", 11), .marker(11.5)],
              status: .active, response: "x", firstByte: 11, done: nil),
        .init(name: "framed done ok", framing: .framed, events: [.sent("a", 10), .out("x", 11), .done("a", .ok, 13)],
              status: .completed, response: "x", firstByte: 11, done: 13),
        .init(name: "framed done error", framing: .framed, events: [.sent("a", 10), .done("a", .error, 12)],
              status: .failed, response: "", firstByte: nil, done: 12),
        .init(name: "framed done interrupted", framing: .framed, events: [.sent("a", 10), .out("x", 11), .done("a", .interrupted, 12)],
              status: .interrupted, response: "x", firstByte: 11, done: 12),
        .init(name: "done for another id leaves this one", framing: .framed, events: [.sent("a", 10), .done("zz", .ok, 12)],
              status: .pending, response: "", firstByte: nil, done: nil),
        .init(name: "pending times out", framing: .plain, events: [.sent("a", 10), .tick(129.9), .tick(130)],
              status: .timeout, response: "", firstByte: nil, done: 130),
        .init(name: "framed stalled output times out", framing: .framed, events: [.sent("a", 10), .out("x", 20), .tick(139), .tick(140)],
              status: .timeout, response: "x", firstByte: 20, done: 140),
        .init(name: "streaming keeps a framed turn alive past request_timeout", framing: .framed,
              events: [.sent("a", 0), .out("1", 100), .out("2", 200), .tick(250)],
              status: .active, response: "12", firstByte: 100, done: nil),
        .init(name: "send failure", framing: .plain, events: [.sent("a", 10), .sendFailed("a", 10.1)],
              status: .failed, response: "", firstByte: nil, done: 10.1),
        .init(name: "interrupt", framing: .plain, events: [.sent("a", 10), .out("x", 11), .interrupt(11.5), .out("late", 12)],
              status: .interrupted, response: "x", firstByte: 11, done: 11.5),
        .init(name: "late done after timeout changes nothing", framing: .framed,
              events: [.sent("a", 0), .tick(120), .done("a", .ok, 121)],
              status: .timeout, response: "", firstByte: nil, done: 120),
    ]

    @Test(arguments: cases)
    func transition(_ c: TrackerCase) throws {
        var tracker = SessionTracker(settings: trackerSettings(), framing: c.framing)
        for event in c.events { event.apply(to: &tracker) }
        let turn = try #require(tracker.turn(id: "a"))
        #expect(turn.status == c.status)
        #expect(turn.response == c.response)
        #expect(turn.firstByteAt == c.firstByte)
        #expect(turn.doneAt == c.done)
    }

    @Test func outputGoesToTheOldestOpenTurnInOrder() {
        var tracker = SessionTracker(settings: trackerSettings())
        tracker.promptSent(id: "1", text: "one", at: 0)
        tracker.promptSent(id: "2", text: "two", at: 0.1)
        tracker.output(text: "answer one", at: 1)
        tracker.replyMarker(at: 1.5)
        tracker.output(text: "answer two", at: 2)
        tracker.replyMarker(at: 2.5)
        #expect(tracker.turns.map(\.response) == ["answer one", "answer two"])
        #expect(tracker.turns.map(\.status) == [.completed, .completed])
        #expect(tracker.turn(id: "2")?.ttfb == 1.9)
    }

    @Test func outputTextIsMadeOnlyWhenATurnKeepsIt() {
        var tracker = SessionTracker(settings: trackerSettings())
        var made = 0
        tracker.output(byteCount: 1 << 20, at: 1) { made += 1; return "flood" }
        #expect(made == 0 && tracker.unattributedBytes == 1 << 20)
        tracker.promptSent(id: "1", text: "one", at: 2)
        tracker.output(byteCount: 6, at: 3) { made += 1; return "reply\n" }
        #expect(made == 1)
        #expect(tracker.turn(id: "1")?.response == "reply\n")
        #expect(tracker.turn(id: "1")?.status == .active)
    }

    @Test func outputWithNoOpenTurnIsCountedNotAttributed() {
        var tracker = SessionTracker(settings: trackerSettings())
        let changed = tracker.output(text: "banner", at: 1)
        #expect(changed.isEmpty)
        #expect(tracker.unattributedBytes == 6)
        #expect(tracker.turns.isEmpty)
    }

    @Test func inputsReturnTheTurnsTheyChanged() {
        var tracker = SessionTracker(settings: trackerSettings(), framing: .plain)
        #expect(tracker.promptSent(id: "a", text: "p", at: 0).map(\.status) == [.pending])
        #expect(tracker.promptSent(id: "a", text: "again", at: 0).isEmpty, "a duplicate id is ignored")
        #expect(tracker.output(text: "x", at: 1).map(\.status) == [.active])
        #expect(tracker.tick(now: 2).isEmpty)
        #expect(tracker.tick(now: 4).map(\.status) == [.completed])
        #expect(tracker.tick(now: 5).isEmpty)
    }

    /// The first prompts can go out before the agent's hello is read (a script's `send` as the
    /// server starts): as plain lines, which a framed agent answers under ids of its own. Its
    /// `done`s end those turns in order; they stayed "working" for good.
    @Test func promptsSentBeforeTheHelloEndWithTheAgentsOwnIds() {
        var tracker = SessionTracker(settings: trackerSettings(), framing: .plain)
        tracker.promptSent(id: "first", text: "hello", at: 0)
        tracker.promptSent(id: "second", text: "again", at: 0.1)
        tracker.framing = .framed
        tracker.output(text: "Sure!", at: 1)
        #expect(tracker.framedDone(id: "agent-1", status: .ok, exit: nil, at: 2).map(\.id) == ["first"])
        #expect(tracker.turn(id: "first")?.status == .completed && tracker.turn(id: "second")?.status.isOpen == true)
        // A prompt sent framed is ended by its own id only.
        tracker.promptSent(id: "third", text: "framed", at: 3)
        #expect(tracker.framedDone(id: "agent-2", status: .ok, exit: nil, at: 4).map(\.id) == ["second"])
        #expect(tracker.framedDone(id: "unknown", status: .ok, exit: nil, at: 5).isEmpty)
        #expect(tracker.turn(id: "third")?.status.isOpen == true)
        #expect(tracker.framedDone(id: "third", status: .ok, exit: nil, at: 6).map(\.id) == ["third"])
    }

    @Test func totalsAndMedians() throws {
        var tracker = SessionTracker(settings: trackerSettings(), framing: .framed)
        // Three completed turns with TTFB 1, 2, 4 and durations 2, 5, 6; one failed; one timeout; one interrupted.
        let plan: [(String, Double, Double, Double)] = [("a", 0, 1, 2), ("b", 10, 12, 15), ("c", 20, 24, 26)]
        for (id, sent, first, done) in plan {
            tracker.promptSent(id: id, text: id, at: sent)
            tracker.output(text: "r", at: first)
            tracker.framedDone(id: id, status: .ok, exit: 0, at: done)
        }
        tracker.promptFailed(id: "d", text: "d", reason: "agent not listening", at: 30)
        tracker.promptSent(id: "e", text: "e", at: 40)
        tracker.tick(now: 160)
        tracker.promptSent(id: "f", text: "f", at: 170)
        tracker.interruptSent(at: 171)
        let s = tracker.summary()
        #expect(s.requests == 6)
        #expect(s.completed == 3)
        #expect(s.failed == 1)
        #expect(s.timedOut == 1)
        #expect(s.interrupted == 1)
        #expect(s.open == 0)
        #expect(s.successRate == 0.6)
        #expect(s.lastTTFB == 4)
        #expect(s.medianTTFB == 2)
        #expect(s.lastDuration == 6)
        #expect(s.medianDuration == 5)
        #expect(s.lastStatus == .interrupted)
        #expect(try #require(tracker.turn(id: "d")).error == "agent not listening")
    }

    @Test func successRateIsNilBeforeAnyTurnFinished() {
        var tracker = SessionTracker(settings: trackerSettings())
        tracker.promptSent(id: "a", text: "p", at: 0)
        #expect(tracker.summary().successRate == nil)
        #expect(SessionTracker.median([]) == nil)
        #expect(SessionTracker.median([3, 1, 2, 10]) == 2.5)
    }

    /// The median by selection equals the sorted list's middle (both middles for an even count),
    /// with repeats, runs already in order or reversed, and every length up to 40.
    @Test func medianBySelectionEqualsTheSortedMiddle() {
        var generator = SystemRandomNumberGenerator()
        for count in 1...40 {
            let shapes: [[Double]] = [
                (0..<count).map { _ in Double(Int.random(in: 0..<5, using: &generator)) },
                (0..<count).map { _ in Double.random(in: -1...1, using: &generator) },
                (0..<count).map(Double.init),
                (0..<count).reversed().map(Double.init),
                Array(repeating: 7, count: count),
            ]
            for values in shapes {
                let sorted = values.sorted()
                let mid = count / 2
                let expected = count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
                #expect(SessionTracker.median(values) == expected, "\(values)")
            }
        }
    }

    @Test func idleAfterIdleTimeoutOnlyWithNoOpenTurn() {
        var tracker = SessionTracker(settings: trackerSettings(idle: 60, request: 1000), framing: .framed)
        #expect(tracker.state == .idle, "a session that never did anything is idle")
        tracker.promptSent(id: "a", text: "p", at: 0)
        tracker.tick(now: 500)
        #expect(tracker.state == .active, "an open turn keeps the session active")
        tracker.framedDone(id: "a", status: .ok, exit: 0, at: 500)
        tracker.tick(now: 559)
        #expect(tracker.state == .active)
        tracker.tick(now: 560)
        #expect(tracker.state == .idle)
        tracker.output(text: "x", at: 561)
        #expect(tracker.state == .active, "any activity wakes it")
    }

    @Test func maxHistoryKeepsTheNewestTurnsButTotalsKeepCounting() {
        var tracker = SessionTracker(settings: trackerSettings(history: 3))
        for i in 0..<10 {
            tracker.promptSent(id: "t\(i)", text: "p", at: Double(i))
            tracker.output(text: "r", at: Double(i) + 0.1)
            tracker.replyMarker(at: Double(i) + 0.2)
        }
        #expect(tracker.turns.map(\.id) == ["t7", "t8", "t9"])
        #expect(tracker.summary().requests == 10)
        #expect(tracker.summary().completed == 10)
    }

    @Test func trimmingPrefersFinishedTurns() {
        var tracker = SessionTracker(settings: trackerSettings(history: 2))
        tracker.promptSent(id: "open", text: "p", at: 0)
        tracker.promptFailed(id: "f1", text: "x", reason: "r", at: 1)
        tracker.promptFailed(id: "f2", text: "x", reason: "r", at: 2)
        #expect(tracker.turns.map(\.id) == ["open", "f2"])
    }

    @Test func responseIsBoundedAndSaysTruncated() throws {
        var tracker = SessionTracker(settings: trackerSettings())
        tracker.promptSent(id: "a", text: "p", at: 0)
        let chunk = String(repeating: "é", count: 1000)  // 2000 bytes
        for i in 0..<200 { tracker.output(text: chunk, at: 1 + Double(i) * 0.001) }
        let turn = try #require(tracker.turn(id: "a"))
        #expect(turn.truncated)
        #expect(turn.response.hasSuffix("[truncated]"))
        #expect(turn.response.utf8.count <= SessionTracker.maxResponseBytes + SessionTracker.truncationMarker.utf8.count)
        #expect(turn.response.utf8.count >= SessionTracker.maxResponseBytes - 1)
        #expect(!turn.response.dropLast(SessionTracker.truncationMarker.count).contains("\u{FFFD}"))
    }

    @Test func nextDeadlineFollowsTheOpenTurns() {
        var tracker = SessionTracker(settings: trackerSettings(idle: 300, request: 120, quiet: 3), framing: .plain)
        #expect(tracker.nextDeadline() == nil)
        tracker.promptSent(id: "a", text: "p", at: 10)
        #expect(tracker.nextDeadline() == 130)
        tracker.output(text: "x", at: 11)
        #expect(tracker.nextDeadline() == 14)
        tracker.tick(now: 14)
        #expect(tracker.nextDeadline() == 311, "then the idle timeout from the last activity")
    }

    @Test func restoreFailsTurnsLeftOpenByAStoppedProcess() throws {
        var old = SessionTracker(settings: trackerSettings(), framing: .framed)
        old.promptSent(id: "a", text: "p", at: 0)
        old.output(text: "x", at: 1)
        old.framedDone(id: "a", status: .ok, exit: 0, at: 2)
        old.promptSent(id: "b", text: "q", at: 3)
        old.output(text: "partial", at: 4)

        var tracker = SessionTracker(settings: trackerSettings(), framing: .framed)
        let changed = tracker.restore(old.turns, at: 10)
        #expect(changed.map(\.id) == ["b"])
        let b = try #require(tracker.turn(id: "b"))
        #expect(b.status == .failed)
        #expect(b.doneAt == 4)
        #expect(tracker.summary().requests == 2)
        #expect(tracker.summary().completed == 1)
        #expect(tracker.state == .active, "activity 6 s ago is within idle_timeout")
    }
}
