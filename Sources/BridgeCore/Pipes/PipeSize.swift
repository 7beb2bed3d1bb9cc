// PipeSize: a pipe's capacity and how many of its bytes wait unread, as far as the kernel says.
// Linux keeps a pipe's data in page-sized buffers ("slots"): capacity / page size of them.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum PipeSize {
    #if os(Linux)
    // Glibc does not export these: F_LINUX_SPECIFIC_BASE (1024) + 7 and + 8.
    static let setPipeSize: Int32 = 1031
    static let getPipeSize: Int32 = 1032
    #endif

    /// The capacity in bytes, nil when the system does not say (not Linux, not a pipe).
    public static func capacity(_ fd: Int32) -> Int? {
        #if os(Linux)
        let size = fcntl(fd, getPipeSize)
        return size > 0 ? Int(size) : nil
        #else
        return nil
        #endif
    }

    /// Asks for a larger buffer; refused above /proc/sys/fs/pipe-max-size for unprivileged users.
    public static func enlarge(_ fd: Int32, to size: Int32) {
        #if os(Linux)
        _ = fcntl(fd, setPipeSize, size)
        #endif
    }

    /// Bytes in the pipe that no reader has taken yet (FIONREAD works on either end).
    public static func unread(_ fd: Int32) -> Int {
        var count: Int32 = 0
        return ioctl(fd, UInt(FIONREAD), &count) == 0 ? Int(count) : 0
    }

    /// A write of at most this many bytes to a pipe is atomic: all of it goes in, or none
    /// (POSIX PIPE_BUF; 4096 on Linux, 512 is the least POSIX allows).
    public static let atomicWrite: Int = {
        #if os(Linux)
        return 4096
        #else
        return 512
        #endif
    }()

    /// The kernel's page size: the unit in which a Linux pipe holds data.
    public static let page: Int = {
        let size = sysconf(Int32(_SC_PAGESIZE))
        return size > 0 ? size : 4096
    }()
}
