// PromptWriter: delivers bytes to an instance's in-FIFO without ever blocking a thread.
// open(O_WRONLY|O_NONBLOCK) fails with ENXIO while no agent reads; the upstream agent reopens its
// end after every prompt, so ENXIO is retried for a while before "agent not listening".

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum SendError: Error, Equatable, CustomStringConvertible, Sendable {
    /// No agent had the in-FIFO open during the whole wait.
    case agentNotListening(waited: Double)
    /// The agent stopped reading while we wrote (pipe full until the deadline).
    case timedOut(written: Int, total: Int)
    /// The reader went away mid-write (EPIPE).
    case brokenPipe
    /// Written, but the reader went away without taking it (it is lost with the pipe).
    case notRead
    case unsafe(PipeSafetyError)
    case system(SystemError)

    public var description: String {
        switch self {
        case .agentNotListening(let waited):
            "agent not listening (no reader on the in-FIFO for \(String(format: "%.1f", waited)) s)"
        case .timedOut(let written, let total): "agent stopped reading: wrote \(written) of \(total) bytes before the timeout"
        case .brokenPipe: "the agent closed the pipe while the prompt was being written (EPIPE)"
        case .notRead: "the prompt was written but the agent did not read it (it stopped reading)"
        case .unsafe(let error): error.description
        case .system(let error): error.description
        }
    }
}

/// The outcome of one non-blocking attempt to open the in-FIFO for writing.
public enum OpenAttempt: Equatable {
    case opened(Int32)
    case notListening
    case failed(SendError)
}

public struct PromptWriter: Sendable {
    public var syscalls: Syscalls
    public var policy: PipePolicy

    public init(policy: PipePolicy = .strict, syscalls: Syscalls = .live) {
        self.policy = policy
        self.syscalls = syscalls
        // A reader that goes away mid-write must be EPIPE, not a silent death of the whole
        // process; do not rely on every host program having ignored SIGPIPE first.
        SignalSetup.ignoreSIGPIPE()
    }

    /// Interrupt = the single byte 0x03, as cc-bridge does.
    public static let interruptByte: [UInt8] = [0x03]

    /// One non-blocking open attempt.
    public func tryOpen(_ path: String) -> OpenAttempt {
        do {
            let fd = try FifoSafety.open(path, flags: O_WRONLY, policy: policy, syscalls: syscalls)
            return .opened(fd)
        } catch {
            if case .system(let sys) = error, sys.code == ENXIO { return .notListening }
            return .failed(.unsafe(error))
        }
    }

    /// Writes all of `bytes`, waiting in poll(POLLOUT) on EAGAIN until `deadline` (monotonic).
    /// Completes partial writes; EPIPE is reported, never a signal.
    public func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: Double) -> Result<Void, SendError> {
        var written = 0
        return writeAll(fd, bytes, deadline: deadline, written: &written)
    }

    /// `writeAll`, telling in `offset` how many bytes went into the pipe.
    func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: Double, written offset: inout Int) -> Result<Void, SendError> {
        offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                syscalls.write(fd, buffer.baseAddress! + offset, bytes.count - offset)
            }
            if n > 0 { offset += n; continue }
            let code = n < 0 ? errno : EAGAIN
            switch code {
            case EINTR: continue
            case EAGAIN:
                let remaining = deadline - MonotonicClock.now()
                if remaining <= 0 { return .failure(.timedOut(written: offset, total: bytes.count)) }
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = syscalls.poll(&pfd, 1, Int32(min(remaining * 1000 + 1, 1000)))
                if ready > 0 && pfd.revents & Int16(POLLERR) != 0 { return .failure(.brokenPipe) }
            case EPIPE: return .failure(.brokenPipe)
            default: return .failure(.system(SystemError("write", code)))
            }
        }
        return .success(())
    }

    /// Bytes written to the FIFO that no reader has taken yet (FIONREAD works on the write end).
    public static func unreadBytes(_ fd: Int32) -> Int {
        var count: Int32 = 0
        return ioctl(fd, UInt(FIONREAD), &count) == 0 ? Int(count) : 0
    }

    /// Why we keep the write end open until the agent has read the prompt: a FIFO's buffer lives
    /// as long as any end is open. The upstream agent closes and reopens its read end at every
    /// EOF; bytes written in the instant between its EOF and its close would be discarded with
    /// its close if we had closed ours too. Held open, they wait for its reopen.
    public func waitUntilRead(_ fd: Int32, deadline: Double) -> Bool {
        var pause = 0.0005
        while PromptWriter.unreadBytes(fd) > 0 {
            let now = MonotonicClock.now()
            if now >= deadline { return false }
            let step = min(pause, deadline - now)
            var ts = timespec(tv_sec: 0, tv_nsec: Int(step * 1e9))
            nanosleep(&ts, nil)
            pause = min(pause * 2, 0.02)
        }
        return true
    }

    /// Synchronous send for command-line use: retries ENXIO with a short back-off until `timeout`,
    /// then writes everything. Sleeps between attempts; never sits in a blocking open().
    public func send(_ bytes: [UInt8], to path: String, timeout: Double) -> Result<Void, SendError> {
        let start = MonotonicClock.now()
        let deadline = start + timeout
        var backoff = 0.001
        while true {
            switch tryOpen(path) {
            case .opened(let fd):
                defer { _ = syscalls.close(fd) }
                let writeDeadline = max(deadline, MonotonicClock.now() + 0.5)
                var progress = 0
                let written = writeAll(fd, bytes, deadline: writeDeadline, written: &progress)
                if case .failure(.brokenPipe) = written, progress == 0, MonotonicClock.now() < deadline {
                    // A reader that reopens per prompt (the upstream agent) closed between our open
                    // and our write: nothing was sent, so open again.
                    continue
                }
                if case .success = written, !waitUntilRead(fd, deadline: writeDeadline + 1) {
                    return .failure(.notRead)
                }
                return written
            case .failed(let error):
                return .failure(error)
            case .notListening:
                let now = MonotonicClock.now()
                if now >= deadline { return .failure(.agentNotListening(waited: now - start)) }
                let pause = min(backoff, deadline - now)
                var ts = timespec(tv_sec: Int(pause), tv_nsec: Int((pause - Double(Int(pause))) * 1e9))
                nanosleep(&ts, nil)
                backoff = min(backoff * 2, 0.05)
            }
        }
    }

    /// Is an agent reading the in-FIFO at this instant? (An open without a write.)
    public func isListening(_ path: String) -> Bool {
        if case .opened(let fd) = tryOpen(path) {
            _ = syscalls.close(fd)
            return true
        }
        return false
    }
}
