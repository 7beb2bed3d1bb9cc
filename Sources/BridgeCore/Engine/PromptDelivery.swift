// PromptDelivery: sends one instance's prompts in order through the event loop, never blocking it.
// ENXIO (no agent reading at this instant) is retried with a growing pause until the deadline;
// each prompt is written by a PromptTransfer on loop timers: whole while the agent makes progress,
// "not delivered" with nothing in the pipe, or torn and ended (docs/protocol.md, "Delivery").

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
    private var transfer: PromptTransfer?
    /// A torn prompt could not be ended (no room for its newline): the next one starts with it.
    private var owesNewline = false
    /// The current prompt is fully written and reported; only its write end is still held.
    private var currentReported = false
    /// While the write end is held: when the agent last took bytes, and how many were left then.
    private var held: (since: Double, unread: Int) = (0, 0)
    private var timer: EventLoop.TimerID?

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
        // A prompt already reported delivered (we only hold its write end) is not failed again;
        // one cut off mid-way is ended with a newline and reported torn, not "not delivered".
        var torn: (id: String, error: SendError)?
        if !currentReported, let state = current, let transfer, transfer.written > 0 {
            let ended = PromptTransfer.endLine(fd, syscalls: writer.syscalls)
            torn = (state.item.promptID, .cancelled(written: transfer.written, total: transfer.bytes.count, ended: ended))
        }
        let all = (currentReported || torn != nil ? [] : current.map { [$0.item] } ?? []) + queue
        reset()
        queue.removeAll()
        if let torn { completion(torn.id, torn.error) }
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
            let bytes = owesNewline ? [0x0A] + state.item.bytes : state.item.bytes
            transfer = PromptTransfer(bytes: bytes, stallTimeout: max(state.item.timeout, 1))
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
        guard let state = current, var step = transfer else { return }
        let result = step.pump(fd, syscalls: writer.syscalls)
        transfer = step
        switch result {
        case .wait(let seconds):
            timer = loop.schedule(after: seconds) { [weak self] in
                self?.timer = nil
                self?.pump()
            }
        case .reopen:
            // The reader we opened left before taking a byte (an agent that reopens per prompt,
            // caught between its EOF and its close). Nothing was delivered: close and open again.
            closeDescriptor()
            retryLater(state)
        case .failed(let error):
            if owesNewline && step.written > 0 { owesNewline = false }
            if case .tornUnended = error { owesNewline = true }
            finish(error)
        case .done:
            owesNewline = false
            // Delivered: the whole prompt is in the pipe. Report it now (the reply may follow at
            // once), but hold the write end until the agent has taken the bytes before the next one.
            currentReported = true
            // What is left unread is first asked by awaitRead (one FIONREAD, not two).
            held = (MonotonicClock.now(), Int.max)
            completion(state.item.promptID, nil)
            awaitRead(pause: PromptTransfer.minPause)
        }
    }

    /// Keeps our write end until the agent has taken the bytes (see PromptWriter.waitUntilRead:
    /// closing earlier could lose them when an upstream agent reopens its end), checking on
    /// short timers so the loop never blocks. Then the next prompt goes.
    private func awaitRead(pause: Double) {
        guard let state = current else { return }
        // Held until the agent took everything, or took nothing for the stall window.
        let unread = PipeSize.unread(fd)
        let now = MonotonicClock.now()
        if unread < held.unread { held = (now, unread) }
        let read = unread == 0
        if read || now >= held.since + max(state.item.timeout, 1) + 1 {
            reset()
            onReleased?(state.item.promptID, read)
            startNext()
            return
        }
        if let timer { loop.cancel(timer) }
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

    private func closeDescriptor() {
        if let timer { loop.cancel(timer) }
        timer = nil
        if fd >= 0 { _ = writer.syscalls.close(fd); fd = -1 }
        transfer = nil
    }

    private func reset() {
        closeDescriptor()
        current = nil
        currentReported = false
    }
}
