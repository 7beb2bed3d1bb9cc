// EventLoop: one poll(2)-driven loop for any number of descriptors, timers and a wake-up pipe.
// No busy polling and no sleep loops: while nothing is due the thread sleeps in poll().
// Everything but `post` must be called on the loop's own thread.

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

    private struct Watch {
        var fd: Int32
        var events: PollEvents
        var handler: (PollEvents) -> Void
    }

    private struct Timer {
        var due: Double
        var interval: Double?
        var handler: () -> Void
    }

    private var watches: [WatchID: Watch] = [:]
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
        watches[id] = Watch(fd: fd, events: events, handler: handler)
        return id
    }

    /// Changes what a watch waits for (for example adding `.writable` while output is pending).
    public func update(_ id: WatchID, events: PollEvents) {
        watches[id]?.events = events
    }

    public func unwatch(_ id: WatchID) {
        watches[id] = nil
    }

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
        if let due = timers.values.map(\.due).min() {
            let untilDue = max(0, due - MonotonicClock.now())
            wait = min(wait ?? untilDue, untilDue)
        }
        let ids = Array(watches.keys)
        var pollFDs = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        for id in ids {
            let watch = watches[id]!
            pollFDs.append(pollfd(fd: watch.fd, events: watch.events.rawValue, revents: 0))
        }
        let timeoutMs: Int32 = wait.map { Int32(min(ceil($0 * 1000), Double(Int32.max))) } ?? -1
        let ready = poll(&pollFDs, nfds_t(pollFDs.count), timeoutMs)
        wakeups += 1
        if ready > 0 {
            if pollFDs[0].revents != 0 { drainWakePipe() }
            for (index, id) in ids.enumerated() where pollFDs[index + 1].revents != 0 {
                // A handler may have removed this or another watch.
                guard let watch = watches[id] else { continue }
                watch.handler(PollEvents(rawValue: pollFDs[index + 1].revents))
            }
        }
        runPosted()
        runDueTimers()
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
        let due = timers.filter { $0.value.due <= now }.sorted { $0.value.due < $1.value.due }
        for (id, timer) in due {
            guard timers[id] != nil else { continue }
            if let interval = timer.interval {
                timers[id]?.due = max(now, timer.due + interval)
            } else {
                timers[id] = nil
            }
            timer.handler()
        }
    }

    private func makeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }
}
