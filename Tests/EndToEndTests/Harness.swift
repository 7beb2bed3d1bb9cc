// Harness: runs the real binaries (cc-bridge-tui, cc-bridge-agent) and a private tmux server
// for end-to-end tests. Binaries come from $CCB_BIN_DIR (set by scripts/test) or .build/debug.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

enum Binaries {
    static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["CCB_BIN_DIR"], !dir.isEmpty { return dir }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug").path
    }()

    static func path(_ name: String) throws -> String {
        let path = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("\(path) is missing: build first (scripts/test runs `swift build` before `swift test`)")
        }
        return path
    }

    static var tui: String { get throws { try path("cc-bridge-tui") } }
    static var agent: String { get throws { try path("cc-bridge-agent") } }

    /// A copy of `binary` that a process of another uid can run: it goes into `directory`
    /// (which the test has made reachable for that user), mode 0755. The build directory may
    /// sit under a 0700 parent (a checkout inside `mktemp -d`), where uid 65534 cannot reach it.
    static func copy(_ binary: String, into directory: String, for uid: uid_t) throws -> String {
        let copy = directory + "/" + URL(fileURLWithPath: binary).lastPathComponent
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: binary, toPath: copy)
        guard chmod(copy, 0o755) == 0, chown(copy, uid, gid_t(uid)) == 0 else {
            throw HarnessError("cannot make \(copy) runnable for uid \(uid): \(String(cString: strerror(errno)))")
        }
        return copy
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A private temporary directory, removed when released.
final class Scratch {
    let path: String
    init() {
        var template = Array((NSTemporaryDirectory() + "ccb-e2e-XXXXXX").utf8CString)
        path = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// The result of a finished command.
struct Finished {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A child process with its output collected in the background.
final class Running {
    let process = Process()
    private let out = Pipe()
    private let err = Pipe()
    private let collected = Collected()

    final class Collected: @unchecked Sendable {
        let lock = NSLock()
        var out = Data()
        var err = Data()
        /// End of file seen on standard output / error (every writer closed its end).
        var outDone = false
        var errDone = false
    }

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        let collected = self.collected
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.lock.lock(); collected.out.append(data); if data.isEmpty { collected.outDone = true }; collected.lock.unlock()
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        err.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.lock.lock(); collected.err.append(data); if data.isEmpty { collected.errDone = true }; collected.lock.unlock()
            if data.isEmpty { handle.readabilityHandler = nil }
        }
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
    }

    var stdout: String {
        collected.lock.lock(); defer { collected.lock.unlock() }
        return String(decoding: collected.out, as: UTF8.self)
    }

    var stderr: String {
        collected.lock.lock(); defer { collected.lock.unlock() }
        return String(decoding: collected.err, as: UTF8.self)
    }

    /// Waits up to `timeout` seconds; nil when still running.
    func wait(timeout: Double) -> Finished? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { return nil }
        process.waitUntilExit()
        // Let the readability handlers take the last bytes: until both pipes are at end of file
        // (a loaded machine may run them late), bounded for children whose own children keep
        // the pipes open.
        let drained = Date().addingTimeInterval(2)
        repeat {
            usleep(10_000)
            collected.lock.lock(); let done = collected.outDone && collected.errDone; collected.lock.unlock()
            if done { break }
        } while Date() < drained
        return Finished(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// SIGKILL takes its descendants too (a supervisor's agent, an agent's children): killed
    /// alone, they would be orphaned and outlive the test.
    func signal(_ sig: Int32) {
        guard process.isRunning else { return }
        if sig == SIGKILL {
            for pid in descendants(of: process.processIdentifier) { kill(pid, SIGKILL) }
        }
        kill(process.processIdentifier, sig)
    }

    deinit {
        signal(SIGKILL)
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
    }
}

/// Every process below `root`, from /proc (children before their own children's parents are gone).
func descendants(of root: pid_t) -> [pid_t] {
    var parents: [pid_t: pid_t] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(entry),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        // "pid (comm) state ppid ...": the command may hold spaces and parentheses.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let ppid = pid_t(fields[1]) { parents[pid] = ppid }
    }
    var found: [pid_t] = []
    var frontier = [root]
    while let next = frontier.popLast() {
        let children = parents.filter { $0.value == next }.map(\.key)
        found += children
        frontier += children
    }
    return found
}

/// Runs a command to completion (or kills it after `timeout`).
func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, timeout: Double = 30,
         environment: [String: String]? = nil) throws -> Finished {
    let child = try Running(executable, arguments, environment: environment, stdin: stdin)
    guard let finished = child.wait(timeout: timeout) else {
        child.signal(SIGKILL)
        throw HarnessError("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
    }
    return finished
}

/// Polls `condition` every 20 ms up to `timeout` seconds.
func eventually(timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try condition() { return true }
        usleep(20_000)
    } while Date() < deadline
    return try condition()
}

