// HistoryFile: the one way history files (the history, its compaction temp file, its lock) are
// opened. Every open is non-blocking and `O_NOFOLLOW`, and the opened file is checked with fstat
// to be a regular file owned by this user; anything else (a FIFO, a device, a symlink, a
// directory, another user's file) is refused with a problem that says what it is, and never
// blocks: a FIFO planted at a history path would otherwise hang `open(2)` until a writer came.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a history path was not used.
public enum HistoryFileProblem: Error, Equatable, CustomStringConvertible, Sendable {
    case missing
    /// Not a regular file (`kind` as PathKind describes it: "FIFO", "directory", "symlink", ...).
    case notRegular(path: String, kind: String)
    /// A regular file that belongs to another user.
    case notOwned(path: String, owner: UInt32)
    /// Opening or reading failed (EACCES above all).
    case unusable(SystemError)

    /// Why, without the path: "it is a FIFO, not a regular file", "Permission denied", ...
    public var reason: String {
        switch self {
        case .missing: "it is missing"
        case .notRegular(_, let kind): "it is a \(kind), not a regular file"
        case .notOwned(_, let owner): "it is owned by uid \(owner), not by this user (uid \(geteuid()))"
        case .unusable(let error): String(cString: strerror(error.code))
        }
    }

    public var description: String {
        switch self {
        case .missing: "missing"
        case .notRegular(let path, let kind): "\(path) is a \(kind), not a regular file"
        case .notOwned(let path, let owner): "\(path) is owned by uid \(owner), not by this user (uid \(geteuid()))"
        case .unusable(let error): "\(error)"
        }
    }
}

public enum HistoryFile {
    /// Opens `path` with `flags` (plus `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC`) and checks what was
    /// opened. `O_NONBLOCK` is cleared again on a regular file (it means nothing there).
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600,
                            syscalls: Syscalls = .live) -> Result<Int32, HistoryFileProblem> {
        let fd = syscalls.open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return .failure(.missing) }
            // O_NOFOLLOW on a symlink gives ELOOP; opening a FIFO for writing without a reader
            // ENXIO; a directory for writing EISDIR: name the thing that is there.
            if code == ELOOP || code == ENXIO || code == EISDIR, let kind = kindOf(path), kind != "regular file" {
                return .failure(.notRegular(path: path, kind: kind))
            }
            return .failure(.unusable(SystemError("open", code, path: path)))
        }
        if let problem = check(fd, path: path) {
            _ = syscalls.close(fd)
            return .failure(problem)
        }
        let fl = fcntl(fd, F_GETFL)
        if fl >= 0 { _ = fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) }
        return .success(fd)
    }

    /// A regular file owned by this user, or the problem with what `fd` is.
    public static func check(_ fd: Int32, path: String) -> HistoryFileProblem? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .unusable(SystemError("fstat", path: path)) }
        let mode = UInt32(st.st_mode)
        if mode & UInt32(S_IFMT) != UInt32(S_IFREG) {
            return .notRegular(path: path, kind: PathKind.describe(mode: mode))
        }
        if UInt32(st.st_uid) != UInt32(geteuid()) { return .notOwned(path: path, owner: UInt32(st.st_uid)) }
        return nil
    }

    /// What is at `path` without following a symlink ("FIFO", "regular file", ...); nil if nothing.
    public static func kindOf(_ path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return PathKind.describe(mode: UInt32(st.st_mode))
    }

    /// Size and identity of an open file, to notice another writer.
    public struct Identity: Equatable, Sendable {
        public var device: UInt64
        public var inode: UInt64
        public var size: Int
    }

    public static func identity(_ fd: Int32) -> Identity? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int(st.st_size))
    }
}
