// IPCBackoff: how long a client waits before its next attempt to reach the server: exponential
// (base · factor^attempt, at most `max`) with jitter, so clients of a restarted server do not all
// come back in the same instant (seed 004: reconnection with exponential backoff).
//
// Public API:
//   struct IPCBackoff(base: 0.1, factor: 2, max: 5, jitter: 0.5)
//   delay(attempt:, unit:)  attempt 0, 1, 2, ...; unit in 0...1 picks the point in the jitter range:
//                           ceiling · (1 - jitter + jitter · unit), ceiling = min(max, base · factor^attempt)
//   delay(attempt:)         with a random unit

import Foundation

public struct IPCBackoff: Equatable, Sendable {
    public var base: Double
    public var factor: Double
    public var max: Double
    /// Fraction of the delay that is random (0: none, 1: anywhere from 0 to the full delay).
    public var jitter: Double

    public init(base: Double = 0.1, factor: Double = 2, max: Double = 5, jitter: Double = 0.5) {
        self.base = Swift.max(0, base)
        self.factor = Swift.max(1, factor)
        self.max = Swift.max(self.base, max)
        self.jitter = Swift.min(1, Swift.max(0, jitter))
    }

    /// The delay without jitter: base · factor^attempt, at most `max`.
    public func ceiling(attempt: Int) -> Double {
        Swift.min(max, base * pow(factor, Double(Swift.min(Swift.max(0, attempt), 64))))
    }

    public func delay(attempt: Int, unit: Double) -> Double {
        let u = unit.isFinite ? Swift.min(1, Swift.max(0, unit)) : 1
        return ceiling(attempt: attempt) * (1 - jitter + jitter * u)
    }

    public func delay(attempt: Int) -> Double {
        delay(attempt: attempt, unit: Double.random(in: 0...1))
    }
}
