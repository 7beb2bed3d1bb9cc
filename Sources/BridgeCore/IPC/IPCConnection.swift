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
    /// Encoded frames (or their parts) waiting for the socket, as they were given: no copy, an
    /// event encoded once for many peers stays one buffer; written with sendmsg(2) many at a time.
    private var chunks: [[UInt8]] = []
    private var headIndex = 0
    private var headOffset = 0
    private(set) var queuedBytes = 0
    private(set) var isClosed = false
    private var closing = false
    private var closeTimer: EventLoop.TimerID?

    var pauseReadingAbove: Int
    /// A server's connections share one (see SocketWriteBudget); a client's has none.
    var writeBudget: SocketWriteBudget?
    /// When this connection last wrote under the budget (a new one counts as just written).
    private var lastWrite = MonotonicClock.now()
    /// Bytes read per loop turn before others get theirs.
    var readBudget = 256 << 10

    var onFrame: (IPCFrame) -> Void = { _ in }
    /// The stream is not frames (or ended inside one); the connection is closed after this.
    var onFrameError: (IPCFrameError) -> Void = { _ in }
    /// After a flush, with what is still queued.
    var onDrain: () -> Void = {}
    var onClose: () -> Void = {}

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

    /// While corked, frames wait in the queue and leave together (one sendmsg) at `uncork()`: the
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
        send(parts: [bytes])
    }

    /// One frame in parts (its head and its attachment, as encoded): queued as they are, no
    /// copy, and written together (one sendmsg per flush for up to `maxVectors` parts).
    func send(parts: [[UInt8]]) {
        guard !isClosed, !closing else { return }
        let idle = queuedBytes == 0 && !connecting && !isCorked && watchID != nil
        for part in parts where !part.isEmpty {
            chunks.append(part)
            queuedBytes += part.count
        }
        guard queuedBytes > 0 else { return }
        if idle {
            // An idle connection writes at once (a request's answer leaves without waiting for
            // the next poll turn); what the socket does not take stays queued. A failure is left
            // to the next poll turn, so no callback runs from inside send().
            if case .bytes(let written) = writeQueued() {
                advance(written)
                if queuedBytes == 0 {
                    chunks.removeAll(keepingCapacity: true)
                    headIndex = 0
                    headOffset = 0
                    return
                }
            }
        }
        updateInterest()
    }

    /// Parts per sendmsg(2).
    private static let maxVectors = 64

    /// One sendmsg(2) of the queued parts from the head on (at most `maxVectors`, and no more
    /// bytes than the write budget allows: with none left it is `.wouldBlock` without a call).
    private func writeQueued() -> IPCSocket.IO {
        var limit = Int.max
        if let writeBudget {
            limit = writeBudget.allowance(lastWrite: lastWrite)
            guard limit > 0 else { return .wouldBlock }
        }
        let end = min(chunks.count, headIndex + Self.maxVectors)
        var vectors: [iovec] = []
        vectors.reserveCapacity(end - headIndex)
        // Each part's storage is pinned by nesting its withUnsafeBytes around the call.
        func gather(_ index: Int, room: Int) -> IPCSocket.IO {
            guard index < end, room > 0 else { return vectors.withUnsafeMutableBufferPointer { IPCSocket.send(fd, vectors: $0) } }
            return chunks[index].withUnsafeBytes { raw in
                let start = index == headIndex ? headOffset : 0
                let length = min(raw.count - start, room)
                vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress! + start), iov_len: length))
                return gather(index + 1, room: room - length)
            }
        }
        let result = gather(headIndex, room: limit)
        if let writeBudget, case .bytes(let n) = result {
            writeBudget.spend(n)
            if limit != Int.max { lastWrite = MonotonicClock.now() }
        }
        return result
    }

    /// `n` queued bytes went out: parts fully written are let go at once.
    private func advance(_ n: Int) {
        var left = n
        queuedBytes -= n
        while left > 0 {
            let rest = chunks[headIndex].count - headOffset
            if left < rest {
                headOffset += left
                return
            }
            left -= rest
            chunks[headIndex] = []
            headIndex += 1
            headOffset = 0
        }
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
            switch writeQueued() {
            case .bytes(let n):
                advance(n)
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
            // A large attachment on its way is read straight into its own array.
            let direct = decoder.fillAttachment { space -> (result: IPCSocket.IO, filled: Int) in
                let result = IPCSocket.read(fd, into: space)
                if case .bytes(let n) = result { return (result, n) }
                return (result, 0)
            }
            let result = direct ?? IPCSocket.read(fd, into: buffer)
            switch result {
            case .bytes(let n):
                budget -= n
                if direct == nil { decoder.append(UnsafeRawBufferPointer(rebasing: buffer[..<n])) }
                drainFrames()
                // A short read emptied the socket: another read would only hear EAGAIN.
                if direct == nil && n < buffer.count { return }
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
