// ServerLock: one server per user and pipe directory. The server holds an exclusive `flock` on
// `<state>/server/server-<key>.lock` (key: the hash of the pipe directory's real path, as the
// reader locks use) for its whole life, and writes `<state>/server/server-<key>.pid`: its pid on
// the first line (what service managers read), then `socket=`, `started=` and `pipe_dir=` lines.
// The kernel drops the flock however the server ends, so after a `kill -9` the next start takes
// it and replaces the pid file the dead server left (saying so). A second start finds the lock
// held and names the running server's pid and socket. `probe` answers "does one run?" for
// `server status|stop` and for clients, with a shared lock taken and dropped at once; a server
// starting at that very moment retries its exclusive lock for a short while. `running(in:)` lists
// the servers of every pipe directory, for "none runs for this one, but one runs for that one".

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a server's files are for one pipe directory.
public struct ServerPaths: Equatable, Sendable {
    public let stateDirectory: String
    public let pipeDirectory: String
    public let key: String
    public let socketPath: String

    public init(pipeDirectory: String, stateDirectory: String, socketPath: String) {
        self.stateDirectory = stateDirectory
        self.pipeDirectory = pipeDirectory
        key = ReaderLock.key(of: pipeDirectory)
        self.socketPath = socketPath
    }

    public var directory: String { stateDirectory + "/server" }
    public var lockPath: String { file("lock") }
    public var pidPath: String { file("pid") }
    public var logPath: String { file("log") }
    public func file(_ suffix: String) -> String { directory + "/server-" + key + "." + suffix }
}

/// What the pid file of a running (or dead) server says.
public struct ServerRecord: Equatable, Sendable {
    public var pid: Int32
    public var socket: String?
    public var started: Double?
    public var pipeDirectory: String?

    public var text: String {
        var lines = ["\(pid)"]
        if let socket { lines.append("socket=\(socket)") }
        if let started { lines.append("started=\(started)") }
        if let pipeDirectory { lines.append("pipe_dir=\(pipeDirectory)") }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func parse(_ text: String) -> ServerRecord? {
        let lines = text.split(separator: "\n").map(String.init)
        guard let first = lines.first, let pid = Int32(first.trimmingCharacters(in: .whitespaces)), pid > 0 else { return nil }
        var record = ServerRecord(pid: pid)
        for line in lines.dropFirst() {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let value = String(line[line.index(after: equals)...])
            switch line[..<equals] {
            case "socket": record.socket = value
            case "started": record.started = Double(value)
            case "pipe_dir": record.pipeDirectory = value
            default: break
            }
        }
        return record
    }

    public static func read(_ path: String) -> ServerRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return parse(String(decoding: data.prefix(4096), as: UTF8.self))
    }
}

public enum ServerLockError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A server already runs for this pipe directory.
    case running(ServerRecord?, pipeDirectory: String, lockPath: String)
    case system(SystemError)

    public var description: String {
        switch self {
        case .running(let record, let directory, let lock):
            guard let record else { return "a server already runs for \(directory) (it holds \(lock))" }
            return "a server already runs for \(directory): pid \(record.pid), socket \(record.socket ?? "unknown")"
        case .system(let error): return "cannot lock the server's lock file: \(error)"
        }
    }
}

public final class ServerLock {
    public let paths: ServerPaths
    private var fd: Int32
    /// What was done about a pid file left behind, for the log ("replaced a stale pid file ...").
    public private(set) var staleNotice: String?

    private init(paths: ServerPaths, fd: Int32) {
        self.paths = paths
        self.fd = fd
    }

    deinit { release() }

    /// Takes the lock and writes the pid file, or throws `.running` naming the running server.
    public static func acquire(_ paths: ServerPaths, retryFor seconds: Double = 0.5) throws(ServerLockError) -> ServerLock {
        do {
            try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .system(SystemError("mkdir", EACCES, path: paths.directory))
        }
        let fd = open(paths.lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 { throw .system(SystemError("open", errno, path: paths.lockPath)) }
        let deadline = Date().addingTimeInterval(seconds)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            // A `probe` holds a shared lock for a moment: try again until the deadline.
            if code == EWOULDBLOCK && Date() < deadline {
                usleep(20_000)
                continue
            }
            close(fd)
            if code == EWOULDBLOCK {
                throw .running(ServerRecord.read(paths.pidPath), pipeDirectory: paths.pipeDirectory, lockPath: paths.lockPath)
            }
            throw .system(SystemError("flock", code, path: paths.lockPath))
        }
        let lock = ServerLock(paths: paths, fd: fd)
        if let old = ServerRecord.read(paths.pidPath), old.pid != getpid() {
            let state = kill(old.pid, 0) == 0 || errno == EPERM ? "does not hold the lock" : "is gone"
            lock.staleNotice = "replaced the stale pid file \(paths.pidPath) (process \(old.pid) \(state))"
        }
        return lock
    }

    /// Writes the pid file (atomically: a temporary file renamed over it).
    public func writePidFile(_ record: ServerRecord) throws(ServerLockError) {
        let temporary = paths.pidPath + ".\(getpid()).tmp"
        do {
            try Data(record.text.utf8).write(to: URL(fileURLWithPath: temporary))
            chmod(temporary, 0o600)
        } catch {
            throw .system(SystemError("write", EIO, path: temporary))
        }
        guard rename(temporary, paths.pidPath) == 0 else {
            let error = SystemError("rename", errno, path: paths.pidPath)
            unlink(temporary)
            throw .system(error)
        }
    }

    /// Removes the pid file (when it is still ours) and lets go of the lock.
    public func release() {
        guard fd >= 0 else { return }
        if ServerRecord.read(paths.pidPath)?.pid == getpid() { unlink(paths.pidPath) }
        close(fd)
        fd = -1
    }

    /// Whether a server holds the lock for these paths, and what its pid file says.
    public static func probe(_ paths: ServerPaths) -> (running: Bool, record: ServerRecord?) {
        probe(lockPath: paths.lockPath, pidPath: paths.pidPath)
    }

    private static func probe(lockPath: String, pidPath: String) -> (running: Bool, record: ServerRecord?) {
        let fd = open(lockPath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 { return (false, nil) }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return (false, ServerRecord.read(pidPath))
        }
        return (true, ServerRecord.read(pidPath))
    }

    /// A server found running by `running(in:)`: its key (the hash of its pipe directory's real
    /// path, as `ServerPaths.key`), its lock file, and its pid file's record (nil while it starts,
    /// or when the file is gone).
    public struct Running: Equatable, Sendable {
        public let key: String
        public let lockPath: String
        public let record: ServerRecord?
    }

    /// Every server of this user running now, whatever its pipe directory: each lock held in
    /// `directory` (`ServerPaths.directory`), with what its pid file says, sorted by pipe
    /// directory. For "none runs for this pipe directory, but one runs for that one": compare
    /// keys, not the recorded `pipe_dir` text (a relative path or a symlink names the same
    /// directory differently).
    public static func running(in directory: String) -> [Running] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("server-") && $0.hasSuffix(".lock") }.compactMap { name -> Running? in
            let stem = String(name.dropLast(".lock".count))
            let base = directory + "/" + stem
            let probe = probe(lockPath: base + ".lock", pidPath: base + ".pid")
            guard probe.running else { return nil }
            return Running(key: String(stem.dropFirst("server-".count)), lockPath: base + ".lock", record: probe.record)
        }.sorted { ($0.record?.pipeDirectory ?? "") < ($1.record?.pipeDirectory ?? "") }
    }
}
