// InstanceLock: one agent per instance name. `flock(2)` on `<pipe-dir>/<name>.lock` (a regular
// file of our own, opened O_NOFOLLOW and close-on-exec so no child inherits it): the kernel drops
// the lock when its holder dies, so it cannot go stale after a crash. The holder writes its pid
// into the file so a second agent can say who holds it. After locking, the file at the path must
// still be the one locked (a holder unlinks it on exit), otherwise the lock is taken again.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore

public final class InstanceLock {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// Another live process holds the lock; its pid when it could be read.
        case held(path: String, pid: Int32?)
        case unsafe(path: String, reason: String)
        /// No lock can be taken there: a read-only or not writable pipe directory (FIFOs made by
        /// someone else still work), a file system without locks (some network file systems).
        case unsupported(SystemError)
        case system(SystemError)

        public var description: String {
            switch self {
            case .held(let path, let pid?):
                "another agent (pid \(pid)) already serves this name; it holds \(path)"
            case .held(let path, nil):
                "another agent already serves this name; it holds \(path)"
            case .unsafe(let path, let reason): "lock file \(path): \(reason); refusing to use it"
            case .unsupported(let error): "lock file: \(error)"
            case .system(let error): "lock file: \(error)"
            }
        }
    }

    public let path: String
    private var fd: Int32 = -1

    public static func path(for name: InstanceName, in directory: String) -> String {
        AgentLockProbe.path(for: name.rawValue, in: directory)
    }

    /// Takes the lock or throws; never waits for it.
    public init(path: String) throws(Failure) {
        self.path = path
        try acquire()
    }

    deinit { release(removing: false) }

    /// True while the file at `path` is still the one we locked (not unlinked or replaced).
    public var isCurrent: Bool { isSameFile(fd, path) }

    /// Takes the lock again on the file now at `path` (after the directory or file was replaced).
    public func reacquire() throws(Failure) {
        release(removing: false)
        try acquire()
    }

    /// Unlocks; with `removing`, unlinks the file first while still holding the lock (a waiter
    /// that locked the old inode sees it is no longer current and retries on a fresh file).
    public func release(removing: Bool) {
        guard fd >= 0 else { return }
        if removing, isCurrent { _ = unlink(path) }
        closeDescriptor(fd)
        fd = -1
    }

    private func acquire() throws(Failure) {
        for _ in 0..<8 {
            let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
            if fd < 0 {
                let code = errno
                if code == ELOOP || code == EMLINK { throw .unsafe(path: path, reason: "it is a symlink") }
                if code == EACCES || code == EROFS || code == EPERM {
                    throw .unsupported(SystemError("open", code, path: path))
                }
                throw .system(SystemError("open", code, path: path))
            }
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                let error = SystemError("fstat", path: path)
                closeDescriptor(fd)
                throw .system(error)
            }
            if UInt32(st.st_mode) & UInt32(S_IFMT) != UInt32(S_IFREG) {
                closeDescriptor(fd)
                throw .unsafe(path: path, reason: "it is a \(PathKind.describe(mode: UInt32(st.st_mode))), not a regular file")
            }
            if st.st_uid != geteuid() {
                closeDescriptor(fd)
                throw .unsafe(path: path, reason: "it is owned by uid \(st.st_uid)")
            }
            var rc: Int32
            repeat { rc = flock(fd, LOCK_EX | LOCK_NB) } while rc != 0 && errno == EINTR
            if rc != 0 {
                let code = errno
                if code == EWOULDBLOCK {
                    let holder = InstanceLock.readPid(fd)
                    closeDescriptor(fd)
                    throw .held(path: path, pid: holder)
                }
                closeDescriptor(fd)
                if code == ENOLCK || code == EOPNOTSUPP || code == ENOSYS {
                    throw .unsupported(SystemError("flock", code, path: path))
                }
                throw .system(SystemError("flock", code, path: path))
            }
            self.fd = fd
            if !isCurrent {
                // The holder unlinked it between our open and our flock: try the new file.
                closeDescriptor(fd)
                self.fd = -1
                continue
            }
            let text = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            return
        }
        throw .system(SystemError("flock", EAGAIN, path: path))
    }

    /// The pid the holder wrote; it writes right after locking, so wait briefly for it.
    private static func readPid(_ fd: Int32) -> Int32? {
        for _ in 0..<20 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            if n > 0, let pid = Int32(String(decoding: buffer[..<n], as: UTF8.self).prefix { $0.isNumber }), pid > 0 {
                return pid
            }
            _ = poll(nil, 0, 5)
        }
        return nil
    }
}
