// AgentHarness: runs the real cc-bridge-agent binary against real FIFOs in a private temporary
// directory, and plays the host: non-blocking writes to the in-FIFO, a polling reader on the
// out-FIFO. Timeouts are generous (the machine is shared); only documented bounds are timed.

import Foundation
import Testing
@testable import BridgeAgent
import BridgeCore

enum Harness {
    /// The directory holding cc-bridge-agent: $CCB_BIN_DIR, else <package>/.build/debug.
    static func binaryPath() throws -> String {
        let dir: String
        if let env = ProcessInfo.processInfo.environment["CCB_BIN_DIR"], !env.isEmpty {
            dir = env
        } else {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent()
            dir = root.appendingPathComponent(".build/debug").path
        }
        let path = dir + "/cc-bridge-agent"
        guard access(path, X_OK) == 0 else {
            throw HarnessError("cc-bridge-agent not found at \(path): run `swift build` first "
                + "(`swift test` builds it too) or set CCB_BIN_DIR to the directory that holds it")
        }
        return path
    }

    /// A copy of the agent that a process of another uid can run, in `directory` (which the test
    /// has made reachable for that user), mode 0755: the build directory may sit under a 0700
    /// parent (a checkout inside `mktemp -d`), where uid 65534 cannot reach it.
    static func binaryCopy(into directory: String, for uid: uid_t) throws -> String {
        let copy = directory + "/cc-bridge-agent"
        try FileManager.default.copyItem(atPath: try binaryPath(), toPath: copy)
        guard chmod(copy, 0o755) == 0, chown(copy, uid, gid_t(uid)) == 0 else {
            throw HarnessError("cannot make \(copy) runnable for uid \(uid): \(String(cString: strerror(errno)))")
        }
        return copy
    }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/ccb-agent-test.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed") }
        return String(cString: made)
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func processAlive(_ pid: pid_t) -> Bool {
        // A zombie still answers kill(0); look at its state in /proc.
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    static func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A running cc-bridge-agent (or any program) with stdout and stderr in a log file.
final class AgentProcess {
    let pid: pid_t
    let directory: String
    let logPath: String
    private(set) var exitStatus: Int32?

    /// Starts `cc-bridge-agent ARGS` (or `program ARGS` when given).
    init(_ arguments: [String], directory: String, program: String? = nil, log: String = "agent.log") throws {
        self.directory = directory
        logPath = directory + "/" + log
        let executable = try program ?? Harness.binaryPath()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = [executable] + arguments
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, cArgs, environ)
        guard rc == 0 else { throw HarnessError("posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Non-blocking check; records the exit code (128 + signal when killed).
    @discardableResult
    func reap() -> Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        let signal = status & 0x7F
        exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
        return true
    }

    /// Waits for the exit; returns the exit code or nil on timeout.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if reap() { return exitStatus }
            usleep(2_000)
        }
        return reap() ? exitStatus : nil
    }

    func stop() {
        guard exitStatus == nil else { return }
        kill(pid, SIGTERM)
        if waitForExit(timeout: 5) == nil {
            kill(pid, SIGKILL)
            _ = waitForExit(timeout: 5)
        }
    }
}

/// One instance's FIFO pair seen from the host.
struct HostPipes {
    let directory: String
    let name: String
    var inPath: String { directory + "/" + name + ".in.fifo" }
    var outPath: String { directory + "/" + name + ".out.fifo" }

    /// Waits until the agent has created both FIFOs and holds the in-FIFO open.
    func waitForAgent(timeout: Double = 20) throws {
        let ready = Harness.waitUntil(timeout: timeout) {
            guard Harness.exists(inPath), Harness.exists(outPath) else { return false }
            let fd = open(inPath, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd); return true }
            return false
        }
        if !ready { throw HarnessError("the agent did not open \(inPath) in \(timeout) s") }
    }

    /// Opens the in-FIFO without blocking (ENXIO would mean no agent), writes, closes.
    func send(_ text: String, timeout: Double = 10) throws {
        let writer = try InWriter(path: inPath, timeout: timeout)
        try writer.write(Array(text.utf8), timeout: timeout)
    }

