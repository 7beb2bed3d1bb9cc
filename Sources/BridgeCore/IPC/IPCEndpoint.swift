// IPCEndpoint: where a user's server for one pipe directory listens, and the token that proves a
// client is that user. One server per user and pipe directory:
//
//   directory   $XDG_RUNTIME_DIR/cc-bridge-tui/ when XDG_RUNTIME_DIR is set (absolute), else
//               /tmp/cc-bridge-tui-<uid>/; created 0700; refused unless it is a real directory
//               (not a symlink) owned by us with no group/other permission bits
//   socket      <directory>/server-<key>.sock (0600), key = 16 hex digits of FNV-1a over the
//               pipe directory's real path (the same key the reader locks use)
//   token       <directory>/server-<key>.token (0600): 32 random bytes as 64 hex digits, written
//               anew at each server start; compared in constant time
//   other files <directory>/server-<key>.<suffix> via `file(_:)` (the server's pid file, lock, ...)
//
// Public API:
//   struct IPCEndpoint { directory, key, socketPath, tokenPath, file(_ suffix:) }
//   IPCEndpoint(pipeDirectory:, environment:)  /  IPCEndpoint(directory:, key:)   (tests)
//   .prepareDirectory() throws(IPCEndpointError)   create 0700 if missing, then check it
//   .checkDirectory() throws(IPCEndpointError)     check only (clients)
//   .writeNewToken() throws(IPCEndpointError) -> String   (server), .readToken() throws(...) -> String (client)
//   .socketFileProblem() -> String?   nil when a socket file is at socketPath, else what is wrong
//                                     ("is gone", "is a regular file, not a socket", ...)
//   IPCToken.generate(), IPCToken.matches(_:_:) (constant time)
//   enum IPCEndpointError: unsafeDirectory(path, reason), pathTooLong, system(SystemError), noToken(path)

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum IPCEndpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The socket directory is not ours alone: refused, nothing is written in it.
    case unsafeDirectory(path: String, reason: String)
    /// sun_path holds 108 bytes (104 on macOS).
    case pathTooLong(path: String)
    case system(SystemError)
    /// No readable token: no server started here, or it is not ours.
    case noToken(path: String, reason: String)

    public var description: String {
        switch self {
        case .unsafeDirectory(let path, let reason):
            return "refusing the server socket directory \(path): \(reason); it must be a directory owned by you with mode 0700 "
                + "(remove it or fix it with `chmod 700 \(path)`)"
        case .pathTooLong(let path): return "server socket path is too long for a Unix socket: \(path)"
        case .system(let error): return "server socket directory: \(error)"
        case .noToken(let path, let reason): return "cannot read the server token \(path): \(reason)"
        }
    }
}

public struct IPCEndpoint: Equatable, Sendable {
    public let directory: String
    public let key: String

    public init(directory: String, key: String) {
        self.directory = directory
        self.key = key
    }

    /// The endpoint of the server for `pipeDirectory`, in this user's runtime directory.
    public init(pipeDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(directory: Self.runtimeDirectory(environment: environment), key: ReaderLock.key(of: pipeDirectory))
    }

    public static func runtimeDirectory(environment: [String: String]) -> String {
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            return (runtime.hasSuffix("/") ? String(runtime.dropLast()) : runtime) + "/cc-bridge-tui"
        }
        return "/tmp/cc-bridge-tui-\(geteuid())"
    }

    public var socketPath: String { file("sock") }
    public var tokenPath: String { file("token") }
    public func file(_ suffix: String) -> String { directory + "/server-" + key + "." + suffix }

    /// Creates the directory (0700) when missing, then checks it. Servers call this.
    /// nil when a socket file is at `socketPath` (live or not); else what is there instead, as
    /// the end of a sentence about the path: "is gone", "is a regular file, not a socket".
    public func socketFileProblem() -> String? {
        var st = stat()
        guard lstat(socketPath, &st) == 0 else { return errno == ENOENT ? "is gone" : "cannot be checked (\(String(cString: strerror(errno))))" }
        switch st.st_mode & S_IFMT {
        case S_IFSOCK: return nil
        case S_IFREG: return "is a regular file, not a socket"
        case S_IFDIR: return "is a directory, not a socket"
        case S_IFLNK: return "is a symbolic link, not a socket"
        case S_IFIFO: return "is a FIFO, not a socket"
        default: return "is not a socket"
        }
    }

    public func prepareDirectory() throws(IPCEndpointError) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .system(SystemError("mkdir", path: directory))
        }
        try checkDirectory()
    }

    /// A directory only we can enter, or an error saying what is wrong. Clients call this.
    public func checkDirectory() throws(IPCEndpointError) {
        var st = stat()
        guard lstat(directory, &st) == 0 else { throw .system(SystemError("lstat", path: directory)) }
        let type = st.st_mode & S_IFMT
        if type == S_IFLNK { throw .unsafeDirectory(path: directory, reason: "it is a symbolic link") }
        guard type == S_IFDIR else { throw .unsafeDirectory(path: directory, reason: "it is not a directory") }
        guard st.st_uid == geteuid() else {
            throw .unsafeDirectory(path: directory, reason: "it belongs to uid \(st.st_uid), not to you (uid \(geteuid()))")
        }
        let mode = st.st_mode & 0o7777
        guard mode & 0o077 == 0 else {
            throw .unsafeDirectory(path: directory, reason: "its mode is \(String(mode, radix: 8)), open to others")
        }
        guard socketPath.utf8.count < Self.maxSocketPathBytes else { throw .pathTooLong(path: socketPath) }
    }

    static var maxSocketPathBytes: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) }

    /// Writes a new random token (0600, replaced atomically) and returns it.
    public func writeNewToken() throws(IPCEndpointError) -> String {
        let token = IPCToken.generate()
        let temporary = tokenPath + ".\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system(SystemError("open", path: temporary)) }
        let bytes = Array((token + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let code = errno
        close(fd)
        guard written == bytes.count else {
            unlink(temporary)
            throw .system(SystemError("write", code, path: temporary))
        }
        guard rename(temporary, tokenPath) == 0 else {
            let error = SystemError("rename", path: tokenPath)
            unlink(temporary)
            throw .system(error)
        }
        return token
    }

    /// The token the running server wrote; only from a regular file of ours with mode 0600.
    public func readToken() throws(IPCEndpointError) -> String {
        let fd = open(tokenPath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .noToken(path: tokenPath, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(), st.st_mode & 0o077 == 0 else {
            throw .noToken(path: tokenPath, reason: "not a private file of yours")
        }
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw .noToken(path: tokenPath, reason: "empty") }
        return String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public enum IPCToken {
    /// 32 bytes from the system's cryptographic generator (getrandom), as 64 hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var out = ""
        out.reserveCapacity(64)
        for _ in 0..<4 {
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            out += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return out
    }

    /// Equal strings, in time that depends only on their lengths.
    public static func matches(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
        for i in 0..<b.count {
            difference |= (i < a.count ? a[i] : 0) ^ b[i]
        }
        return difference == 0
    }
}
