// ReaderLock: one reader per out-FIFO. Two processes reading one FIFO split its stream between
// them (each sees fragments) and would both append to the instance's history file, so whoever
// reads an instance's out-FIFO (the TUI, `attach`, `tail`) first takes this lock: an exclusive
// `flock` on `<state>/history/<instance>.<pipe-dir key>.reader.lock`, next to the history file,
// holding the holder's pid. The key is a hash of the pipe directory's real path, so the same name
// in two pipe directories is two instances, not a conflict. The kernel drops a flock when its holder exits, however it exits, so a crash
// never leaves the lock stale; the pid inside is only there to name the holder.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ReaderLockError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Another process reads this instance's out-FIFO (its pid, when it wrote one).
    case held(instance: String, pid: Int32?, path: String)
    case system(SystemError)

    public var description: String {
        switch self {
        case .held(let instance, let pid, let path):
            let holder = pid.map { "process \($0)" } ?? "another process"
            return "\(instance) is already read by \(holder) (another cc-bridge-tui, attach or tail; lock \(path)); "
                + "two readers would split its output between them"
        case .system(let error): return "cannot lock the reader of the out-FIFO: \(error)"
        }
    }
}

public final class ReaderLock {
    public let instance: String
    public let path: String
    private var fd: Int32

    private init(instance: String, path: String, fd: Int32) {
        self.instance = instance
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    public static func lockPath(instance: InstanceName, pipeDirectory: String, stateDirectory: String) -> String {
        stateDirectory + "/history/" + instance.rawValue + "." + key(of: pipeDirectory) + ".reader.lock"
    }

    /// The pipe directory's real path (as given when it has none: it does not exist).
    public static func realPath(of pipeDirectory: String) -> String {
        realpath(pipeDirectory, nil).map { pointer in
            defer { free(pointer) }
            return String(cString: pointer)
        } ?? pipeDirectory
    }

    /// 16 hex digits of FNV-1a over the pipe directory's real path (as given when it has none).
    static func key(of pipeDirectory: String) -> String {
        let canonical = realPath(of: pipeDirectory)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in canonical.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Takes the lock for `instance` of `pipeDirectory`, or throws `.held` naming the process
    /// that has it.
    public static func acquire(instance: InstanceName, pipeDirectory: String,
                               stateDirectory: String) throws(ReaderLockError) -> ReaderLock {
        let path = lockPath(instance: instance, pipeDirectory: pipeDirectory, stateDirectory: stateDirectory)
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .system(SystemError("mkdir", EACCES, path: directory))
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 { throw .system(SystemError("open", errno, path: path)) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            defer { close(fd) }
            if code == EWOULDBLOCK { throw .held(instance: instance.rawValue, pid: holder(fd), path: path) }
            throw .system(SystemError("flock", code, path: path))
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        return ReaderLock(instance: instance.rawValue, path: path, fd: fd)
    }

    /// Lets go of the lock (also done when the process ends, however it ends).
    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        close(fd)
        fd = -1
    }

    /// The pid the holder wrote (nil while it has not written it yet, or nonsense).
    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
