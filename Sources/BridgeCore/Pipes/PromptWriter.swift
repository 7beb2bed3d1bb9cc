// PromptWriter: delivers bytes to an instance's in-FIFO without ever blocking a thread.
// open(O_WRONLY|O_NONBLOCK) fails with ENXIO while no agent reads; the upstream agent reopens its
// end after every prompt, so ENXIO is retried for a while before "agent not listening". The bytes
// go in through a PromptTransfer; SendError and SendOutcome name every way a send can end
// (docs/protocol.md, "Delivery").

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum SendError: Error, Equatable, CustomStringConvertible, Sendable {
    /// No agent had the in-FIFO open during the whole wait. Nothing was written.
    case agentNotListening(waited: Double)
    /// The agent took nothing from the pipe for the whole stall window. `written == 0`: nothing of
    /// the prompt is in the pipe (not delivered). `written > 0`: the prompt is torn, and the part
    /// in the pipe was ended with a newline, so no later prompt glues onto it.
    case timedOut(written: Int, total: Int)
    /// Torn, and the pipe had no room even for the newline that ends it.
    case tornUnended(written: Int, total: Int)
    /// The sender was stopped (Ctrl-C) before the prompt was in. `written > 0`: torn, and the
    /// part in the pipe was ended with a newline when `ended`.
    case cancelled(written: Int, total: Int, ended: Bool)
    /// The reader went away mid-write (EPIPE); what went in is discarded with the pipe.
    case brokenPipe
    case unsafe(PipeSafetyError)
    case system(SystemError)

    /// Part of the prompt is in the pipe (the agent will see a cut prompt).
    public var isTorn: Bool {
        switch self {
        case .timedOut(let written, _), .tornUnended(let written, _), .cancelled(let written, _, _): written > 0
        default: false
        }
    }

    public var description: String {
        switch self {
        case .agentNotListening(let waited):
            "agent not listening (no reader on the in-FIFO for \(String(format: "%.1f", waited)) s); not delivered"
        case .timedOut(let written, let total) where written == 0:
            "agent stopped reading: its in-FIFO stayed full, so nothing of the \(total)-byte prompt was written; not delivered"
        case .timedOut(let written, let total):
            "agent stopped reading mid-prompt: torn after \(written) of \(total) bytes; the part written was ended "
                + "with a newline, so the agent will get a cut prompt and the next one stays separate"
        case .tornUnended(let written, let total):
            "agent stopped reading mid-prompt: torn after \(written) of \(total) bytes, and the pipe was too full "
                + "to end the line; the next prompt will be joined to the cut one"
        case .cancelled(let written, _, _) where written == 0: "cancelled before any byte was written; not delivered"
        case .cancelled(let written, let total, let ended):
            "cancelled mid-prompt: torn after \(written) of \(total) bytes; "
                + (ended ? "the part written was ended with a newline, so the next prompt stays separate"
                         : "the pipe was too full to end the line; the next prompt will be joined to the cut one")
        case .brokenPipe: "the agent closed the pipe while the prompt was being written (EPIPE); not delivered"
        case .unsafe(let error): error.description
        case .system(let error): error.description
        }
    }
}

/// How a prompt that went into the pipe whole ended up.
public enum SendOutcome: Equatable, Sendable {
    /// The agent took every byte from the pipe.
    case read
    /// Every byte is in the in-FIFO, but the agent has not taken them yet (it holds the pipe open
    /// without reading). It gets the prompt when it reads; sending it again would run it twice.
    case writtenNotRead
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

