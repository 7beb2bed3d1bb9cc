// HistorySync: the fsync of a finished turn, off the caller's thread. A history record is one
// write(2) done before `HistoryStore.record` returns, so the page cache has it and a `kill -9`
// of the process loses nothing; the fsync only guards against the machine going down, and on
// ext4 it costs ~6 ms (p99 30 ms) that would stall the event loop between a reply and the next
// prompt. So a finished turn's fsync runs on a background queue, on a duplicate of the store's
// descriptor, `window` seconds after it is asked for; syncs asked for meanwhile are one (group
// commit): a script sending prompt after prompt costs one fsync per window, not one per turn
// (each a thread wake-up, a dup(2) and ~30 µs of ext4 on a 2-core machine the agent and the
// clients share). A failure is kept and handed to the store at its next write (which then
// rewrites the file, as after any failed write).
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
    /// Seconds a finished turn waits for its fsync, gathering the turns that finish meanwhile
    /// (the page cache already has them: only a machine going down in that time loses them).
    static let window = 0.01
    private let lock = NSLock()
    /// The file (the store's generation of its descriptor) whose sync waits, if any.
    private var waiting: Int?
    private var failure: Int32?
    private let fsync: @Sendable (Int32) -> Int32

    init(fsync: @escaping @Sendable (Int32) -> Int32) {
        self.fsync = fsync
    }

    /// Syncs `fd`'s file within `window` seconds, on the queue; nothing new is queued while a
    /// sync of the same file (`generation`: the store opened it anew since when it differs) waits.
    func schedule(_ fd: Int32, generation: Int) {
        lock.lock()
        if waiting == generation { lock.unlock(); return }
        let copy = dup(fd)
        guard copy >= 0 else { failure = errno; lock.unlock(); return }
        waiting = generation
        lock.unlock()
        Self.queue.asyncAfter(deadline: .now() + Self.window) { [self] in
            lock.lock()
            if waiting == generation { waiting = nil }
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
