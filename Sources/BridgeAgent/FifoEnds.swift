// FifoEnds: the agent's two FIFO ends.
// InFifo holds the read end AND a dummy write end of the in-FIFO: with a writer always present
// the reader never sees EOF when a host closes after each prompt, and a host's
// open(O_WRONLY|O_NONBLOCK) succeeds whenever the agent is alive.
// OutFifo attaches to the out-FIFO only with open(O_WRONLY|O_NONBLOCK) (ENXIO = no reader yet)
// and writes without ever blocking; a vanished reader (EPIPE, POLLERR) detaches it again.

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

    deinit { close() }

    /// Reads what is available (at most `limit` bytes) and hands it to `body`. Never blocks.
    public func readAvailable(limit: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var total = 0
        while total < limit {
            let fd = readFD
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                total += n
                buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            break
        }
    }

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

/// `close(2)`, callable from types that have a `close()` method of their own.
func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}
