// FramePacer: when the next frame may be drawn. At most `maxFramesPerSecond`, and never while
// nothing changed, so fast output costs one redraw per frame and an idle screen costs none.

public struct FramePacer: Hashable, Sendable {
    public var minInterval: Double
    public private(set) var lastFrame: Double?

    public init(maxFramesPerSecond: Double = 60) {
        minInterval = 1 / max(1, maxFramesPerSecond)
    }

    /// The time at which to draw next, or nil when there is nothing to draw. A time at or
    /// before `now` means "draw now".
    public func nextFrameTime(now: Double, dirty: Bool) -> Double? {
        guard dirty else { return nil }
        guard let lastFrame else { return now }
        return max(now, lastFrame + minInterval)
    }

    /// Seconds the event loop may sleep before it must draw (nil: until input arrives).
    public func timeout(now: Double, dirty: Bool) -> Double? {
        nextFrameTime(now: now, dirty: dirty).map { max(0, $0 - now) }
    }

    public mutating func didDraw(at time: Double) { lastFrame = time }
}