    func sendLine(_ line: String) throws { try send(line + "\n") }

    func reader() throws -> OutReader { try OutReader(path: outPath) }
}

/// A kept-open write end of the in-FIFO.
final class InWriter {
    let fd: Int32

    init(path: String, timeout: Double = 10) throws {
        SignalSetup.ignoreSIGPIPE()   // an agent that exits must fail a test, not kill the runner
        var fd: Int32 = -1
        _ = Harness.waitUntil(timeout: timeout) {
            fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            return fd >= 0
        }
        guard fd >= 0 else { throw HarnessError("open \(path) for writing: \(String(cString: strerror(errno)))") }
        self.fd = fd
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8], timeout: Double = 10) throws {
        var offset = 0
        let deadline = MonotonicClock.now() + timeout
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n > 0 { offset += n; continue }
            if n < 0 && errno != EAGAIN && errno != EINTR {
                throw HarnessError("write to in-FIFO: \(String(cString: strerror(errno)))")
            }
            if MonotonicClock.now() > deadline { throw HarnessError("in-FIFO write blocked for \(timeout) s") }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, 100)
        }
    }
}

/// A read end of the out-FIFO that collects everything the agent writes.
final class OutReader {
    let fd: Int32
    private(set) var received: [UInt8] = []

    init(path: String) throws {
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("open \(path) for reading: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    var text: String { String(decoding: received, as: UTF8.self) }

    /// Reads until `condition(received)` holds; throws with what arrived on timeout.
    @discardableResult
    func read(timeout: Double = 20, until condition: ([UInt8]) -> Bool) throws -> [UInt8] {
        let deadline = MonotonicClock.now() + timeout
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !condition(received) {
            if MonotonicClock.now() > deadline {
                throw HarnessError("timed out after \(timeout) s; received \(received.count) bytes: \(String(decoding: received.suffix(600), as: UTF8.self).debugDescription)")
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 50)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                received += buffer[..<n]
            } else if n == 0 {
                usleep(5_000)  // no writer at the moment (POLLHUP): wait for the agent to attach
            }
        }
        return received
    }

    func read(timeout: Double = 20, untilContains needle: String) throws {
        let bytes = Array(needle.utf8)
        try read(timeout: timeout) { $0.firstRange(of: bytes) != nil }
    }

    func read(timeout: Double = 20, untilSuffix suffix: String) throws {
        let bytes = Array(suffix.utf8)
        try read(timeout: timeout) { $0.count >= bytes.count && Array($0.suffix(bytes.count)) == bytes }
    }

    /// Reads for `seconds` and returns what arrived in that time.
    func drain(for seconds: Double) -> [UInt8] {
        let before = received.count
        _ = try? read(timeout: seconds) { _ in false }
        return Array(received[before...])
    }

    /// Complete lines received so far (jsonl).
    var lines: [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    func jsonLines() -> [[String: Any]] {
        lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func reset() { received = [] }
}

/// A fresh directory, agent, and host view of its pipes; cleans up when dropped.
final class AgentFixture {
    let directory: String
    let pipes: HostPipes
    let agent: AgentProcess

    /// `directory`: a fresh directory of the caller's (removed with the fixture), else a new one.
    init(name: String = "t", _ arguments: [String], directory: String? = nil,
         precreate: (String) throws -> Void = { _ in }) throws {
        self.directory = try directory ?? Harness.temporaryDirectory()
        let pipeDir = self.directory + "/pipes"
        try precreate(pipeDir)
        pipes = HostPipes(directory: pipeDir, name: name)
        agent = try AgentProcess(["serve", "--name", name, "--pipe-dir", pipeDir] + arguments, directory: self.directory)
        do {
            try pipes.waitForAgent()
        } catch {
            throw HarnessError("\(error); agent log: \(agent.log)")
        }
    }

    deinit {
        agent.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

let marker = "❯ "
