// SocketWriteBudget: how much a server's client sockets may take while output is flooding in, so
// the copies into many sockets never crowd out the FIFO drain that feeds them.
//
// One loop thread does both: it reads the out-FIFOs and copies every event into each subscribed
// client's socket. With fifty clients that keep up, the copies are fifty times the drain and the
// agent waits on a full pipe (issue 13: "the FIFO drain never waits on a client"). So while
// output floods in (`floodBytes` or more read within the current and the last 50 ms window:
// 20 MiB/s, far above what agents print, while a TUI catching up on a busy server is not held
// back) and the drain brings it turn after turn, the connections of one listener share a credit of
// `share` times the bytes read (bounded by `maxCredit`); a connection the credit did not reach
// for `starvedAfter` seconds may write `starvedWrite` bytes anyway, so answers and skip notices
// always move (a trickle, not a per-turn cost: fifty connections writing a little every turn
// cost the drain as much as the credit did). What a client is not given stays in its bounded
// queue: once that is full it gets a skip notice and resyncs from the log, as any slow client
// does. A turn after one that drained nothing writes without limit: with no flood there is
// nothing to protect, and clients catch up at once.
//
// Loop thread only. A client's own IPCConnection has no budget.

public final class SocketWriteBudget {
    /// Bytes the connections together may write per byte read from the FIFOs.
    public let share: Int
    public let maxCredit: Int
    /// Seconds without a write after which a connection may write `starvedWrite` bytes.
    public let starvedAfter: Double
    public let starvedWrite: Int
    /// Bytes read within a window and the one before it that make a flood.
    public let floodBytes: Int
    public static let window = 0.05
    private unowned let loop: EventLoop
    private var credit = 0
    /// The loop turn of the last read that brought output.
    private var lastDrainTurn = -2
    private var windowStart = -1.0
    private var windowBytes = 0
    private var lastWindowBytes = 0

    public init(loop: EventLoop, share: Int = 2, floodBytes: Int = 1 << 20, maxCredit: Int = 8 << 20,
                starvedAfter: Double = 0.05, starvedWrite: Int = 16 << 10) {
        self.loop = loop
        self.share = share
        self.floodBytes = floodBytes
        self.maxCredit = maxCredit
        self.starvedAfter = starvedAfter
        self.starvedWrite = starvedWrite
    }

    /// A read brought `bytes` of output in.
    public func drained(_ bytes: Int) {
        guard bytes > 0 else { return }
        if !isLimited { credit = 0 }
        let now = MonotonicClock.now()
        if now - windowStart >= Self.window {
            // A window that ended long ago says nothing of the rate now.
            lastWindowBytes = now - windowStart < 2 * Self.window ? windowBytes : 0
            windowStart = now
            windowBytes = 0
        }
        windowBytes += bytes
        lastDrainTurn = loop.wakeups
        credit = min(maxCredit, credit + bytes * share)
    }

    /// Output floods in, and came in this turn or the one before: writes are paced by the drain.
    public var isLimited: Bool {
        loop.wakeups - lastDrainTurn <= 1 && windowBytes + lastWindowBytes >= floodBytes
    }

    /// What a connection that last wrote at `lastWrite` (monotonic seconds) may write now.
    func allowance(lastWrite: Double) -> Int {
        guard isLimited else { return Int.max }
        if credit > 0 { return credit }
        return MonotonicClock.now() - lastWrite >= starvedAfter ? starvedWrite : 0
    }

    func spend(_ bytes: Int) {
        credit = max(0, credit - bytes)
    }
}
