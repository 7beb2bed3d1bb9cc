// Supervisor: `cc-bridge-agent supervise -- serve …` re-runs the agent when it crashes (exits
// non-zero or dies of a signal), after 1 s, 2 s, 4 s … (at most 30 s; the delay starts over once
// an agent stayed up 10 s). An agent that exits 0 (it was told to stop) ends the supervisor too.
// SIGTERM/SIGINT are passed on to the agent; SIGKILL follows after 1 s.
// On Linux the supervisor is a child subreaper: when the agent dies, even of SIGKILL, whatever
// its children left running is re-parented here and ended before the next agent starts.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore

public struct SupervisorOptions: Sendable {
    /// The program to run (normally this very executable) and its arguments.
    public var executable: String
    public var arguments: [String]
    /// Restarts in a row before giving up; nil means never give up.
    public var maxRestarts: Int?
    public init(executable: String, arguments: [String], maxRestarts: Int? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.maxRestarts = maxRestarts
    }
}

public final class Supervisor {
    let options: SupervisorOptions
    public var log: (String) -> Void = { _ in }

    public init(options: SupervisorOptions) { self.options = options }

    /// Supervises until told to stop or the agent exits cleanly; returns the exit status to use.
    public func run() throws(SystemError) -> Int32 {
        SignalSetup.ignoreSIGPIPE()
        let signalReadEnd = SignalPipe.route([SIGTERM, SIGINT, SIGCHLD])
        if signalReadEnd < 0 { throw SystemError("pipe") }
        var backoff = RestartBackoff()
        backoff.maximumAttempts = options.maxRestarts ?? Int.max
        if let problem = ProcessTree.becomeSubreaper() {
            log("cannot adopt what a dead agent leaves running (\(problem))")
        }
        while true {
            let pid: pid_t
            do {
                pid = try Supervisor.spawnInheriting([options.executable] + options.arguments)
            } catch {
                log("cannot start the agent: \(error)")
                return 127
            }
            let started = MonotonicClock.now()
            log("started agent pid \(pid)")
            var status: Int32 = 0
            var exited = false
            var stopping: Double? = nil
            while !exited {
                var fd = pollfd(fd: signalReadEnd, events: Int16(POLLIN), revents: 0)
                _ = poll(&fd, 1, stopping == nil ? 1000 : 20)
                for sig in SignalPipe.drain() where sig == SIGTERM || sig == SIGINT {
                    if stopping == nil {
                        log("received signal \(sig); stopping the agent")
                        _ = kill(pid, SIGTERM)
                        stopping = MonotonicClock.now()
                    }
                }
                if waitpid(pid, &status, WNOHANG) == pid { exited = true; break }
                ProcessTree.reapAdopted(sparing: pid)
                if let since = stopping, MonotonicClock.now() - since > 1 { _ = kill(pid, SIGKILL) }
            }
            let leftovers = ProcessTree.descendants()
            if !leftovers.isEmpty {
                log("ending \(leftovers.count) process(es) the agent left running")
                ProcessTree.endDescendants()
            }
            if stopping != nil { return 0 }
            let signal = status & 0x7F
            let code = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            if code == 0 {
                log("agent exited cleanly")
                return 0
            }
            let phrase = exitPhrase(code: code, signal: signal == 0 ? nil : signal)
            switch backoff.childDied(uptime: MonotonicClock.now() - started) {
            case .giveUp(let attempts):
                log("agent \(phrase); gave up after \(attempts) restarts")
                return code
            case .restart(let delay, let attempt):
                log("agent \(phrase); restarting in \(formatSeconds(delay)) s (restart \(attempt))")
                let until = MonotonicClock.now() + delay
                while MonotonicClock.now() < until {
                    var fd = pollfd(fd: signalReadEnd, events: Int16(POLLIN), revents: 0)
                    let ms = Int32(max(1, min(1000, (until - MonotonicClock.now()) * 1000)))
                    _ = poll(&fd, 1, ms)
                    if SignalPipe.drain().contains(where: { $0 == SIGTERM || $0 == SIGINT }) { return 0 }
                }
            }
        }
    }

    /// Starts `argv` with our stdin, stdout and stderr, in our process group.
    static func spawnInheriting(_ argv: [String]) throws(SystemError) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], nil, &attributes, cArgs, environ)
        guard rc == 0 else { throw SystemError("posix_spawnp", rc, path: argv[0]) }
        return pid
    }

    /// This executable's path (Linux: /proc/self/exe), for re-running ourselves.
    public static func currentExecutable(fallback: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return fallback }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
