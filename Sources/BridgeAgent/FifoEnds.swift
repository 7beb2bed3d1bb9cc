// FifoEnds: the agent's two FIFO ends.
// InFifo holds the read end AND a dummy write end of the in-FIFO: with a writer always present
// the reader never sees EOF when a host closes after each prompt, and a host's
// open(O_WRONLY|O_NONBLOCK) succeeds whenever the agent is alive.
// OutFifo attaches to the out-FIFO only with open(O_WRONLY|O_NONBLOCK) (ENXIO = no reader yet)
// and writes without ever blocking; a vanished reader (EPIPE, POLLERR) detaches it again.
// Both can tell whether the file at their path is still the one they opened (`isCurrent`): a FIFO
// deleted or replaced under an agent would otherwise leave it deaf, or talking to nobody.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore

public final class InFifo {
    public let path: String
    public private(set) var readFD: Int32 = -1
    private var dummyWriteFD: Int32 = -1

    public init(path: String, policy: PipePolicy) throws(PipeSafetyError) {
        self.path = path
        readFD = try FifoSafety.open(path, flags: O_RDONLY, policy: policy)
        do {
            dummyWriteFD = try FifoSafety.open(path, flags: O_WRONLY, policy: policy)
        } catch {
            closeDescriptor(readFD)
            readFD = -1
            throw error
        }
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// False once the in-FIFO was deleted, replaced or renamed away since it was opened.
    public var isCurrent: Bool { isSameFile(readFD, path) }

    /// Reads what is available (at most `limit` bytes) and hands it to `body`. Never blocks.
    /// Stops at a short read (the pipe is empty: another read would only hear EAGAIN; poll says
    /// when more comes), so a prompt costs one read(2) on its way to the reply.
    public func readAvailable(limit: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) -> Void) {
        var total = 0
        while total < limit {
            let n = read(readFD, buffer.baseAddress, buffer.count)
            if n > 0 {
                total += n
                body(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
                if n < buffer.count { break }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            break
        }
    }

    /// Allocated once (not 64 KiB zeroed per prompt).
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

    public func close() {
        if readFD >= 0 { closeDescriptor(readFD); readFD = -1 }
        if dummyWriteFD >= 0 { closeDescriptor(dummyWriteFD); dummyWriteFD = -1 }
    }
}

public final class OutFifo {
    public enum AttachResult: Equatable {
        case attached
        case noReader
        case failed(PipeSafetyError)
    }

    public enum WriteResult: Equatable {
        case drained
        case wouldBlock
        case readerGone
    }

    public let path: String
    let policy: PipePolicy
    let syscalls: Syscalls
    public private(set) var fd: Int32 = -1

    public init(path: String, policy: PipePolicy, syscalls: Syscalls = .live) {
        self.path = path
        self.policy = policy
        self.syscalls = syscalls
    }

    deinit { detach() }

    public var isAttached: Bool { fd >= 0 }

    /// False while attached to a FIFO that is no longer the one at `path`.
    public var isCurrent: Bool { fd < 0 || isSameFile(fd, path) }

    public func tryAttach() -> AttachResult {
        guard fd < 0 else { return .attached }
        do {
            fd = try FifoSafety.open(path, flags: O_WRONLY, policy: policy, syscalls: syscalls)
            return .attached
        } catch {
            if case .system(let e) = error, e.code == ENXIO { return .noReader }
            return .failed(error)
        }
    }

    public func detach() {
        if fd >= 0 { _ = syscalls.close(fd); fd = -1 }
    }

    /// Writes queued frames until the queue is empty or the pipe is full. Never blocks.
    public func write(from queue: inout OutputQueue) -> WriteResult {
        guard fd >= 0 else { return .readerGone }
        while !queue.isEmpty {
            let fd = self.fd
            let syscalls = self.syscalls
            let n = queue.withHeadBytes { bytes in syscalls.write(fd, bytes.baseAddress, bytes.count) } ?? 0
            if n > 0 {
                queue.consume(n)
                continue
            }
            if n < 0 {
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK: return .wouldBlock
                default: return .readerGone
                }
            }
            return .wouldBlock
        }
        return .drained
    }
}

/// Whether `fd` is the file now at `path` (not following a symlink there).
func isSameFile(_ fd: Int32, _ path: String) -> Bool {
    var opened = stat(), current = stat()
    guard fd >= 0, fstat(fd, &opened) == 0, lstat(path, &current) == 0 else { return false }
    return opened.st_dev == current.st_dev && opened.st_ino == current.st_ino
}

/// `close(2)`, callable from types that have a `close()` method of their own.
func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
