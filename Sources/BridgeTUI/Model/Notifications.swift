// Notifications: when the TUI tells the user (a turn ended on an instance not in view, an
// approval waits out of view, an instance turned unhealthy), rate-limited: at most one every
// `interval` seconds; what comes sooner is held and sent, combined, by a later tick. The reducer
// decides (`Effect.notify`); the backend turns it into the bytes `tui.notify` asks for
// (TerminalNotifier). The terminal title counts the instances waiting for the user.

import BridgeCore

public struct NotificationQueue: Hashable, Sendable {
    public var lastAt = -Double.infinity
    /// Held back by the rate limit, oldest first; bounded.
    public var held: [String] = []
    public static let interval = 3.0
    public static let maxHeld = 8
    public init() {}

    /// Sends `text` now, or holds it when the last one was sent less than `interval` ago.
    mutating func post(_ text: String, now: Double) -> [Effect] {
        if held.isEmpty, now - lastAt >= Self.interval {
            lastAt = now
            return [.notify(text)]
        }
        if !held.contains(text) { held.append(text) }
        if held.count > Self.maxHeld { held.removeFirst(held.count - Self.maxHeld) }
        return []
    }

    /// Sends what was held, as one notification, once the interval has passed.
    mutating func flush(now: Double) -> [Effect] {
        guard !held.isEmpty, now - lastAt >= Self.interval else { return [] }
        let text = held.count == 1 ? held[0] : "\(held.count) events: " + held.joined(separator: "; ")
        held = []
        lastAt = now
        return [.notify(text)]
    }
}

extension AppState {
    /// Queues a notification unless `tui.notify` is off.
    mutating func notify(_ text: String) -> [Effect] {
        guard settings.notify != .off else { return [] }
        return notifications.post(ClaudeTranscript.oneLine(text, limit: 200), now: now)
    }

    /// Instances waiting for the user: an approval, or a turn that ended while they were not in view.
    public var waitingCount: Int {
        instances.reduce(0) { $0 + ((!$1.transcript.approvals.isEmpty || $1.transcript.needsAttention) ? 1 : 0) }
    }

    /// The terminal title the TUI sets (OSC 2): how many instances wait for the user.
    public var windowTitle: String {
        let n = waitingCount
        return n == 0 ? "cc-bridge-tui" : "cc-bridge-tui: \(n) waiting"
    }

    /// After every action (cheap: a count over the instances): the instance in view needs no
    /// attention any more; the title follows the number waiting.
    mutating func settle() -> [Effect] {
        if let index = activeIndex, instances[index].transcript.needsAttention {
            instances[index].transcript.needsAttention = false
        }
        let n = waitingCount
        guard n != titleWaiting else { return [] }
        let first = titleWaiting == nil
        titleWaiting = n
        // The backend starts with the plain title: nothing to set until someone waits.
        if first && n == 0 { return [] }
        return [.setTitle(windowTitle)]
    }
}
