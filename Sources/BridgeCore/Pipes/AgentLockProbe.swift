// AgentLockProbe: is an instance served by our own cc-bridge-agent? Only it holds an flock(2) on
// `<pipe-dir>/<name>.lock` while it runs (BridgeAgent's InstanceLock); cc-bridge's
// container_agent.py makes no such file. The plain protocol has no handshake, so this is how the
// host tells, on the plain protocol, whether a 0x03 byte is an interrupt (ours) or would become a
// "^C" prompt line (upstream). flock works across a bind mount, so it holds for an agent in a
// container; the pid written in the file would not (another pid namespace).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum AgentLockProbe {
    /// The lock file cc-bridge-agent holds for `name`.
    public static func path(for name: String, in directory: String) -> String {
        directory + "/" + name + ".lock"
    }

    /// True when a live cc-bridge-agent holds the lock. A lock file we may not open (the agent
    /// runs as another user; its file is 0600) counts as held: the agent removes it when it exits.
    /// The probe takes a shared lock for an instant when nobody holds it; an agent starting at
    /// that very instant refuses to start (it says so, and a supervisor restarts it).
    public static func ourAgentServes(_ name: String, in directory: String) -> Bool {
        let path = path(for: name, in: directory)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 { return errno == EACCES || errno == EPERM }
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFREG) else { return false }
        var rc: Int32
        repeat { rc = flock(fd, LOCK_SH | LOCK_NB) } while rc != 0 && errno == EINTR
        if rc != 0 { return errno == EWOULDBLOCK }
        _ = flock(fd, LOCK_UN)
        return false
    }
}
