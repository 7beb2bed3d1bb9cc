// SocketWriteBudget: how much a server's client sockets may take while output is flooding in, so
// the copies into many sockets never crowd out the FIFO drain that feeds them.
//
// One loop thread does both: it reads the out-FIFOs and copies every event into each subscribed
// client's socket. With fifty clients that keep up, the copies are fifty times the drain and the
// agent waits on a full pipe (issue 13: "the FIFO drain never waits on a client"). So while the
// drain falls behind (a drain stopped at its read budget with its FIFO not emptied, within the
// last `holdSeconds`) and brings output turn after turn, the connections of one listener share a
// credit of `share` times the bytes read (bounded by `maxCredit`). While the drain keeps up
// (however fast the output: two viewers of a 100 MiB/s flood the server can take get every
// line) nothing is limited. A connection the credit did not reach for `starvedAfter` seconds may
// write `starvedWrite` bytes anyway, so answers and skip notices always move (a trickle, not a
// per-turn cost: fifty connections writing a little every turn cost the drain as much as the
// credit did). What a client is not given stays in its bounded queue: once that is full it gets
// a skip notice and resyncs from the log, as any slow client does. A turn after one that drained
// nothing writes without limit: clients catch up at once.
//
// Loop thread only. A client's own IPCConnection has no budget.

public final class SocketWriteBudget {
    /// Bytes the connections together may write per byte read from the FIFOs.
    public let share: Int
    public let maxCredit: Int
    /// Seconds a fall behind keeps writes limited.
    public let holdSeconds: Double
    /// Seconds without a write after which a connection may write `starvedWrite` bytes.
    public let starvedAfter: Double
    public let starvedWrite: Int
    private unowned let loop: EventLoop
    private var credit = 0
    /// The loop turn of the last read that brought output.
    private var lastDrainTurn = -2
    private var behindUntil = -1.0

    public init(loop: EventLoop, share: Int = 2, maxCredit: Int = 8 << 20, holdSeconds: Double = 1,
                starvedAfter: Double = 0.05, starvedWrite: Int = 16 << 10) {
        self.loop = loop
        self.share = share
        self.maxCredit = maxCredit
        self.holdSeconds = holdSeconds
        self.starvedAfter = starvedAfter
        self.starvedWrite = starvedWrite
    }

    /// A read brought `bytes` of output in.
    public func drained(_ bytes: Int) {
        guard bytes > 0 else { return }
        if !isLimited { credit = 0 }
        lastDrainTurn = loop.wakeups
        credit = min(maxCredit, credit + bytes * share)
    }

    /// A drain stopped at its read budget: an agent writes faster than we read.
    public func fellBehind() {
        behindUntil = MonotonicClock.now() + holdSeconds
    }

    /// The drain fell behind lately and brought output this turn or the one before: writes are
    /// paced by it.
    public var isLimited: Bool {
        loop.wakeups - lastDrainTurn <= 1 && MonotonicClock.now() < behindUntil
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
