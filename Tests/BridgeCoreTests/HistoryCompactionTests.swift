// HistoryCompactionTests: a store that compacts in the background (as the SessionHub's do) never
// waits for a rewrite's fsync on its own thread, its file holds everything it recorded at every
// moment (what a new process reads after a `kill -9`), and the rewrite, once synced, replaces the
// file with the lines appended meanwhile at its end.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct HistoryCompactionTests {
    /// The path an open descriptor names (/proc/self/fd).
    static func pathOf(_ fd: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }

    /// What the file says against what the store holds; empty when they agree.
    static func mismatch(_ store: HistoryStore) -> String? {
        let disk = HistoryStore.read(path: store.path)
        let turns = Array(disk.turns.suffix(store.maxHistory))
        if turns != store.turns { return "turns on disk \(turns.map(\.id)) != \(store.turns.map(\.id))" }
        if Array(disk.inputs.suffix(store.maxInputs)) != store.inputs { return "inputs differ" }
        let queuedOnDisk = disk.outbox.filter { $0.state == .queued }.map(\.id)
        let queued = store.outbox.filter { $0.state == .queued }.map(\.id)
        if queuedOnDisk != queued { return "queued outbox on disk \(queuedOnDisk) != \(queued)" }
        if !disk.warnings.isEmpty { return "warnings \(disk.warnings)" }
        return nil
    }

    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        private var finished = false
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
        var isFinished: Bool {
            get { lock.withLock { finished } }
            set { lock.withLock { finished = newValue } }
        }
    }

    private struct Handed<Value>: @unchecked Sendable { let value: Value }

    @Test func theRewritesFsyncIsNotWaitedForAndTheFileHoldsEverythingThroughout() throws {
        let tmp = TempDir()
        // fsync of the rewrite's temp file blocks while the gate is shut; every other fsync
        // (outbox entries, finished turns) goes through.
        let gate = FaultSwitch()
        gate.isOn = true
        let io = HistoryIO(fsync: { fd in
            if Self.pathOf(fd).hasSuffix(".tmp") { while gate.isOn { usleep(1000) } }
            return PlatformFile.fsync(fd)
        })
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 5, maxInputs: 10, io: io)
        store.compactsInBackground = true
        store.load()
        let log = Log()
        let handed = Handed(value: store)
        var step = 0
        let steps = 60
        let thread = Thread {
            let store = handed.value
            for i in 0..<steps {
                store.record(Turn(id: "t\(i)", prompt: "p\(i)", sentAt: Double(i)))
                store.recordInput("p\(i)", at: Double(i))
                store.record(finishedTurn("t\(i)", at: Double(i), response: "r\(i)"))
                if i % 7 == 0 { store.recordOutbox(OutboxEntry(id: "o\(i)", text: "q\(i)", queuedAt: Double(i))) }
                if i % 7 == 3 { store.recordOutbox(OutboxEntry(id: "o\(i - 3)", text: "q\(i - 3)", state: .delivered, queuedAt: Double(i - 3), changedAt: Double(i))) }
                if let problem = Self.mismatch(store) { log.add("step \(i): \(problem)") }
                if let error = store.lastError { log.add("step \(i): \(error)") }
            }
            log.isFinished = true
        }
        thread.start()
        let deadline = MonotonicClock.now() + 60
        while !log.isFinished && MonotonicClock.now() < deadline { usleep(2000) }
        let finishedWhileGated = log.isFinished
        #expect(finishedWhileGated, "the store waited for the rewrite's fsync")
        #expect(store.compactions == 0 || !finishedWhileGated)
        #expect(FileManager.default.fileExists(atPath: store.path + ".tmp"), "a rewrite was under way")
        gate.isOn = false
        while !log.isFinished { usleep(2000) }
        #expect(log.all.isEmpty, "\(log.all)")
        let linesBefore = fileLines(store.path).count

        // Once synced, the next append swaps the rewrite in.
        let swapDeadline = MonotonicClock.now() + 60
        while store.compactions == 0 && MonotonicClock.now() < swapDeadline {
            step += 1
            store.record(finishedTurn("u\(step)", at: Double(steps + step)))
            usleep(5000)
        }
        #expect(store.compactions >= 1)
        #expect(Self.mismatch(store) == nil, "\(Self.mismatch(store) ?? "")")
        #expect(fileLines(store.path).count < linesBefore, "the rewrite replaced the file")
        #expect(store.lastError == nil)
        // The swap may have started the next rewrite at once (the lines appended meanwhile are
        // past the threshold again); flush waits for it and swaps it in too.
        store.flush()
        #expect(!FileManager.default.fileExists(atPath: store.path + ".tmp"))
        #expect(Self.mismatch(store) == nil, "\(Self.mismatch(store) ?? "")")
        store.releaseLock()
        let reloaded = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 5, maxInputs: 10)
        reloaded.load()
        #expect(reloaded.turns == store.turns)
        #expect(reloaded.outbox.filter { $0.state == .queued }.map(\.id) == store.outbox.filter { $0.state == .queued }.map(\.id))
    }

    /// A store dropped (closed) while its rewrite is under way leaves the old file, complete,
    /// and no temp file.
    /// A history this store made itself holds nothing of another writer's: its first background
    /// rewrite reads nothing back (before, the new file counted as foreign and the whole file was
    /// read and decoded on the loop), and the file still holds everything after it.
    @Test func aNewHistorysFirstRewriteReadsNothingBack() throws {
        let tmp = TempDir()
        let readOpens = Log()
        var syscalls = Syscalls.live
        syscalls.open = { path, flags, mode in
            if flags & O_ACCMODE == O_RDONLY && path.hasSuffix(".jsonl") { readOpens.add(path) }
            return Syscalls.live.open(path, flags, mode)
        }
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 5, maxInputs: 10,
                                 io: HistoryIO(syscalls: syscalls))
        store.compactsInBackground = true
        store.load()
        let before = readOpens.all.count
        var turns = 0
        while store.compactions == 0 && turns < 200 {
            turns += 1
            store.record(finishedTurn("t\(turns)", at: Double(turns)))
            usleep(1000)
        }
        #expect(store.compactions > 0, "no rewrite after \(turns) turns")
        // The swap may have started the next rewrite at once (on a loaded machine the turns
        // recorded while the first ran are past the threshold again): flush swaps that in too.
        store.flush()
        // Opened to read twice per rewrite, for the file's identity when it starts and when it
        // is swapped in; never to read its records back.
        #expect(readOpens.all.count - before == 2 * store.compactions, "\(store.compactions) rewrites: \(readOpens.all)")
        #expect(Self.mismatch(store) == nil, "\(Self.mismatch(store) ?? "")")
    }

    @Test func closingDuringARewriteKeepsTheOldFile() throws {
        let tmp = TempDir()
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 3, maxInputs: 4)
        store.compactsInBackground = true
        store.load()
        var i = 0
        while !FileManager.default.fileExists(atPath: store.path + ".tmp") && i < 200 {
            store.record(finishedTurn("t\(i)", at: Double(i)))
            i += 1
        }
        #expect(store.compactions == 0 || i < 200)
        store.close()
        #expect(!FileManager.default.fileExists(atPath: store.path + ".tmp"))
        #expect(Array(HistoryStore.read(path: store.path).turns.suffix(3)) == store.turns)
    }
}
