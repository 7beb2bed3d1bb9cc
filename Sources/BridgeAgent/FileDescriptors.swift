// FileDescriptors: whether RLIMIT_NOFILE leaves room for the descriptors the agent will open
// later, checked once at start-up so a low limit is a clear refusal, not a half-working agent.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FileDescriptors {
    /// True when `count` more descriptors can be open at once now (probed with dup, then closed).
    static func available(_ count: Int) -> Bool {
        var probes: [Int32] = []
        defer { for fd in probes { closeDescriptor(fd) } }
        for _ in 0..<count {
            let fd = fcntl(2, F_DUPFD_CLOEXEC, 0)
            guard fd >= 0 else { return errno != EMFILE && errno != ENFILE }
            probes.append(fd)
        }
        return true
    }
}
