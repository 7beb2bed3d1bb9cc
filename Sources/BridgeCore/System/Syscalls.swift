// Syscalls: the one thin layer through which BridgeCore's pipe code calls the kernel.
// Tests swap single calls to force EAGAIN, EINTR, EPIPE or ENXIO on cue, where a real FIFO
// cannot be made to misbehave at the right instant. Real FIFOs stay the main test subject.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct Syscalls: Sendable {
    public var open: @Sendable (_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32
    public var read: @Sendable (_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int
    public var write: @Sendable (_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int
    public var poll: @Sendable (_ fds: UnsafeMutablePointer<pollfd>?, _ count: nfds_t, _ timeoutMs: Int32) -> Int32
    public var close: @Sendable (_ fd: Int32) -> Int32

    public static let live = Syscalls(
        open: { path, flags, mode in
            #if canImport(Glibc)
            Glibc.open(path, flags, mode)
            #else
            Darwin.open(path, flags, mode)
            #endif
        },
        read: { fd, buffer, count in
            #if canImport(Glibc)
            Glibc.read(fd, buffer, count)
            #else
            Darwin.read(fd, buffer, count)
            #endif
        },
        write: { fd, buffer, count in
            #if canImport(Glibc)
            Glibc.write(fd, buffer, count)
            #else
            Darwin.write(fd, buffer, count)
            #endif
        },
        poll: { fds, count, timeout in
            #if canImport(Glibc)
            Glibc.poll(fds, count, timeout)
            #else
            Darwin.poll(fds, count, timeout)
            #endif
        },
        close: { fd in
            #if canImport(Glibc)
            Glibc.close(fd)
            #else
            Darwin.close(fd)
            #endif
        }
    )
}

/// A failed system call, with errno and the path it concerned.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public var call: String
    public var code: Int32
    public var path: String?

    public init(_ call: String, _ code: Int32 = errno, path: String? = nil) {
        self.call = call
        self.code = code
        self.path = path
    }

    public var description: String {
        let reason = String(cString: strerror(code))
        if let path { return "\(call) \(path): \(reason)" }
        return "\(call): \(reason)"
    }
}

/// Monotonic seconds, for deadlines and intervals (never the wall clock).
public enum MonotonicClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// SIGPIPE must never kill us: a vanished reader is reported as EPIPE instead.
/// Once per process: every FIFO opened for writing asks for it (FifoSafety.open), and a
/// signal(2) per prompt on the way to the agent was a system call for nothing.
public enum SignalSetup {
    public static func ignoreSIGPIPE() {
        _ = ignored
    }

    private static let ignored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}
