// PromptTransfer: one prompt on its way into an in-FIFO, written so that it arrives whole or is
// ended visibly (docs/protocol.md, "Delivery"). The synchronous `send` (PromptWriter) and the
// event-loop delivery (PromptDelivery) both drive it: `pump` never blocks; it writes what it may
// and says how long to pause before the next call.
//
// - The timeout measures stalls, not total time: the transfer gives up only after `stallTimeout`
//   seconds in which no byte went in and the agent took none out (the pipe's unread count did not
//   drop). A slow reader gets a large prompt whole, however long it takes.
// - The pipe is never filled to the brim. Linux holds a pipe's bytes in page-sized slots
//   (capacity / page of them) and a write takes at least one fresh slot; a chunk goes in only while
//   one slot stays free. So when the agent stops reading mid-way, the newline that ends the torn
//   part always fits at once, and no later prompt can glue onto it. A prompt of at most
//   PIPE_BUF bytes is the exception: one write puts it in whole or not at all, so it is never torn.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct PromptTransfer {
    enum Step: Equatable {
        /// Every byte is in the pipe.
        case done
        /// Call `pump` again after this many seconds.
        case wait(Double)
        /// The reader left before the first byte went in (EPIPE): nothing of the prompt is in
        /// the pipe; open it again.
        case reopen
        case failed(SendError)
    }

    static let minPause = 0.0005
    static let maxPause = 0.02

    let bytes: [UInt8]
    let stallTimeout: Double
    private(set) var written = 0
    private var lastProgress: Double
    private var lastUnread = -1
    private var pause = PromptTransfer.minPause
    private var capacity: Int??

    init(bytes: [UInt8], stallTimeout: Double, now: Double = MonotonicClock.now()) {
        self.bytes = bytes
        self.stallTimeout = stallTimeout
        lastProgress = now
    }

    mutating func pump(_ fd: Int32, syscalls: Syscalls) -> Step {
        if written == 0 && bytes.count <= PipeSize.atomicWrite, let step = writeWhole(fd, syscalls: syscalls) { return step }
        while written < bytes.count {
            let room = allowance(fd)
            if room > 0 {
                let count = min(room, bytes.count - written)
                let n = bytes.withUnsafeBytes { syscalls.write(fd, $0.baseAddress! + written, count) }
                if n > 0 {
                    written += n
                    progressed(MonotonicClock.now())
                    continue
                }
                let code = n < 0 ? errno : EAGAIN
                switch code {
                case EINTR: continue
                case EAGAIN: break
                case EPIPE: return written == 0 ? .reopen : .failed(.brokenPipe)
                default: return .failed(.system(SystemError("write", code)))
                }
            }
            let now = MonotonicClock.now()
            let unread = PipeSize.unread(fd)
            if lastUnread >= 0 && unread < lastUnread { progressed(now) }
            lastUnread = unread
            let left = lastProgress + stallTimeout - now
            if left <= 0 { return .failed(stalled(fd, syscalls: syscalls)) }
            let wait = min(pause, left)
            pause = min(pause * 2, PromptTransfer.maxPause)
            return .wait(wait)
        }
        return .done
    }

    /// A prompt of at most PIPE_BUF bytes goes into a pipe whole or not at all (POSIX), so it
    /// can never be torn and needs no slot kept for a newline: one write(2), without first
    /// asking the pipe's capacity and fill (two system calls per prompt). Nil when the pipe has
    /// no room for it now: the careful path below takes over (it waits for the agent to read).
    private mutating func writeWhole(_ fd: Int32, syscalls: Syscalls) -> Step? {
        while true {
            let n = bytes.withUnsafeBytes { syscalls.write(fd, $0.baseAddress!, $0.count) }
            if n == bytes.count {
                written = n
                progressed(MonotonicClock.now())
                return .done
            }
            if n > 0 {
                // Not what a pipe does with a write this small; count it and go on carefully.
                written = n
                progressed(MonotonicClock.now())
                return nil
            }
            let code = n < 0 ? errno : EAGAIN
            switch code {
            case EINTR: continue
            case EAGAIN: return nil
            case EPIPE: return .reopen
            default: return .failed(.system(SystemError("write", code)))
            }
        }
    }

    private mutating func progressed(_ now: Double) {
        lastProgress = now
        lastUnread = -1
        pause = PromptTransfer.minPause
    }

    /// Bytes that may go in now without taking the slot kept for a terminating newline.
    /// Unknown capacity (not Linux) or a tiny pipe: no holding back.
    private mutating func allowance(_ fd: Int32) -> Int {
        if capacity == nil { capacity = .some(PipeSize.capacity(fd)) }
        let page = PipeSize.page
        guard let known = capacity ?? nil, known / page >= 4 else { return bytes.count - written }
        let unread = PipeSize.unread(fd)
        // Slots in use: the unread bytes' pages, plus one for a partly read first page.
        let used = (unread + page - 1) / page + 1
        let free = known / page - 1 - used
        return free > 0 ? free * page : 0
    }

    /// The agent took nothing for the whole stall window. With nothing written the prompt is simply
    /// not delivered; with part of it in the pipe that part is ended with a newline.
    private func stalled(_ fd: Int32, syscalls: Syscalls) -> SendError {
        guard written > 0 else { return .timedOut(written: 0, total: bytes.count) }
        if PromptTransfer.endLine(fd, syscalls: syscalls) { return .timedOut(written: written, total: bytes.count) }
        return .tornUnended(written: written, total: bytes.count)
    }

    /// Writes the newline that ends a torn prompt; false when the pipe has no room for it.
    static func endLine(_ fd: Int32, syscalls: Syscalls) -> Bool {
        var newline: UInt8 = 0x0A
        while true {
            let n = syscalls.write(fd, &newline, 1)
            if n == 1 { return true }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }
}