    /// Writes all of `bytes` as one prompt (PromptTransfer): gives up once the agent took nothing
    /// for `deadline - now` seconds (a stall, not a total time); a torn prompt is ended with a
    /// newline. EPIPE is reported, never a signal.
    public func writeAll(_ fd: Int32, _ bytes: [UInt8], deadline: Double) -> Result<Void, SendError> {
        var transfer = PromptTransfer(bytes: bytes, stallTimeout: max(0, deadline - MonotonicClock.now()))
        while true {
            switch transfer.pump(fd, syscalls: syscalls) {
            case .done: return .success(())
            case .wait(let seconds): PromptWriter.sleep(seconds)
            case .reopen: return .failure(.brokenPipe)
            case .failed(let error): return .failure(error)
            }
        }
    }

    /// Waits until the agent has taken every byte from the pipe; false when it took none for
    /// `stallTimeout` seconds (it holds the pipe open without reading).
    ///
    /// Why we keep the write end open until then: a FIFO's buffer lives as long as any end is
    /// open. The upstream agent closes and reopens its read end at every EOF; bytes written in the
    /// instant between its EOF and its close would be discarded with its close if we had closed
    /// ours too. Held open, they wait for its reopen.
    public func waitUntilRead(_ fd: Int32, stallTimeout: Double, stop: () -> Bool = { false }) -> Bool {
        var pause = PromptTransfer.minPause
        var last = PipeSize.unread(fd)
        var lastProgress = MonotonicClock.now()
        while last > 0 {
            let now = MonotonicClock.now()
            if now - lastProgress >= stallTimeout || stop() { return false }
            PromptWriter.sleep(min(pause, lastProgress + stallTimeout - now))
            let unread = PipeSize.unread(fd)
            if unread < last {
                lastProgress = MonotonicClock.now()
                pause = PromptTransfer.minPause
            } else {
                pause = min(pause * 2, PromptTransfer.maxPause)
            }
            last = unread
        }
        return true
    }

    /// Synchronous send for command-line use: retries ENXIO with a short back-off for `listen`
    /// seconds (default: `timeout`), then writes the prompt, giving up only after `timeout`
    /// seconds without progress (at least 0.5 s), and waits as long again for the agent to take
    /// it. Sleeps between attempts; never sits in a blocking open() or write(). `stop` is asked at
    /// every pause (a Ctrl-C): a prompt stopped mid-way is ended with a newline and reported torn.
    public func send(_ bytes: [UInt8], to path: String, timeout: Double, listen: Double? = nil,
                     stop: () -> Bool = { false }) -> Result<SendOutcome, SendError> {
        let start = MonotonicClock.now()
        let deadline = start + (listen ?? timeout)
        let stall = max(timeout, 0.5)
        var backoff = 0.001
        opening: while true {
            switch tryOpen(path) {
            case .opened(let fd):
                defer { _ = syscalls.close(fd) }
                var transfer = PromptTransfer(bytes: bytes, stallTimeout: stall)
                writing: while true {
                    switch transfer.pump(fd, syscalls: syscalls) {
                    case .done: break writing
                    case .wait(let seconds):
                        if stop() {
                            let ended = transfer.written > 0 && PromptTransfer.endLine(fd, syscalls: syscalls)
                            return .failure(.cancelled(written: transfer.written, total: bytes.count, ended: ended))
                        }
                        PromptWriter.sleep(seconds)
                    case .reopen:
                        // A reader that reopens per prompt (the upstream agent) closed between our
                        // open and our write: nothing was sent, so open again.
                        if MonotonicClock.now() < deadline { continue opening }
                        return .failure(.brokenPipe)
                    case .failed(let error): return .failure(error)
                    }
                }
                return .success(waitUntilRead(fd, stallTimeout: stall, stop: stop) ? .read : .writtenNotRead)
            case .failed(let error):
                return .failure(error)
            case .notListening:
                let now = MonotonicClock.now()
                if now >= deadline { return .failure(.agentNotListening(waited: now - start)) }
                if stop() { return .failure(.cancelled(written: 0, total: bytes.count, ended: false)) }
                PromptWriter.sleep(min(backoff, deadline - now))
                backoff = min(backoff * 2, 0.05)
            }
        }
    }

    static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        nanosleep(&ts, nil)
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