/// A private tmux server (its own socket) with one window of a fixed size.
final class Tmux {
    let socket: String
    let session = "t"

    init(size: (cols: Int, rows: Int) = (100, 30), command: [String], environment: [String: String] = [:],
         scratch: Scratch) throws {
        socket = scratch.file("tmux.sock")
        var args = ["-S", socket, "-f", "/dev/null", "new-session", "-d", "-s", session,
                    "-x", String(size.cols), "-y", String(size.rows)]
        // A TUI in a test reads its pipes in-process unless the test asks for the server
        // (CC_BRIDGE_NO_SERVER: ""): a server it started would outlive the test.
        let environment = environment.merging(["CC_BRIDGE_NO_SERVER": "1"]) { mine, _ in mine }
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) { args += ["-e", "\(key)=\(value)"] }
        args.append(command.map(Tmux.quote).joined(separator: " "))
        // The server daemonizes from this call: give it /dev/null, not our pipes, or it would
        // hold them open for its whole life.
        let status = try spawnDetached(["/usr/bin/env", "tmux"] + args, timeout: 20)
        guard status == 0 else { throw HarnessError("tmux new-session failed with status \(status)") }
        _ = try? tmux(["set-option", "-t", session, "remain-on-exit", "on"])
    }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> Finished {
        try run("/usr/bin/env", ["tmux", "-S", socket] + arguments, timeout: 20)
    }

    /// The visible screen as text lines.
    func capture() throws -> [String] {
        let result = try tmux(["capture-pane", "-p", "-t", session])
        return result.stdout.components(separatedBy: "\n")
    }

    func screen() throws -> String { try capture().joined(separator: "\n") }

    /// The screen for failure messages (never throws).
    var dump: String { (try? screen()) ?? "(no screen)" }

    /// Sends tmux key names (e.g. "Enter", "C-c", "Escape") or literal text with `literal: true`.
    func send(_ keys: String..., literal: Bool = false) throws {
        try tmux(["send-keys", "-t", session] + (literal ? ["-l"] : []) + keys)
    }

    func resize(cols: Int, rows: Int) throws {
        try tmux(["resize-window", "-t", session, "-x", String(cols), "-y", String(rows)])
    }

    /// Waits until the screen contains `text`.
    func waitFor(_ text: String, timeout: Double = 20) throws -> Bool {
        try eventually(timeout: timeout) { try screen().contains(text) }
    }

    var paneDead: Bool {
        (try? tmux(["display-message", "-p", "-t", session, "#{pane_dead}"]).stdout.hasPrefix("1")) ?? true
    }

    func paneInfo(_ format: String) throws -> String {
        try tmux(["display-message", "-p", "-t", session, format]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The pid of the process named `name` whose parent is the pane's process (a shell).
    func childPID(named name: String) throws -> pid_t {
        let shell = try paneInfo("#{pane_pid}")
        let child = try run("/usr/bin/env", ["pgrep", "-P", shell, "-f", name]).stdout
            .split(separator: "\n").first.map(String.init) ?? ""
        guard let pid = pid_t(child) else { throw HarnessError("no \(name) under pane pid \(shell)") }
        return pid
    }

    static func quote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    deinit { _ = try? spawnDetached(["/usr/bin/env", "tmux", "-S", socket, "kill-server"], timeout: 10) }
}

/// Runs a command with stdin, stdout and stderr on /dev/null and waits for it (posix_spawn).
func spawnDetached(_ argv: [String], timeout: Double) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd in Int32(0)...2 {
        posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
    }
    let pid = try spawnWithCleanSignals(argv, actions: &actions)
    let deadline = Date().addingTimeInterval(timeout)
    var status: Int32 = 0
    while waitpid(pid, &status, WNOHANG) == 0 {
        if Date() > deadline {
            kill(pid, SIGKILL)
            throw HarnessError("\(argv.joined(separator: " ")) did not finish within \(timeout) s")
        }
        usleep(5_000)
    }
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// posix_spawn of argv with `actions`, an empty signal mask and default handlers. The test
/// runner blocks signals on its threads (the event loop's signal pipe does); a child would
/// inherit that mask, and a tmux server or agent that blocks SIGTERM/SIGHUP/SIGCHLD never exits
/// when told to. The caller reaps the child.
func spawnWithCleanSignals(_ argv: [String], actions: inout posix_spawn_file_actions_t) throws -> pid_t {
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attr, &none)
    var all = sigset_t()
    sigfillset(&all)
    sigdelset(&all, SIGKILL)
    sigdelset(&all, SIGSTOP)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { for arg in cArgs { free(arg) } }
    let rc = posix_spawn(&pid, argv[0], &actions, &attr, cArgs, environ)
    guard rc == 0 else { throw HarnessError("posix_spawn \(argv[0]) failed: \(rc)") }
    return pid
}
