// ChildProcess: one child started (never through a shell) in its own process group, its stdout
// and stderr on one non-blocking pipe (so their interleaving is kept), and optionally a
// non-blocking pipe to its stdin. On Linux it is started by CAgentSys's fork+exec so that it
// gets SIGKILL when the agent dies, even of SIGKILL, and no descriptor but 0-2; elsewhere with
// posix_spawnp. Nothing here blocks except `terminate`, which waits at most `grace` seconds
// before SIGKILL.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore
import CAgentSys

public final class ChildProcess {
    public let pid: pid_t
    public private(set) var outputFD: Int32
    public private(set) var stdinFD: Int32
    /// Exit code once reaped: the status for a normal exit, 128 + signal when killed.
    public private(set) var exitCode: Int32?
    public private(set) var killedBySignal: Int32?

    private init(pid: pid_t, outputFD: Int32, stdinFD: Int32) {
        self.pid = pid
        self.outputFD = outputFD
        self.stdinFD = stdinFD
    }

    deinit {
        closeOutput()
        closeStdin()
    }

    /// Starts `argv` (looked up in PATH). stdin is /dev/null unless `withStdin`.
    public static func spawn(_ argv: [String], withStdin: Bool) throws(SystemError) -> ChildProcess {
        precondition(!argv.isEmpty)
        let output = try makePipe(nonBlockingRead: true, nonBlockingWrite: false)
        var input: (read: Int32, write: Int32)? = nil
        if withStdin {
            do {
                input = try makePipe(nonBlockingRead: false, nonBlockingWrite: true)
            } catch {
                close(output.read); close(output.write)
                throw error
            }
        }
        defer {
            close(output.write)
            if let input { close(input.read) }
        }
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        #if os(Linux)
        let pid = ccb_spawn_child(argv[0], cArgs, input?.read ?? -1, output.write)
        if pid < 0 {
            let error = SystemError("fork/exec", errno, path: argv[0])
            close(output.read)
            if let input { close(input.write) }
            throw error
        }
        #else
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let input {
            posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, output.write, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group, so an interrupt or shutdown reaches the whole tree the child starts.
        posix_spawnattr_setpgroup(&attributes, 0)
        // We ignore SIGPIPE; ignored signals survive exec, so give the child the defaults back.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGQUIT] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, environ)
        if rc != 0 {
            close(output.read)
            if let input { close(input.write) }
            throw SystemError("posix_spawnp", rc, path: argv[0])
        }
        #endif
        return ChildProcess(pid: pid, outputFD: output.read, stdinFD: input?.write ?? -1)
    }

    public var isRunning: Bool { exitCode == nil }

    /// Non-blocking waitpid; true once the child has been reaped.
    @discardableResult
    public func reap() -> Bool {
        if exitCode != nil { return true }
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return false }
        let signal = status & 0x7F
        if signal == 0 {
            exitCode = (status >> 8) & 0xFF
        } else {
            killedBySignal = signal
            exitCode = 128 + signal
        }
        return true
    }

    /// Sends `signal` to the child's whole process group.
    public func signalGroup(_ signal: Int32) {
        guard exitCode == nil else { return }
        if kill(-pid, signal) != 0 { _ = kill(pid, signal) }
    }

    /// SIGTERM to the group, SIGKILL after `grace` seconds, then reaps. Returns within about `grace`.
    public func terminate(grace: Double = 0.3) {
        guard !reap() else { killGroupRemnants(); return }
        signalGroup(SIGTERM)
        let deadline = MonotonicClock.now() + grace
        while MonotonicClock.now() < deadline {
            if reap() { killGroupRemnants(); return }
            _ = poll(nil, 0, 10)
        }
        signalGroup(SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        exitCode = exitCode ?? 137
        killGroupRemnants()
    }

    /// Grandchildren left in the group after the leader died get SIGKILL too.
    func killGroupRemnants() {
        _ = kill(-pid, SIGKILL)
    }

    public func closeOutput() {
        if outputFD >= 0 { close(outputFD); outputFD = -1 }
    }

    public func closeStdin() {
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
    }
}

extension ChildProcess {
    /// What an engine talking to this child over pipes waits for: its output while the reader
    /// keeps up, its stdin while input is waiting to be written.
    func pollRequests(outputBacklogged: Bool, inputPending: Bool) -> [PollRequest] {
        var requests: [PollRequest] = []
        if outputFD >= 0, !outputBacklogged { requests.append(PollRequest(fd: outputFD, events: Int16(POLLIN))) }
        if stdinFD >= 0, inputPending { requests.append(PollRequest(fd: stdinFD, events: Int16(POLLOUT))) }
        return requests
    }

    /// A ready descriptor of this child: output is read into `received` (end of file closes it);
    /// stdin writable calls `writeInput`, an error or hangup on it closes it.
    func handle(fd: Int32, revents: Int16, received: ([UInt8]) -> Void, writeInput: () -> Void) {
        if fd == outputFD {
            switch readChunk(fd) {
            case nil: closeOutput()
            case let bytes?: if !bytes.isEmpty { received(bytes) }
            }
        } else if fd == stdinFD {
            if revents & Int16(POLLERR | POLLHUP) != 0 { closeStdin() } else { writeInput() }
        }
    }
}
