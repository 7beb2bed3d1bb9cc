// IPCSocket: the Unix-domain stream socket calls of the IPC layer, non-blocking and close-on-exec:
// listen, accept, connect, the peer's credentials (SO_PEERCRED on Linux, getpeereid elsewhere),
// and reads and writes that report EAGAIN instead of blocking and EPIPE instead of SIGPIPE.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum IPCSocket {
    enum IO: Equatable {
        case bytes(Int)
        case wouldBlock
        case closed
        case failed(Int32)
    }

    /// Fills a sockaddr_un for `path` (the caller checked its length) and runs `body` on it.
    private static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(capacity - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    static func makeSocket() throws(SystemError) -> Int32 {
        #if os(Linux)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw SystemError("socket") }
        configure(fd)
        return fd
    }

    static func configure(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    /// True when a server accepts connections on `path` now.
    static func isLive(_ path: String) -> Bool {
        guard let (fd, _) = try? connect(to: path) else { return false }
        close(fd)
        return true
    }

    /// Binds and listens on `path` with mode 0600. An existing socket file at `path` is replaced
    /// when nobody listens on it (a dead server's); a live one (EADDRINUSE) or anything that is
    /// not a socket (EEXIST) is refused.
    static func listen(at path: String, backlog: Int32 = 128) throws(SystemError) -> Int32 {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else { throw SystemError("bind", EEXIST, path: path) }
            guard !isLive(path) else { throw SystemError("bind", EADDRINUSE, path: path) }
            unlink(path)
        }
        let fd = try makeSocket()
        let bound = withAddress(path) { bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = SystemError("bind", path: path)
            close(fd)
            throw error
        }
        // The directory is 0700 already; the socket itself is 0600 too.
        guard chmod(path, 0o600) == 0, Glibc.listen(fd, backlog) == 0 else {
            let error = SystemError("listen", path: path)
            close(fd)
            unlink(path)
            throw error
        }
        return fd
    }

    /// The next pending connection, nil when none is waiting.
    static func accept(_ listener: Int32) -> Int32? {
        while true {
            // accept4 is not visible to Swift (a _GNU_SOURCE function); flags are set right after.
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 {
                configure(fd)
                // Output flows server → client: a larger send buffer lets one flush move more
                // and a client read more per wake-up (the kernel caps it at net.core.wmem_max).
                var size: Int32 = 1 << 20
                _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            switch errno {
            case EINTR: continue
            // A connection that went away before we took it: try the next one.
            case ECONNABORTED, EPROTO: continue
            default: return nil   // EAGAIN, or out of descriptors (EMFILE): the loop comes back
            }
        }
    }

    /// Starts connecting to `path`. Returns the socket, connected or still in progress.
    static func connect(to path: String) throws(SystemError) -> (fd: Int32, inProgress: Bool) {
        let fd = try makeSocket()
        while true {
            let result = withAddress(path) { Glibc.connect(fd, $0, $1) }
            if result == 0 { return (fd, false) }
            let code = errno
            if code == EINTR { continue }
            if code == EINPROGRESS || code == EAGAIN { return (fd, true) }
            close(fd)
            throw SystemError("connect", code, path: path)
        }
    }

    /// The pending error of a non-blocking connect (0: connected).
    static func pendingError(_ fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }

    /// The connected peer's uid and pid (pid 0 where the system does not say).
    static func peerCredentials(_ fd: Int32) -> (uid: uid_t, pid: Int32)? {
        #if os(Linux)
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
              length == socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size) else { return nil }
        return (uid_t(credentials.1), credentials.0)
        #else
        var uid: uid_t = 0, gid: gid_t = 0
        guard getpeereid(fd, &uid, &gid) == 0 else { return nil }
        return (uid, 0)
        #endif
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IO {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n > 0 { return .bytes(n) }
            if n == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case ECONNRESET: return .closed
            case let code: return .failed(code)
            }
        }
    }

    /// Gathers `vectors` into one sendmsg(2) (writev on a socket, without SIGPIPE).
    static func send(_ fd: Int32, vectors: UnsafeMutableBufferPointer<iovec>) -> IO {
        #if os(Linux)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        var header = msghdr()
        header.msg_iov = vectors.baseAddress
        header.msg_iovlen = numericCast(vectors.count)
        while true {
            let n = Glibc.sendmsg(fd, &header, flags)
            if n >= 0 { return .bytes(n) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            case EPIPE, ECONNRESET: return .closed
            case let code: return .failed(code)
            }
        }
    }
}
