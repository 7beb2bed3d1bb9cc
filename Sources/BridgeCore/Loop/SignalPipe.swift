// SignalPipe: turns asynchronous signals into readable bytes for the event loop (the self-pipe
// trick). The handler only calls write(2), which is async-signal-safe.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum SignalPipe {
    nonisolated(unsafe) private static var writeFD: Int32 = -1
    nonisolated(unsafe) private static var readFD: Int32 = -1

    /// The read end (non-blocking); each byte read is a signal number.
    public static func open() -> Int32 {
        if readFD >= 0 { return readFD }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return -1 }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
        return readFD
    }

    /// Routes `signals` to the pipe instead of their default action, and unblocks them (a parent
    /// may have started us with them blocked: the mask survives exec). Returns the read end.
    @discardableResult
    public static func route(_ signals: [Int32]) -> Int32 {
        let fd = open()
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in signals {
            signal(sig) { sig in
                let saved = errno
                var byte = UInt8(truncatingIfNeeded: sig)
                _ = write(SignalPipe.writeFD, &byte, 1)
                errno = saved
            }
            sigaddset(&unblock, sig)
        }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        return fd
    }

    /// The signals that arrived since the last call, each at most once, in arrival order.
    public static func drain() -> [Int32] {
        var result: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = read(readFD, &buffer, buffer.count)
            if n <= 0 { break }
            for byte in buffer[0..<n] where !result.contains(Int32(byte)) { result.append(Int32(byte)) }
        }
        return result
    }
}
