// InterruptEscalation: an interrupt that the reply's processes ignore does not stay ignored.
// SIGINT first; if the reply still runs `interruptGrace` seconds later, SIGTERM; `termGrace`
// seconds after that, SIGKILL. A pure timer: the engine sends the signals and says so.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct InterruptEscalation: Sendable, Equatable {
    public var interruptGrace: Double
    public var termGrace: Double
    /// The signal sent last and when, while an interrupt is in progress.
    public private(set) var last: (signal: Int32, at: Double)?

    public init(interruptGrace: Double = 2, termGrace: Double = 2) {
        self.interruptGrace = interruptGrace
        self.termGrace = termGrace
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.interruptGrace == b.interruptGrace && a.termGrace == b.termGrace
            && a.last?.signal == b.last?.signal && a.last?.at == b.last?.at
    }

    public var isActive: Bool { last != nil }

    /// An interrupt arrived: returns SIGINT to send. A repeated interrupt while one is in
    /// progress sends SIGINT again but keeps the escalation's clock.
    public mutating func begin(now: Double) -> Int32 {
        if last == nil { last = (SIGINT, now) }
        return SIGINT
    }

    /// The reply ended (or the child is gone): nothing more to send.
    public mutating func end() { last = nil }

    /// When the next signal is due, if any.
    public var nextDeadline: Double? {
        guard let last else { return nil }
        switch last.signal {
        case SIGINT: return last.at + interruptGrace
        case SIGTERM: return last.at + termGrace
        default: return nil
        }
    }

    /// The signal due at `now`, if any; it counts as sent.
    public mutating func due(now: Double) -> Int32? {
        guard let deadline = nextDeadline, now >= deadline, let last else { return nil }
        let next: Int32 = last.signal == SIGINT ? SIGTERM : SIGKILL
        self.last = (next, now)
        return next
    }

    /// The notice for an escalation step, e.g. "the reply ignored SIGINT for 2 s; sent SIGTERM".
    public func notice(sent signal: Int32) -> String {
        let (previous, grace) = signal == SIGTERM ? ("SIGINT", interruptGrace) : ("SIGTERM", termGrace)
        return "the reply ignored \(previous) for \(formatSeconds(grace)) s; sent \(signal == SIGTERM ? "SIGTERM" : "SIGKILL")"
    }
}
