// PipePair: anonymous pipes for child processes, close-on-exec, each end blocking or not.
// (Signals go through BridgeCore's SignalPipe.)

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BridgeCore

/// A pipe with both ends close-on-exec and non-blocking.
func makePipe(nonBlockingRead: Bool = true, nonBlockingWrite: Bool = true) throws(SystemError) -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else { throw SystemError("pipe") }
    for (fd, nonBlocking) in [(fds[0], nonBlockingRead), (fds[1], nonBlockingWrite)] {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }
    return (fds[0], fds[1])
}
