// EventLoop: one poll(2)-driven loop for any number of descriptors, timers and a wake-up pipe.
// No busy polling and no sleep loops: while nothing is due the thread sleeps in poll().
// Everything but `post` must be called on the loop's own thread.
// Cheap per turn with many descriptors: the pollfd array is kept between turns (a watch added,
// changed or removed edits its slot; nothing is rebuilt), and repeating timers fire on multiples
// of their interval on the monotonic clock, so timers of one interval share a wake-up.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public struct PollEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }
    public static let readable = PollEvents(rawValue: Int16(POLLIN))
    public static let writable = PollEvents(rawValue: Int16(POLLOUT))
    public static let hangup = PollEvents(rawValue: Int16(POLLHUP))
    public static let error = PollEvents(rawValue: Int16(POLLERR))
    public static let invalid = PollEvents(rawValue: Int16(POLLNVAL))
}

public final class EventLoop: @unchecked Sendable {
    public typealias WatchID = Int
    public typealias TimerID = Int

    private struct Timer {
        var due: Double
        var interval: Double?
        var handler: () -> Void
    }

    /// Each watch's handler; its descriptor and events live in its poll slot only.
    private var watches: [WatchID: (PollEvents) -> Void] = [:]
    /// What poll(2) gets: the wake-up pipe first, then one slot per watch (`slots[id]`), whose
    /// ids `slotIDs` holds in the same order (less the first).
    private var pollFDs: [pollfd] = []
    private var slotIDs: [WatchID] = []
    private var slots: [WatchID: Int] = [:]
    private var timers: [TimerID: Timer] = [:]
    private var nextID = 1
    private var running = false
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let postedLock = NSLock()
    private var posted: [@Sendable () -> Void] = []
    /// Number of poll(2) returns, for tests and benchmarks that check the loop stays asleep.
    public private(set) var wakeups = 0

    public init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SystemError("pipe") }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        pollFDs = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    @discardableResult
    public func watch(_ fd: Int32, for events: PollEvents, _ handler: @escaping (PollEvents) -> Void) -> WatchID {
        let id = makeID()
        watches[id] = handler
        slots[id] = pollFDs.count
        pollFDs.append(pollfd(fd: fd, events: events.rawValue, revents: 0))
        slotIDs.append(id)
        return id
    }

    /// Changes what a watch waits for (for example adding `.writable` while output is pending).
    public func update(_ id: WatchID, events: PollEvents) {
        guard let slot = slots[id] else { return }
        pollFDs[slot].events = events.rawValue
    }

    public func unwatch(_ id: WatchID) {
        guard watches.removeValue(forKey: id) != nil, let slot = slots.removeValue(forKey: id) else { return }
        // The last slot moves into the freed one.
        let last = pollFDs.count - 1
        if slot != last {
            pollFDs[slot] = pollFDs[last]
            let moved = slotIDs[last - 1]
            slotIDs[slot - 1] = moved
            slots[moved] = slot
        }
        pollFDs.removeLast()
        slotIDs.removeLast()
    }

    /// Descriptors watched now (tests).
    public var watchCount: Int { watches.count }

    @discardableResult
    public func schedule(after delay: Double, repeating interval: Double? = nil, _ handler: @escaping () -> Void) -> TimerID {
        let id = makeID()
        timers[id] = Timer(due: MonotonicClock.now() + max(0, delay), interval: interval, handler: handler)
        return id
    }

    public func cancel(_ id: TimerID) {
        timers[id] = nil
    }

    /// Thread-safe: runs `work` on the loop thread at its next turn, waking it if asleep.
    public func post(_ work: @escaping @Sendable () -> Void) {
        postedLock.lock()
        posted.append(work)
        postedLock.unlock()
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// Runs until `stop()`.
    public func run() {
        running = true
        while running { runOnce(timeout: nil) }
    }

    public func stop() {
        running = false
    }

    /// One turn: waits for descriptors or the next timer (at most `timeout` seconds when given),
    /// then runs what is due.
    public func runOnce(timeout: Double? = nil) {
        var wait = timeout
        if let due = nextDue() {
            let untilDue = max(0, due - MonotonicClock.now())
            wait = min(wait ?? untilDue, untilDue)
        }
        let timeoutMs: Int32 = wait.map { Int32(min(ceil($0 * 1000), Double(Int32.max))) } ?? -1
        let ready = poll(&pollFDs, nfds_t(pollFDs.count), timeoutMs)
        wakeups += 1
        if ready > 0 {
            // What this poll saw, as it saw it: a handler may add, change or remove watches (its
            // own or others'), which edits `pollFDs` (then copied once) but not these.
            let seen = pollFDs
            let ids = slotIDs
            var left = Int(ready)
            if seen[0].revents != 0 {
                left -= 1
                drainWakePipe()
            }
            var index = 1
            while left > 0 && index < seen.count {
                let revents = seen[index].revents
                if revents != 0 {
                    left -= 1
                    // A handler may have removed this or another watch.
                    if let handler = watches[ids[index - 1]] { handler(PollEvents(rawValue: revents)) }
                }
                index += 1
            }
        }
        runPosted()
        runDueTimers()
    }

    /// The earliest timer's due time, if any.
    private func nextDue() -> Double? {
        var earliest: Double?
        for timer in timers.values where earliest.map({ timer.due < $0 }) ?? true { earliest = timer.due }
        return earliest
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }

    private func runPosted() {
        postedLock.lock()
        let work = posted
        posted.removeAll()
        postedLock.unlock()
        for item in work { item() }
    }

    private func runDueTimers() {
        let now = MonotonicClock.now()
        guard let first = nextDue(), first <= now else { return }
        let due = timers.filter { $0.value.due <= now }.sorted { $0.value.due < $1.value.due }
        for (id, timer) in due {
            guard timers[id] != nil else { continue }
            if let interval = timer.interval {
                timers[id]?.due = Self.nextRepeat(after: timer.due, interval: interval, now: now)
            } else {
                timers[id] = nil
            }
            timer.handler()
        }
    }

    /// A repeating timer's next due time: one interval on, moved to the nearest multiple of the
    /// interval (so every timer of that interval fires in the same wake-up from its second round
    /// on, never more than half an interval off its own beat), and not before `now` (a late turn
    /// does not fire it again at once for each round it missed).
    static func nextRepeat(after due: Double, interval: Double, now: Double) -> Double {
        guard interval > 0 else { return max(now, due) }
        let beat = ((due + interval) / interval).rounded() * interval
        return beat >= now ? beat : (now / interval).rounded(.up) * interval
    }

    private func makeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }
}
