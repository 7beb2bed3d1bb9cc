// Processes: spawning children (posix_spawn, no shell), reading their CPU time from
// /proc/<pid>/stat, a private tmux server, and a pseudo-terminal to run the TUI directly.

import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Proc {
    static var selfExe: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static var binDir: String { (selfExe as NSString).deletingLastPathComponent }

    /// Spawns `argv` with stdin from /dev/null and stdout to `stdout` (a path; /dev/null by
    /// default) and stderr to /dev/null, plus `environment` overrides.
    static func spawn(_ argv: [String], stdout: String = "/dev/null", stdoutFD: Int32? = nil,
                      environment: [String: String] = [:]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let stdoutFD {
            posix_spawn_file_actions_adddup2(&actions, stdoutFD, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        return try spawn(argv, actions: &actions, attributes: nil, environment: environment)
    }

    static func spawn(_ argv: [String], actions: inout posix_spawn_file_actions_t,
                      attributes: UnsafePointer<posix_spawnattr_t>?, environment: [String: String]) throws -> pid_t {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) }; for p in cEnv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, attributes, cArgs, cEnv)
        guard rc == 0 else { throw BenchError("posix_spawn \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Waits for `pid`; returns its exit status (128+signal when killed).
    @discardableResult
    static func wait(_ pid: pid_t, timeout: Double = 600) throws -> Int32 {
        let deadline = MonotonicClock.now() + timeout
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { throw BenchError("waitpid: \(errno)") }
            if MonotonicClock.now() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw BenchError("child \(pid) did not finish within \(timeout) s")
            }
            usleep(500)
        }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Runs a command to completion and returns its standard output.
    static func output(_ argv: [String], timeout: Double = 30) throws -> (status: Int32, text: String) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw BenchError("pipe") }
        let pid: pid_t
        do { pid = try spawn(argv, stdoutFD: fds[1]) } catch { close(fds[0]); close(fds[1]); throw error }
        close(fds[1])
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n > 0 { data += buf[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
        }
        close(fds[0])
        let status = try wait(pid, timeout: timeout)
        return (status, String(decoding: data, as: UTF8.self))
    }

    /// utime + stime of a process, in clock ticks.
    static func cpuTicks(_ pid: pid_t) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let paren = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: paren)...].split(separator: " ")
        // After ")": state is field 3; utime is field 14, stime 15 (1-based overall).
        guard fields.count > 13, let u = Int(fields[11]), let s = Int(fields[12]) else { return nil }
        return u + s
    }

    /// Minor page faults of a process so far (minflt, field 10 of /proc/PID/stat).
    static func minorFaults(_ pid: pid_t) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let paren = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: paren)...].split(separator: " ")
        return fields.count > 7 ? Int(fields[7]) : nil
    }

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// This process's CPU seconds (user + system).
    static func selfCPU() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    /// A field of /proc/self/status in kB (VmHWM, VmRSS).
    static func statusKB(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
        }
        return 0
    }

    static func sleep(_ seconds: Double) { usleep(useconds_t(max(0, seconds) * 1e6)) }
}

/// A scratch directory removed at the end.
final class Scratch {
    let path: String
    init() throws {
        var template = Array("/tmp/ccb-bench.XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("mkdtemp failed")
        }
        path = String(cString: p)
        chmod(path, 0o700)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func dir(_ name: String) throws -> String {
        let d = file(name)
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        return d
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Creates `<name>.in.fifo` and `<name>.out.fifo` for each instance.
func makeInstances(_ names: [String], in directory: String) throws {
    for name in names {
        try FifoSafety.create(directory + "/" + name + InstanceScanner.inSuffix)
        try FifoSafety.create(directory + "/" + name + InstanceScanner.outSuffix)
    }
}

/// A private tmux server running one command in a window of a fixed size.
final class TmuxSession {
    let socket: String
    let session = "bench"

    init(socket: String, cols: Int, rows: Int, command: [String], environment: [String: String]) throws {
        self.socket = socket
        var args = ["/usr/bin/env", "tmux", "-S", socket, "-f", "/dev/null", "new-session", "-d", "-s", session,
                    "-x", String(cols), "-y", String(rows)]
        for (k, v) in environment.sorted(by: { $0.key < $1.key }) { args += ["-e", "\(k)=\(v)"] }
        args.append("exec " + command.map(TmuxSession.quote).joined(separator: " "))
        let status = try Proc.wait(Proc.spawn(args), timeout: 20)
        guard status == 0 else { throw BenchError("tmux new-session failed (\(status))") }
    }

    func command(_ arguments: [String]) throws -> String {
        try Proc.output(["/usr/bin/env", "tmux", "-S", socket] + arguments).text
    }

    /// Fire-and-forget send-keys (the caller reaps it later), so key spacing is not the spawn's.
    func sendKeysAsync(_ keys: [String], literal: Bool = false) throws -> pid_t {
        try Proc.spawn(["/usr/bin/env", "tmux", "-S", socket, "send-keys", "-t", session] + (literal ? ["-l"] : []) + keys)
    }

    func sendKeys(_ keys: [String], literal: Bool = false) throws {
        try Proc.wait(sendKeysAsync(keys, literal: literal), timeout: 20)
    }

    var panePID: pid_t? {
        (try? command(["display-message", "-p", "-t", session, "#{pane_pid}"]))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func kill() { _ = try? Proc.wait(Proc.spawn(["/usr/bin/env", "tmux", "-S", socket, "kill-server"]), timeout: 10) }

    static func quote(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}

/// A program run directly on a pseudo-terminal we own (no tmux, no shell), the master side
/// drained by a thread so the program never blocks on output.
final class PtyProcess {
    let pid: pid_t
    let master: Int32
    private let drainer: Thread

    init(_ argv: [String], cols: Int, rows: Int, environment: [String: String]) throws {
        // posix_openpt/ptsname are not exported by the Glibc module: the same through /dev/ptmx
        // (TIOCSPTLCK = unlockpt, TIOCGPTN = the pts number; grantpt is a no-op with devpts).
        let m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0, number: UInt32 = 0
        guard m >= 0, ioctl(m, UInt(0x4004_5431), &unlock) == 0, ioctl(m, UInt(0x8004_5430), &number) == 0 else {
            throw BenchError("cannot open a pseudo-terminal (/dev/ptmx)")
        }
        let slave = "/dev/pts/\(number)"
        var ws = winsize(ws_row: UInt16(rows), ws_col: UInt16(cols), ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(m, UInt(TIOCSWINSZ), &ws)
        master = m
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // setsid runs before the file actions, so opening the slave makes it the controlling tty.
        posix_spawn_file_actions_addopen(&actions, 0, slave, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, 0x80)   // POSIX_SPAWN_SETSID
        var env = environment
        env["LINES"] = String(rows)
        env["COLUMNS"] = String(cols)
        pid = try Proc.spawn(argv, actions: &actions, attributes: &attributes, environment: env)
        drainer = Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(m, $0.baseAddress, $0.count) }
                if n <= 0 && errno != EINTR { break }
            }
        }
        drainer.start()
    }

    func type(_ text: String) {
        var bytes = Array(text.utf8)
        _ = write(master, &bytes, bytes.count)
    }

    deinit { close(master) }
}
