// DetachedChild: starts a program of ours in the background with posix_spawn: standard input
// from /dev/null, standard output and error appended to a log file; optionally in a new session
// with no signal blocked or ignored (whatever this process does with them) (setsid: no
// controlling terminal, no SIGHUP when the terminal closes) and with a pipe on descriptor 3 on
// which it answers once it is ready. Used by the demo (its agents) and `serve` (the server).

import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct DetachedChild {
    let pid: pid_t
    /// The read end of the answer pipe (-1 without one).
    let answerFD: Int32

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    static func spawn(executable path: String, arguments: [String], logPath: String, newSession: Bool = true,
                      answerPipe: Bool = true) throws(SpawnError) -> DetachedChild {
        var answer: [Int32] = [-1, -1]
        if answerPipe {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
            // Above 3 and close-on-exec, so only the dup2 to 3 reaches the child.
            for (index, fd) in fds.enumerated() {
                answer[index] = fcntl(fd, F_DUPFD_CLOEXEC, 10)
                close(fd)
            }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if answerPipe { posix_spawn_file_actions_adddup2(&actions, answer[1], 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        if newSession {
            var none = sigset_t()
            sigemptyset(&none)
            posix_spawnattr_setsigmask(&attributes, &none)
            var all = sigset_t()
            sigfillset(&all)
            sigdelset(&all, SIGKILL)
            sigdelset(&all, SIGSTOP)
            posix_spawnattr_setsigdefault(&attributes, &all)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | Self.spawnSetsid)
        }
        let environment = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer {
            for pointer in environment { free(pointer) }
            for pointer in argv { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environment)
        if answerPipe { close(answer[1]) }
        guard rc == 0 else {
            if answerPipe { close(answer[0]) }
            throw SpawnError(description: "cannot start \(path): \(String(cString: strerror(rc)))")
        }
        return DetachedChild(pid: pid, answerFD: answer[0])
    }

    /// The lines the child wrote on its answer pipe until it closed it, or until `timeout`.
    func readAnswer(timeout: Double) -> [String] {
        guard answerFD >= 0 else { return [] }
        defer { close(answerFD) }
        var bytes: [UInt8] = []
        let deadline = MonotonicClock.now() + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let left = deadline - MonotonicClock.now()
            guard left > 0 else { break }
            var poller = pollfd(fd: answerFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left * 1000, 1000)) + 1)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(answerFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// glibc's POSIX_SPAWN_SETSID (2.26+), hidden from Swift behind _GNU_SOURCE.
    static let spawnSetsid: Int16 = 0x80

    /// Still running (not reaped, not a zombie).
    var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }
}
