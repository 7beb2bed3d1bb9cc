// OutputChannel: the out-FIFO, held open for reading for the whole attachment.
// It also holds a write end of its own, so a writer that opens, writes and closes per chunk (as
// the upstream agent does) never makes us see EOF, loses no byte between chunks and is never left
// blocked in its open(). A FIFO deleted and recreated (container restart) is noticed by its inode.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ReadOutcome: Equatable {
    case bytes(Int)
    case wouldBlock
    case endOfFile
    case failed(SystemError)
}

public final class OutputChannel {
    public let path: String
    public let policy: PipePolicy
    public private(set) var readFD: Int32 = -1
    private var keepAliveFD: Int32 = -1
    public private(set) var device: UInt64 = 0
    public private(set) var inode: UInt64 = 0
    /// Pipe capacity after trying to enlarge it (F_SETPIPE_SZ), 0 when unknown.
    public private(set) var pipeCapacity = 0

    public static let preferredPipeSize: Int32 = 1 << 20

    public init(path: String, policy: PipePolicy = .strict) {
        self.path = path
        self.policy = policy
    }

    deinit { close() }

    public var isOpen: Bool { readFD >= 0 }

    public func open() throws(PipeSafetyError) {
        close()
        let fd = try FifoSafety.open(path, flags: O_RDONLY, policy: policy)
        var st = stat()
        fstat(fd, &st)
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        readFD = fd
        // Our own writer: opening O_WRONLY|O_NONBLOCK succeeds now that a reader exists.
        keepAliveFD = (try? FifoSafety.open(path, flags: O_WRONLY, policy: policy)) ?? -1
        // Refused above /proc/sys/fs/pipe-max-size for unprivileged users: then the default stays.
        PipeSize.enlarge(fd, to: OutputChannel.preferredPipeSize)
        pipeCapacity = PipeSize.capacity(fd) ?? 0
    }

    /// Reads what is there now into `buffer`; never blocks.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadOutcome {
        guard readFD >= 0 else { return .failed(SystemError("read", EBADF, path: path)) }
        while true {
            let n = Glibc.read(readFD, buffer.baseAddress, buffer.count)
            if n > 0 { return .bytes(n) }
            if n == 0 { return .endOfFile }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            default: return .failed(SystemError("read", path: path))
            }
        }
    }

    /// True when the path no longer names the FIFO we have open (deleted, recreated, replaced).
    public func isStale() -> Bool {
        guard isOpen else { return false }
        switch FifoSafety.inspect(path) {
        case .fifo(_, _, let dev, let ino): return dev != device || ino != inode
        default: return true
        }
    }

    public func close() {
        if keepAliveFD >= 0 { Glibc.close(keepAliveFD); keepAliveFD = -1 }
        if readFD >= 0 { Glibc.close(readFD); readFD = -1 }
    }
}
