// HistoryLock: makes one process the only writer of a history file. It is `flock(2)` on a lock
// file beside the history (`<history>.lock`), taken without waiting; the kernel drops it when the
// holder's descriptor closes, so a crashed TUI never leaves a stale lock. The holder writes its
// pid into the file so a refused writer can say who holds it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public final class HistoryLock {
    public let path: String
    private var fd: Int32

    public enum Outcome {
        case acquired(HistoryLock)
        /// Another process (pid, when it wrote one) holds it.
        case held(pid: Int32?)
        /// The lock file itself cannot be used (not a regular file, another user's, ...).
        case unusable(HistoryFileProblem)
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    public static func lockPath(for historyPath: String) -> String { historyPath + ".lock" }

    /// Tries once; never waits.
    public static func acquire(for historyPath: String, syscalls: Syscalls = .live) -> Outcome {
        let path = lockPath(for: historyPath)
        let fd: Int32
        switch HistoryFile.open(path, O_RDWR | O_CREAT, syscalls: syscalls) {
        case .success(let opened): fd = opened
        case .failure(let problem): return .unusable(problem)
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            defer { _ = syscalls.close(fd) }
            if code == EWOULDBLOCK { return .held(pid: holder(fd)) }
            return .unusable(.unusable(SystemError("flock", code, path: path)))
        }
        let lock = HistoryLock(path: path, fd: fd)
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return .acquired(lock)
    }

    public func release() {
        if fd >= 0 { _ = close(fd) }
        fd = -1
    }

    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
