// HistoryCompaction: a history rewrite done off the event loop. When a store that compacts in
// the background (the SessionHub's) crosses its size threshold, it hands a copy of what it holds
// (turns, inputs, queued outbox) to this job, which encodes it into a fresh temp file and fsyncs
// that file on its own queue: the two synchronous fsyncs of a rewrite (~6 ms p50, ~30 ms p99 on
// ext4) were the round trip's p99. Meanwhile the store keeps appending to the old file, which
// stays complete (a `kill -9` loses nothing), and keeps a copy of each line it appends since the
// snapshot (`tail`). At its next append after the job is done, the store writes the tail to the
// temp file (fsync'd there and then if it holds a record that must be on disk, an outbox entry),
// renames it over the history, and syncs the tail and the directory in the background (as a
// finished turn's fsync is). A failed job leaves the old file as it was and the temp file gone.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class HistoryCompaction: @unchecked Sendable {
    private static let queue = DispatchQueue(label: "cc-bridge-tui.history-compaction", qos: .utility)

    let temp: String
    /// The temp file, written and synced by the job; the store's once the job is done.
    let tempFD: Int32
    /// Lines and turn ids the snapshot wrote.
    let snapshotLines: Int
    let snapshotTurnIDs: Set<String>
    /// What the store appended to the old file since the snapshot (the store's thread only).
    var tail: [UInt8] = []
    var tailLines = 0
    var tailTurnIDs = Set<String>()
    var tailNeedsSync = false

    private let lock = NSLock()
    private let finished = DispatchSemaphore(value: 0)
    private var done = false
    private var failure: SystemError?

    /// Starts the job: `records` encoded into `tempFD` and synced, on the job's queue.
    init(temp: String, tempFD: Int32, turns: [Turn], inputs: [InputEntry], outbox: [OutboxEntry], io: HistoryIO) {
        self.temp = temp
        self.tempFD = tempFD
        snapshotLines = turns.count + inputs.count + outbox.count
        snapshotTurnIDs = Set(turns.map(\.id))
        Self.queue.async { [self] in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(snapshotLines * 160)
            for turn in turns { HistoryRecord.turn(turn).appendLine(to: &bytes); bytes.append(0x0A) }
            for input in inputs { HistoryRecord.input(input).appendLine(to: &bytes); bytes.append(0x0A) }
            for entry in outbox { HistoryRecord.outbox(entry).appendLine(to: &bytes); bytes.append(0x0A) }
            var result = HistoryStore.writeAll(tempFD, bytes, path: temp, syscalls: io.syscalls)
            if result == nil && io.fsync(tempFD) != 0 { result = SystemError("fsync", path: temp) }
            lock.withLock {
                failure = result
                done = true
            }
            finished.signal()
        }
    }

    var isDone: Bool { lock.withLock { done } }

    /// Waits for the job; its failure, if any.
    func wait() -> SystemError? {
        finished.wait()
        finished.signal()
        return lock.withLock { failure }
    }

    /// Keeps a copy of lines the store just appended to the old file.
    func appended(_ bytes: [UInt8], records: [HistoryRecord], mustSync: Bool) {
        tail += bytes
        tailLines += records.count
        for case .turn(let turn) in records { tailTurnIDs.insert(turn.id) }
        if mustSync { tailNeedsSync = true }
    }

    /// Drops the job: its temp file goes, the old file stays the history.
    func abandon(syscalls: Syscalls) {
        _ = wait()
        _ = syscalls.close(tempFD)
        unlink(temp)
    }

    /// The tail's fsync and the directory's, on the job's queue (after the rename).
    static func syncLater(fd: Int32, directory: String, io: HistoryIO) {
        queue.async {
            if fd >= 0 {
                _ = io.fsync(fd)
                _ = io.syscalls.close(fd)
            }
            let dfd = io.syscalls.open(directory, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC, 0)
            if dfd >= 0 {
                _ = io.fsync(dfd)
                _ = io.syscalls.close(dfd)
            }
        }
    }
}
