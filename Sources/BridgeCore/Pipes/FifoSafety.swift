// FifoSafety: creating, checking and removing the FIFOs in pipe_dir without ever following a
// symlink, opening a regular file or trusting a file another user owns.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a pipe path may not be used.
public enum PipeSafetyError: Error, Equatable, CustomStringConvertible, Sendable {
    case missing(path: String)
    case symlink(path: String)
    case notFifo(path: String, kind: String)
    case foreignOwner(path: String, uid: UInt32)
    case unsafeMode(path: String, mode: UInt32)
    case invalidDirectory(path: String, reason: String)
    /// pipe_dir lets another user rename or replace the FIFOs in it (see `directoryTrust`).
    case unsafeDirectory(path: String, reason: String, fix: String)
    case system(SystemError)

    public var description: String {
        switch self {
        case .missing(let path): "\(path) does not exist"
        case .symlink(let path): "\(path) is a symlink; refusing to follow it"
        case .notFifo(let path, let kind): "\(path) is a \(kind), not a FIFO; refusing to use it"
        case .foreignOwner(let path, let uid):
            "\(path) is owned by uid \(uid), not by us (uid \(geteuid())); refusing to use it"
        case .unsafeMode(let path, let mode):
            "\(path) has unsafe mode \(String(mode, radix: 8)) (writable by others); "
                + "run 'chmod 660 \(path)' or pass --allow-unsafe-pipes"
        case .invalidDirectory(let path, let reason): "pipe directory \(path): \(reason)"
        case .unsafeDirectory(let path, let reason, let fix):
            "pipe directory \(path) \(reason); refusing to use it: \(fix), or pass --allow-unsafe-pipes"
        case .system(let error): error.description
        }
    }
}

/// What is found at a pipe path, without following symlinks.
public enum PathKind: Equatable, Sendable {
    case missing
    case fifo(mode: UInt32, owner: UInt32, device: UInt64, inode: UInt64)
    case symlink
    case other(String)

    public static func describe(mode: UInt32) -> String {
        switch mode & UInt32(S_IFMT) {
        case UInt32(S_IFREG): "regular file"
        case UInt32(S_IFDIR): "directory"
        case UInt32(S_IFLNK): "symlink"
        case UInt32(S_IFSOCK): "socket"
        case UInt32(S_IFCHR): "character device"
        case UInt32(S_IFBLK): "block device"
        case UInt32(S_IFIFO): "FIFO"
        default: "special file"
        }
    }
}

/// Whether pipes writable by others (mode 0666; a pipe_dir other users can write without the
/// sticky bit, or owned by another user) may be used. FIFOs owned by another user are always refused.
public struct PipePolicy: Sendable, Equatable {
    public var allowUnsafe: Bool
    public init(allowUnsafe: Bool = false) { self.allowUnsafe = allowUnsafe }
    public static let strict = PipePolicy()
}

public enum FifoSafety {
    public static let fifoMode: mode_t = 0o660
    public static let directoryMode: mode_t = 0o700
    /// Asked once: every open of a FIFO compares owners with it (twice per prompt otherwise),
    /// and none of our programs changes its user while it runs.
    static let effectiveUID = geteuid()

