// SocketWriteBudget: how much a server's client sockets may take while output is flooding in, so
// the copies into many sockets never crowd out the FIFO drain that feeds them.
//
// One loop thread does both: it reads the out-FIFOs and copies every event into each subscribed
// client's socket. With fifty clients that keep up, the copies are fifty times the drain and the
// agent waits on a full pipe (issue 13: "the FIFO drain never waits on a client"). So while the
// drain brings output in turn after turn, the connections of one listener share a credit of
// `share` times the bytes drained (bounded by `maxCredit`); each connection may always write
// `minimumPerTurn` bytes a loop turn (answers and skip notices are never starved). What a client
// is not given stays in its bounded queue: once that is full it gets a skip notice and resyncs
// from the log, as any slow client does. A turn after one that drained nothing writes without
// limit: with no flood there is nothing to protect, and clients catch up at once.
//
// Loop thread only. A client's own IPCConnection has no budget.

public final class SocketWriteBudget {
    /// Bytes the connections together may write per byte drained.
    public let share: Int
    /// Bytes any one connection may write in a loop turn whatever the credit.
    public let minimumPerTurn: Int
    public let maxCredit: Int
    private unowned let loop: EventLoop
    private var credit = 0
    /// The loop turn of the last drain that brought output.
    private var lastDrainTurn = -2

    public init(loop: EventLoop, share: Int = 2, minimumPerTurn: Int = 4 << 10, maxCredit: Int = 8 << 20) {
        self.loop = loop
        self.share = share
        self.minimumPerTurn = minimumPerTurn
        self.maxCredit = maxCredit
    }

    /// A drain brought `bytes` of output in.
    public func drained(_ bytes: Int) {
        guard bytes > 0 else { return }
        if !isLimited { credit = 0 }
        lastDrainTurn = loop.wakeups
        credit = min(maxCredit, credit + bytes * share)
    }

    /// Output came in this turn or the one before: writes are paced by the drain.
    public var isLimited: Bool { loop.wakeups - lastDrainTurn <= 1 }

    /// What a connection that wrote `spent` bytes in this turn (`turn`) may write now.
    func allowance(spent: Int, turn: Int) -> Int {
        guard isLimited else { return Int.max }
        let own = turn == loop.wakeups ? max(0, minimumPerTurn - spent) : minimumPerTurn
        return max(credit, own)
    }

    func spend(_ bytes: Int) {
        credit = max(0, credit - bytes)
    }

    /// The loop turn now (a connection keeps its own spending per turn).
    var turn: Int { loop.wakeups }
}
