// ProcessTree: the agent's hold on everything its children start. On Linux the agent becomes a
// child subreaper (CAgentSys), so a grandchild whose parent exits (a `cmd &` in a shell, a
// double-forked daemon, even one that called setsid) is re-parented to the agent instead of init.
// The descendants are then found by their parent pids in /proc and ended with the turn and on
// exit; adopted orphans that exit are reaped here (never a tracked child, whose status its
// ChildProcess collects). Elsewhere only the children's process groups are ended.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore
import CAgentSys

public enum ProcessTree {
    /// Makes the agent the reaper of its orphaned descendants. nil on success, else why not.
    public static func becomeSubreaper() -> String? {
        ccb_set_child_subreaper() == 0 ? nil : SystemError("prctl(PR_SET_CHILD_SUBREAPER)").description
    }

    /// The living descendants of `root` (zombies excluded), found by parent pid in /proc, minus
    /// `spared` and its own descendants. Empty where /proc cannot be read.
    public static func descendants(of root: pid_t = getpid(), sparing spared: pid_t? = nil) -> [pid_t] {
        descendants(of: root, sparing: spared, in: processTable())
    }

    private static func descendants(of root: pid_t, sparing spared: pid_t?, in table: [pid_t: Entry]) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for (pid, entry) in table { children[entry.parent, default: []].append(pid) }
        var result: [pid_t] = []
        var stack = children[root] ?? []
        while let pid = stack.popLast(), result.count < 100_000 {
            if pid == spared { continue }
            if table[pid]?.zombie == false { result.append(pid) }
            stack += children[pid] ?? []
        }
        return result
    }

    /// SIGKILLs every descendant except `spared`'s subtree, round after round (a process killed
    /// hands its children to us), and reaps those that become ours. Gives up after `timeout`.
    public static func endDescendants(sparing spared: pid_t? = nil, timeout: Double = 0.5) {
        let deadline = MonotonicClock.now() + timeout
        while true {
            let table = processTable()
            let living = descendants(of: getpid(), sparing: spared, in: table)
            reapAdopted(sparing: spared, in: table)
            if living.isEmpty || MonotonicClock.now() >= deadline { return }
            for pid in living { _ = kill(pid, SIGKILL) }
            _ = poll(nil, 0, 2)
        }
    }

    /// Reaps exited children of ours other than `spared` (orphans we adopted as subreaper).
    public static func reapAdopted(sparing spared: pid_t? = nil) {
        reapAdopted(sparing: spared, in: processTable())
    }

    private static func reapAdopted(sparing spared: pid_t?, in table: [pid_t: Entry]) {
        let me = getpid()
        for (pid, entry) in table where entry.parent == me && entry.zombie && pid != spared {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }

    private struct Entry {
        var parent: pid_t
        var zombie: Bool
    }

    /// pid → (parent, zombie) for every process in /proc.
    private static func processTable() -> [pid_t: Entry] {
        guard let dir = opendir("/proc") else { return [:] }
        defer { closedir(dir) }
        var table: [pid_t: Entry] = [:]
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = pid_t(name), let stat = readStat(pid) else { continue }
            table[pid] = stat
        }
        return table
    }

    /// Parent pid and state from /proc/PID/stat ("pid (comm) S ppid …"; comm may hold anything).
    private static func readStat(_ pid: pid_t) -> Entry? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { closeDescriptor(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0, let close = buffer[..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<n].split(separator: UInt8(ascii: " "))
        guard fields.count >= 2, let parent = pid_t(String(decoding: fields[1], as: UTF8.self)) else { return nil }
        let state = fields[0].first ?? 0
        return Entry(parent: parent, zombie: state == UInt8(ascii: "Z") || state == UInt8(ascii: "X"))
    }
}
