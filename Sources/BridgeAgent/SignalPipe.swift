// SignalPipe: the self-pipe trick. A signal handler may only do async-signal-safe work, so it
// writes the signal number as one byte into a non-blocking pipe whose read end sits in the poll
// set; the loop wakes up and handles the signal as an ordinary event.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore

/// The write end the handler uses. Set once before any handler is installed, read only by it.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

private func forwardSignal(_ signal: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(signalPipeWriteEnd, &byte, 1)
    errno = saved
}

public final class SignalPipe {
    public let readEnd: Int32
    private let writeEnd: Int32

    /// Installs handlers for `signals`; only one SignalPipe may exist per process.
    public init(signals: [Int32]) throws(SystemError) {
        let (r, w) = try makePipe()
        readEnd = r
        writeEnd = w
        signalPipeWriteEnd = w
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in signals {
            signal(sig, forwardSignal)
            sigaddset(&unblock, sig)
        }
        // A parent may have started us with these blocked (the mask survives exec): unblock them.
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// The signals that arrived since the last call (each at most once, in arrival order).
    public func drain() -> [Int32] {
        var seen: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = read(readEnd, &buffer, buffer.count)
            if n <= 0 { break }
            for byte in buffer[..<n] where !seen.contains(Int32(byte)) { seen.append(Int32(byte)) }
        }
        return seen
    }
}

/// A pipe with both ends close-on-exec and non-blocking.
func makePipe(nonBlockingRead: Bool = true, nonBlockingWrite: Bool = true) throws(SystemError) -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { throw SystemError("pipe") }
    for (fd, nonBlocking) in [(fds[0], nonBlockingRead), (fds[1], nonBlockingWrite)] {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }
    return (fds[0], fds[1])
}
