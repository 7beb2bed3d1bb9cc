// IPCChildProcess: a transport program (ssh) started for one IPC connection. Its standard input
// and output are one end of a socket pair, so IPCConnection uses the other end exactly like a
// Unix socket to a local server. Its standard error goes to a pipe that is drained on the loop
// as it comes (ssh may write a lot, and a full pipe would stop it), keeping the last 16 KiB for
// the failure's wording. `finish` reaps it (waiting a little for its exit status) and hands over
// how it ended; `terminate` ends it (SIGTERM, then SIGKILL) and reaps it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class IPCChildProcess {
    let pid: pid_t
    /// Our end of the socket pair (non-blocking, close-on-exec): hand it to IPCConnection.
    let fd: Int32
    private let stderrFD: Int32
    /// Weak: a child ended after its loop is gone (a client released late) must not trap.
    private weak var loop: EventLoop?
    private var stderrWatch: EventLoop.WatchID?
    private var stderrTail: [UInt8] = []
    private var exit: IPCChildExit?
    private var pollTimer: EventLoop.TimerID?
    private static let keptStderr = 16 << 10

    private init(pid: pid_t, fd: Int32, stderrFD: Int32, loop: EventLoop) {
        self.pid = pid
        self.fd = fd
        self.stderrFD = stderrFD
        self.loop = loop
    }

    deinit {
        terminate()
    }

    static func spawn(_ command: IPCCommand, loop: EventLoop) throws(IPCError) -> IPCChildProcess {
        var pair: [Int32] = [-1, -1]
        #if os(Linux)
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &pair) == 0 else {
            throw IPCError(.internal, "socketpair: \(String(cString: strerror(errno)))")
        }
        var errPipe: [Int32] = [-1, -1]
        guard pipe(&errPipe) == 0 else {
            let code = errno
            close(pair[0]); close(pair[1])
            throw IPCError(.internal, "pipe: \(String(cString: strerror(code)))")
        }
        for fd in errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pair[1], 0)
        posix_spawn_file_actions_adddup2(&actions, pair[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Whatever this process ignores or blocks (SIGPIPE) is the default again for the program.
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([command.executable] + command.arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, command.executable, &actions, &attributes, argv, environ)
        close(pair[1])
        close(errPipe[1])
        guard rc == 0 else {
            close(pair[0]); close(errPipe[0])
            let why = rc == ENOENT ? "not found" + (command.executable.contains("/") ? "" : " in PATH") : String(cString: strerror(rc))
            throw IPCError(.noTransportProgram, "cannot run `\(command.executable)` for \(command.label): \(why)")
        }
        IPCSocket.configure(pair[0])
        _ = fcntl(errPipe[0], F_SETFL, fcntl(errPipe[0], F_GETFL) | O_NONBLOCK)
        let child = IPCChildProcess(pid: pid, fd: pair[0], stderrFD: errPipe[0], loop: loop)
        child.stderrWatch = loop.watch(errPipe[0], for: .readable) { [weak child] _ in child?.drainStderr() }
        return child
    }

    /// Standard error so far (its last 16 KiB), as text.
    var stderrText: String { String(decoding: stderrTail, as: UTF8.self) }

    private func drainStderr() {
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(stderrFD, $0.baseAddress, $0.count) }
            if n > 0 {
                stderrTail += buffer[0..<n]
                if stderrTail.count > Self.keptStderr { stderrTail.removeFirst(stderrTail.count - Self.keptStderr) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            // End of file (the program and everything it started closed it) or an error.
            if let stderrWatch { loop?.unwatch(stderrWatch) }
            stderrWatch = nil
            return
        }
    }

    private func reap(_ options: Int32) -> Bool {
        if exit != nil { return true }
        var status: Int32 = 0
        let result = waitpid(pid, &status, options)
        guard result == pid else { return result < 0 && errno == ECHILD }
        let signal = status & 0x7f
        exit = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        return true
    }

    /// Once the program has ended (or `grace` seconds passed: then it is ended), calls `done` on
    /// the loop with its standard error and exit.
    func finish(grace: Double, _ done: @escaping (String, IPCChildExit?) -> Void) {
        let deadline = MonotonicClock.now() + grace
        func check() {
            if reap(WNOHANG) || MonotonicClock.now() >= deadline {
                drainStderr()
                terminate()
                done(stderrText, exit)
                return
            }
            pollTimer = loop?.schedule(after: 0.02) { check() }
        }
        check()
    }

    /// Ends the program if it still runs and reaps it; closes our descriptors.
    func terminate() {
        guard !terminated else { return }
        terminated = true
        if let pollTimer { loop?.cancel(pollTimer) }
        pollTimer = nil
        if let stderrWatch { loop?.unwatch(stderrWatch) }
        stderrWatch = nil
        if exit == nil && !reap(WNOHANG) {
            kill(pid, SIGTERM)
            let deadline = MonotonicClock.now() + 1
            while !reap(WNOHANG) && MonotonicClock.now() < deadline { usleep(5_000) }
            if exit == nil {
                kill(pid, SIGKILL)
                _ = reap(0)
            }
        }
        close(stderrFD)
    }
    private var terminated = false
}
