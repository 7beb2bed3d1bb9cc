// HistorySync: the fsync of a finished turn, off the caller's thread. A history record is one
// write(2) done before `HistoryStore.record` returns, so the page cache has it and a `kill -9`
// of the process loses nothing; the fsync only guards against the machine going down, and on
// ext4 it costs ~6 ms (p99 30 ms) that would stall the event loop between a reply and the next
// prompt. So a finished turn's fsync runs on a background queue, on a duplicate of the store's
// descriptor; syncs asked for while one waits are one (group commit). A failure is kept and
// handed to the store at its next write (which then rewrites the file, as after any failed write).
// What must be on disk before the caller goes on (an outbox entry: a queued prompt; the flush at
// shutdown; a compaction's temp file before its rename) keeps its synchronous fsync.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class HistorySync: @unchecked Sendable {
    private static let queue = DispatchQueue(label: "cc-bridge-tui.history-sync", qos: .utility)
    private let lock = NSLock()
    private var waiting = false
    private var failure: Int32?
    private let fsync: @Sendable (Int32) -> Int32

    init(fsync: @escaping @Sendable (Int32) -> Int32) {
        self.fsync = fsync
    }

    /// Syncs `fd`'s file soon, on the queue; nothing new is queued while a sync still waits.
    func schedule(_ fd: Int32) {
        lock.lock()
        if waiting { lock.unlock(); return }
        let copy = dup(fd)
        guard copy >= 0 else { failure = errno; lock.unlock(); return }
        waiting = true
        lock.unlock()
        Self.queue.async { [self] in
            lock.lock()
            waiting = false
            lock.unlock()
            let result = fsync(copy) == 0 ? nil : errno
            close(copy)
            lock.lock()
            if let result { failure = result }
            lock.unlock()
        }
    }

    /// The errno of a background fsync that failed since the last call, if any.
    func takeFailure() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        let f = failure
        failure = nil
        return f
    }
}