    public static func inspect(_ path: String) -> PathKind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .missing }
        let type = UInt32(st.st_mode) & UInt32(S_IFMT)
        if type == UInt32(S_IFLNK) { return .symlink }
        if type == UInt32(S_IFIFO) {
            return .fifo(mode: UInt32(st.st_mode) & 0o7777, owner: UInt32(st.st_uid),
                         device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        }
        return .other(PathKind.describe(mode: UInt32(st.st_mode)))
    }

    /// Checks a path is a FIFO we may use. Unsafe modes pass only when the policy allows them.
    public static func check(_ path: String, policy: PipePolicy = .strict) throws(PipeSafetyError) {
        switch inspect(path) {
        case .missing: throw .missing(path: path)
        case .symlink: throw .symlink(path: path)
        case .other(let kind): throw .notFifo(path: path, kind: kind)
        case .fifo(let mode, let owner, _, _):
            try checkOwnerAndMode(path: path, mode: mode, owner: owner, policy: policy)
        }
    }

    static func checkOwnerAndMode(path: String, mode: UInt32, owner: UInt32, policy: PipePolicy) throws(PipeSafetyError) {
        if owner != effectiveUID { throw .foreignOwner(path: path, uid: owner) }
        if mode & 0o002 != 0 && !policy.allowUnsafe { throw .unsafeMode(path: path, mode: mode) }
    }

    /// Creates `directory` (and missing parents) with mode 0700. An existing directory is kept;
    /// a symlink or a non-directory is refused.
    public static func ensureDirectory(_ directory: String) throws(PipeSafetyError) {
        var st = stat()
        if lstat(directory, &st) == 0 {
            let type = UInt32(st.st_mode) & UInt32(S_IFMT)
            if type == UInt32(S_IFDIR) { return }
            throw .invalidDirectory(path: directory, reason: "it is a \(PathKind.describe(mode: UInt32(st.st_mode))), not a directory")
        }
        let parent = parentPath(of: directory)
        if !parent.isEmpty && parent != directory {
            var pst = stat()
            if stat(parent, &pst) != 0 { try ensureDirectory(parent) }
        }
        if mkdir(directory, directoryMode) != 0 && errno != EEXIST {
            throw .system(SystemError("mkdir", path: directory))
        }
    }

    /// Problems with pipe_dir itself, each with its fix: the trust problems of `directoryTrust`
    /// and a symlinked directory (followed, but worth knowing).
    public static func directoryProblems(_ directory: String) -> [String] {
        var st = stat()
        guard lstat(directory, &st) == 0 else { return ["\(directory) does not exist"] }
        var problems: [String] = []
        if UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFLNK) { problems.append("\(directory) is a symlink") }
        if let problem = directoryTrust(directory) { problems.append("\(directory) \(problem.reason) (refused; \(problem.fix), or pass --allow-unsafe-pipes)") }
        return problems
    }

    /// Why another user could swap the FIFOs in `directory` (rename one instance's over another's),
    /// or nil when only we (and root) can: it is owned by another user (not root), or writable by
    /// other users (world, or a group other than our own) without the sticky bit. The FIFOs' own
    /// checks cannot see such a swap: the swapped FIFOs are still ours.
    public static func directoryTrust(_ directory: String) -> (reason: String, fix: String)? {
        var st = stat()
        guard stat(directory, &st) == 0, UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFDIR) else { return nil }
        let mode = UInt32(st.st_mode) & 0o7777
        let octal = String(mode, radix: 8)
        if st.st_uid != effectiveUID && st.st_uid != 0 {
            return ("is owned by uid \(st.st_uid) (not you or root), who can replace its FIFOs",
                    "use a pipe directory of your own (--pipe-dir or docker.pipe_dir), or have it made yours")
        }
        guard mode & UInt32(S_ISVTX) == 0 else { return nil }
        let fix = "run 'chmod 1777 \(directory)' (shared, like /tmp) or 'chmod 0700 \(directory)' (private)"
        if mode & 0o002 != 0 {
            return ("is world-writable without the sticky bit (mode \(octal)): any user can rename or replace its FIFOs", fix)
        }
        if mode & 0o020 != 0 && groupHasOthers(st.st_gid) {
            return ("is writable by group \(st.st_gid), which has other users, without the sticky bit (mode \(octal)): "
                    + "they can rename or replace its FIFOs", fix)
        }
        return nil
    }

    /// Refuses a pipe directory that fails `directoryTrust`, unless the policy allows unsafe pipes.
    public static func checkDirectory(_ directory: String, policy: PipePolicy = .strict) throws(PipeSafetyError) {
        let directory = directory.isEmpty ? "." : directory
        guard !policy.allowUnsafe, let problem = directoryTrust(directory) else { return }
        throw .unsafeDirectory(path: directory, reason: problem.reason, fix: problem.fix)
    }

    /// A group other than our own effective group, or ours with a member who is not us.
    static func groupHasOthers(_ gid: gid_t) -> Bool {
        if gid != getegid() { return true }
        var entry = group()
        var found: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &found) == 0, found != nil,
              var member = entry.gr_mem else { return false }
        var me = passwd()
        var meFound: UnsafeMutablePointer<passwd>?
        var meBuffer = [CChar](repeating: 0, count: 16 << 10)
        let myName = getpwuid_r(geteuid(), &me, &meBuffer, meBuffer.count, &meFound) == 0 && meFound != nil
            ? String(cString: me.pw_name) : nil
        while let name = member.pointee {
            if String(cString: name) != myName { return true }
            member += 1
        }
        return false
    }

    /// Creates a FIFO with mode 0660, or reuses an existing safe one. Returns true when created.
    @discardableResult
    public static func create(_ path: String, policy: PipePolicy = .strict) throws(PipeSafetyError) -> Bool {
        try checkDirectory(parentPath(of: path), policy: policy)
        if mkfifo(path, fifoMode) == 0 {
            // mkfifo honours the umask; make the mode exactly 0660.
            if chmod(path, fifoMode) != 0 { throw .system(SystemError("chmod", path: path)) }
            return true
        }
        let code = errno
        guard code == EEXIST else { throw .system(SystemError("mkfifo", code, path: path)) }
        try check(path, policy: policy)
        return false
    }

    /// Opens a FIFO without following symlinks and verifies what was opened (fstat), so a swap
    /// between check and open is caught too. Returns the descriptor or throws; never blocks.
    public static func open(
        _ path: String, flags: Int32, policy: PipePolicy = .strict, syscalls: Syscalls = .live
    ) throws(PipeSafetyError) -> Int32 {
        // Every FIFO we write to is opened here: a reader that vanishes must give EPIPE, never
        // a SIGPIPE that kills the whole process (the TUI, the agent, a test runner).
        if flags & O_ACCMODE != O_RDONLY { SignalSetup.ignoreSIGPIPE() }
        try checkDirectory(parentPath(of: path), policy: policy)
        let fd = syscalls.open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0)
        if fd < 0 {
            let code = errno
            switch code {
            case ELOOP, EMLINK: throw .symlink(path: path)
            case ENOENT: throw .missing(path: path)
            default: throw .system(SystemError("open", code, path: path))
            }
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let error = SystemError("fstat", path: path)
            _ = syscalls.close(fd)
            throw .system(error)
        }
        let mode = UInt32(st.st_mode)
        guard mode & UInt32(S_IFMT) == UInt32(S_IFIFO) else {
            _ = syscalls.close(fd)
            throw .notFifo(path: path, kind: PathKind.describe(mode: mode))
        }
        do {
            try checkOwnerAndMode(path: path, mode: mode & 0o7777, owner: UInt32(st.st_uid), policy: policy)
        } catch {
            _ = syscalls.close(fd)
            throw error
        }
        return fd
    }

    /// Removes a FIFO; anything that is not a FIFO is left alone and reported.
    /// Returns whether a FIFO was there (and is now gone); false when nothing was at `path`.
    @discardableResult
    public static func remove(_ path: String) throws(PipeSafetyError) -> Bool {
        switch inspect(path) {
        case .missing: return false
        case .symlink: throw .symlink(path: path)
        case .other(let kind): throw .notFifo(path: path, kind: kind)
        case .fifo:
            if unlink(path) != 0 {
                if errno == ENOENT { return false }
                throw .system(SystemError("unlink", path: path))
            }
            return true
        }
    }

    static func parentPath(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
