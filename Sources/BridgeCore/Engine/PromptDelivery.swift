// PromptDelivery: sends one instance's prompts in order through the event loop, never blocking it.
// ENXIO (no agent reading at this instant) is retried with a growing pause until the deadline;
// a full pipe waits for POLLOUT in the loop, not in a blocking write.

#if canImport(Glibc)
import Glibc
#endif

final class PromptDelivery {
    struct Item {
        var promptID: String
        var bytes: [UInt8]
        var timeout: Double
    }

    private let path: String
    private let loop: EventLoop
    private let writer: PromptWriter
    private let completion: (String, SendError?) -> Void
    private var queue: [Item] = []
    private var current: (item: Item, started: Double, backoff: Double)?
    private var fd: Int32 = -1
    private var written = 0
    /// The current prompt is fully written and reported; only its write end is still held.
    private var currentReported = false
    private var timer: EventLoop.TimerID?
    private var watch: EventLoop.WatchID?

    init(path: String, loop: EventLoop, writer: PromptWriter, completion: @escaping (String, SendError?) -> Void) {
        self.path = path
        self.loop = loop
        self.writer = writer
        self.completion = completion
    }

    var pendingCount: Int { queue.count + (current == nil ? 0 : 1) }

    /// Told when the write end of a delivered prompt is let go: `read` false when the agent had
    /// not taken all of it by then (a one-shot sender reports that; see OneShotSend).
    var onReleased: ((_ promptID: String, _ read: Bool) -> Void)?

    func enqueue(_ item: Item) {
        queue.append(item)
        if current == nil { startNext() } else { poke() }
    }

    /// The agent showed a sign of life (output, a new prompt to send): if we only hold the write
    /// end of a delivered prompt, check now whether it was read instead of at the next timer.
    func poke() {
        guard currentReported else { return }
        awaitRead(pause: 0.0005)
    }

    func cancelAll(reason: SendError) {
        // A prompt already reported delivered (we only hold its write end) is not failed again.
        let all = (currentReported ? [] : current.map { [$0.item] } ?? []) + queue
        reset()
        queue.removeAll()
        for item in all { completion(item.promptID, reason) }
    }

    private func startNext() {
        guard current == nil, !queue.isEmpty else { return }
        current = (queue.removeFirst(), MonotonicClock.now(), 0.001)
        attempt()
    }

    private func attempt() {
        guard let state = current else { return }
        switch writer.tryOpen(path) {
        case .opened(let descriptor):
            fd = descriptor
            written = 0
            pump()
        case .failed(let error):
            finish(error)
        case .notListening:
            retryLater(state)
        }
    }

    /// No reader right now: try to open again after a growing pause, until the deadline.
    private func retryLater(_ state: (item: Item, started: Double, backoff: Double)) {
        let now = MonotonicClock.now()
        let deadline = state.started + state.item.timeout
        if now >= deadline {
            finish(.agentNotListening(waited: now - state.started))
            return
        }
        let pause = min(state.backoff, deadline - now)
        current?.backoff = min(state.backoff * 2, 0.05)
        timer = loop.schedule(after: pause) { [weak self] in
            self?.timer = nil
            self?.attempt()
        }
    }

    private func pump() {
        guard let state = current else { return }
        let bytes = state.item.bytes
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { writer.syscalls.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n > 0 { written += n; continue }
            let code = n < 0 ? errno : EAGAIN
            if code == EINTR { continue }
            if code == EAGAIN {
                if MonotonicClock.now() >= state.started + max(state.item.timeout, 1) {
                    finish(.timedOut(written: written, total: bytes.count))
                    return
                }
                if watch == nil {
                    watch = loop.watch(fd, for: .writable) { [weak self] _ in self?.pump() }
                    // Wake up at the deadline even if the agent never drains the pipe.
                    timer = loop.schedule(after: max(state.item.timeout, 1)) { [weak self] in
                        self?.timer = nil
                        self?.pump()
                    }
                }
                return
            }
            if code == EPIPE && written == 0 {
                // The reader we opened left before taking a byte (an agent that reopens per
                // prompt, caught between its EOF and its close). Nothing was delivered: close and
                // open again, as for ENXIO.
                if let watch { loop.unwatch(watch) }
                if let timer { loop.cancel(timer) }
                watch = nil
                timer = nil
                _ = writer.syscalls.close(fd)
                fd = -1
                retryLater(state)
                return
            }
            finish(code == EPIPE ? .brokenPipe : .system(SystemError("write", code, path: path)))
            return
        }
        // Delivered: the whole prompt is in the pipe. Report it now (the reply may follow at
        // once), but hold the write end until the agent has taken the bytes before the next one.
        currentReported = true
        completion(state.item.promptID, nil)
        awaitRead(pause: 0.0005)
    }

    /// Keeps our write end until the agent has taken the bytes (see PromptWriter.waitUntilRead:
    /// closing earlier could lose them when an upstream agent reopens its end), checking on
    /// short timers so the loop never blocks. Then the next prompt goes.
    private func awaitRead(pause: Double) {
        guard let state = current else { return }
        let read = PromptWriter.unreadBytes(fd) == 0
        if read || MonotonicClock.now() >= state.started + max(state.item.timeout, 1) + 1 {
            reset()
            onReleased?(state.item.promptID, read)
            startNext()
            return
        }
        if let watch { loop.unwatch(watch) }
        if let timer { loop.cancel(timer) }
        watch = nil
        timer = loop.schedule(after: pause) { [weak self] in
            self?.timer = nil
            self?.awaitRead(pause: min(pause * 2, 0.02))
        }
    }

    private func finish(_ error: SendError?) {
        guard let state = current else { return }
        reset()
        completion(state.item.promptID, error)
        startNext()
    }

    private func reset() {
        if let watch { loop.unwatch(watch) }
        if let timer { loop.cancel(timer) }
        watch = nil
        timer = nil
        if fd >= 0 { _ = writer.syscalls.close(fd); fd = -1 }
        current = nil
        currentReported = false
    }
}
