// IPCConnection: one connected socket on the EventLoop, for both ends (a listener's peer and a
// client): reads frames as they arrive (a bounded amount per loop turn), and writes a queue of
// encoded frames when the socket takes them, never blocking. The queue's size is the caller's to
// bound (`queuedBytes`); while it is above `pauseReadingAbove` nothing more is read, so a peer
// that sends requests but never reads the answers cannot make us buffer without end. A frame sent
// while nothing is queued is written at once; the rest goes out as the socket becomes writable.
// Callbacks run on the loop thread; after `onClose` none runs again.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class IPCConnection {
    let fd: Int32
    private unowned let loop: EventLoop
    private var watchID: EventLoop.WatchID?
    private var decoder: IPCFrameDecoder
    /// Encoded frames waiting for the socket; small ones are packed into one chunk.
    private var chunks: [[UInt8]] = []
    private var headIndex = 0
    private var headOffset = 0
    private(set) var queuedBytes = 0
    private(set) var isClosed = false
    private var closing = false
    private var closeTimer: EventLoop.TimerID?

    var pauseReadingAbove: Int
    /// Bytes read per loop turn before others get theirs.
    var readBudget = 256 << 10

    var onFrame: (IPCFrame) -> Void = { _ in }
    /// The stream is not frames (or ended inside one); the connection is closed after this.
    var onFrameError: (IPCFrameError) -> Void = { _ in }
    /// After a flush, with what is still queued.
    var onDrain: () -> Void = {}
    var onClose: () -> Void = {}

    private static let chunkPackLimit = 64 << 10
    private static let readSize = 64 << 10
    /// Allocated once per connection (not 64 KiB zeroed per loop turn); bytes go on into the
    /// frame decoder before the next read.
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 16)

    init(fd: Int32, loop: EventLoop, maxFrameBytes: Int, pauseReadingAbove: Int) {
        self.fd = fd
        self.loop = loop
        self.decoder = IPCFrameDecoder(maxFrameBytes: maxFrameBytes)
        self.pauseReadingAbove = pauseReadingAbove
    }

    deinit {
        if !isClosed { Glibc.close(fd) }
        readBuffer.deallocate()
    }

    /// Starts watching the socket (call once the callbacks are set).
    func start(connecting: Bool = false) {
        watchID = loop.watch(fd, for: connecting ? .writable : .readable) { [weak self] events in
            self?.handle(events)
        }
    }

    var onConnected: ((Int32) -> Void)?
    private var connecting = false

    /// For a non-blocking connect still in progress: `onConnected(errno)` when it finishes.
    func startConnecting(_ done: @escaping (Int32) -> Void) {
        connecting = true
        onConnected = done
        start(connecting: true)
    }

    /// While corked, frames wait in the queue (packed) and leave together at `uncork()`: the
    /// events of one loop turn wake the peer once, not once each. A cork never holds bytes past
    /// the next poll turn (they wait with write interest, as any queued bytes do).
    private(set) var isCorked = false

    func cork() { isCorked = true }

    /// Writes what the cork held, now.
    func uncork() {
        guard isCorked else { return }
        isCorked = false
        if queuedBytes > 0 && !connecting && !isClosed { flush() }
    }

    func send(_ bytes: [UInt8]) {
        guard !isClosed, !closing else { return }
        if queuedBytes == 0 && !connecting && !isCorked && watchID != nil {
            // An idle connection writes at once (a request's answer leaves without waiting for
            // the next poll turn); what the socket does not take is queued. A failure is left to
            // the next poll turn, so no callback runs from inside send().
            if case .bytes(let written) = bytes.withUnsafeBytes({ IPCSocket.send(fd, $0) }) {
                if written == bytes.count { return }
                // The rest waits in the frame itself (no copy: an event encoded once for many
                // peers stays one buffer), the written part skipped by the head offset.
                chunks.removeAll(keepingCapacity: true)
                chunks.append(bytes)
                headIndex = 0
                headOffset = written
                queuedBytes = bytes.count - written
                updateInterest()
                return
            }
        }
        enqueue(bytes)
    }

    private func enqueue(_ bytes: [UInt8]) {
        // Appending to the chunk being written is fine: only its start has gone out.
        if chunks.count > headIndex, let last = chunks.last, last.count + bytes.count <= Self.chunkPackLimit {
            chunks[chunks.count - 1].append(contentsOf: bytes)
        } else {
            chunks.append(bytes)
        }
        queuedBytes += bytes.count
        updateInterest()
    }

    /// Stops reading, sends what is queued (at most `grace` seconds), then closes.
    func closeAfterFlush(grace: Double) {
        guard !isClosed, !closing else { return }
        closing = true
        if queuedBytes == 0 { close(); return }
        updateInterest()
        closeTimer = loop.schedule(after: grace) { [weak self] in self?.close() }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        if let watchID { loop.unwatch(watchID) }
        if let closeTimer { loop.cancel(closeTimer) }
        watchID = nil
        chunks = []
        queuedBytes = 0
        Glibc.close(fd)
        onClose()
        onFrame = { _ in }
        onFrameError = { _ in }
        onDrain = {}
        onClose = {}
        onConnected = nil
    }

    private func updateInterest() {
        guard let watchID, !isClosed, !connecting else { return }
        var events: PollEvents = []
        if !closing && queuedBytes <= pauseReadingAbove { events.insert(.readable) }
        if queuedBytes > 0 { events.insert(.writable) }
        loop.update(watchID, events: events)
    }

    private func handle(_ events: PollEvents) {
        if connecting {
            connecting = false
            let code = IPCSocket.pendingError(fd)
            let done = onConnected
            onConnected = nil
            updateInterest()
            done?(code)
            return
        }
        if events.contains(.writable) || (closing && queuedBytes > 0) { flush() }
        guard !isClosed else { return }
        if events.contains(.invalid) { close(); return }
        if !closing && (events.contains(.readable) || events.contains(.hangup) || events.contains(.error)) {
            readAvailable()
        } else if closing && (events.contains(.hangup) || events.contains(.error)) {
            close()
        }
    }

    private func flush() {
        while headIndex < chunks.count {
            let result = chunks[headIndex].withUnsafeBytes { raw in
                IPCSocket.send(fd, UnsafeRawBufferPointer(rebasing: raw[headOffset...]))
            }
            switch result {
            case .bytes(let n):
                headOffset += n
                queuedBytes -= n
                if headOffset == chunks[headIndex].count {
                    headIndex += 1
                    headOffset = 0
                }
            case .wouldBlock:
                compact()
                updateInterest()
                onDrain()
                return
            case .closed, .failed:
                close()
                return
            }
        }
        chunks.removeAll(keepingCapacity: true)
        headIndex = 0
        headOffset = 0
        if closing { close(); return }
        updateInterest()
        onDrain()
    }

    private func compact() {
        if headIndex > 16 && headIndex * 2 > chunks.count {
            chunks.removeFirst(headIndex)
            headIndex = 0
        }
    }

    private func readAvailable() {
        var budget = readBudget
        let buffer = readBuffer
        while budget > 0 && !isClosed && !closing {
            let result = IPCSocket.read(fd, into: buffer)
            switch result {
            case .bytes(let n):
                budget -= n
                decoder.append(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
                drainFrames()
            case .wouldBlock:
                return
            case .closed, .failed:
                // A frame cut off by the end of the stream is reported (an error frame may still
                // reach a peer that only shut down its writing side).
                do throws(IPCFrameError) {
                    try decoder.finish()
                } catch {
                    onFrameError(error)
                }
                if !closing { close() }
                return
            }
        }
    }

    private func drainFrames() {
        while !isClosed && !closing {
            do throws(IPCFrameError) {
                guard let frame = try decoder.next() else { return }
                onFrame(frame)
            } catch {
                onFrameError(error)
                return
            }
        }
    }
}
