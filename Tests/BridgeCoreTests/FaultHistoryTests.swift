// FaultHistoryTests: history files that are huge (50 MB of turns, of garbage, one 50 MB line)
// load with bounded results and are compacted; a disk that fills up during the compaction
// leaves the original file intact. (Torn, corrupt and ENOSPC-on-append cases are in
// HistoryStoreTests.)

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

private func writeHistory(_ tmp: TempDir, _ fill: (FileHandle) -> Void) throws -> String {
    let path = HistoryStore.historyPath(instance: "alpha", stateDirectory: tmp.path)
    try FileManager.default.createDirectory(atPath: tmp.path + "/history", withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    fill(handle)
    try handle.close()
    return path
}

/// A descriptor a @Sendable syscall closure records and another reads.
final class SharedFD: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int32 = -2
    var fd: Int32 {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

private func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
}

@Suite(.serialized) struct FaultHistoryTests {
    @Test func fiftyMegabytesOfTurnsLoadsTheNewestMaxHistoryAndCompacts() throws {
        let tmp = TempDir()
        let path = try writeHistory(tmp) { handle in
            var chunk = Data()
            for i in 0..<100_000 {
                chunk.append(contentsOf: HistoryRecord.turn(finishedTurn("t\(i)", at: Double(i), response: String(repeating: "r", count: 400))).encodedLine())
                chunk.append(0x0A)
                if chunk.count > 1 << 20 { handle.write(chunk); chunk.removeAll(keepingCapacity: true) }
            }
            handle.write(chunk)
        }
        #expect(fileSize(path) > 50_000_000)
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 100)
        let warnings = store.load()
        #expect(warnings.isEmpty)
        #expect(store.turns.count == 100)
        #expect(store.turns.last?.id == "t99999")
        #expect(fileSize(path) < 100_000, "compacted to max_history turns")
        #expect(HistoryStore.read(path: path).turns.count == 100)
    }

    @Test func fiftyMegabytesOfGarbageLinesGiveBoundedWarnings() throws {
        let tmp = TempDir()
        let path = try writeHistory(tmp) { handle in
            let line = Data(("{\"v\":1,\"kind\":\"turn\",\"turn\":" + String(repeating: "x", count: 90) + "\n").utf8)
            var chunk = Data()
            for _ in 0..<(1 << 20) / line.count { chunk.append(line) }
            for _ in 0..<50 { handle.write(chunk) }
        }
        #expect(fileSize(path) > 50_000_000)
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        let warnings = store.load()
        #expect(store.turns.isEmpty)
        #expect(warnings.count <= HistoryStore.maxWarnings + 1, "\(warnings.count) warnings kept in memory")
        #expect(warnings.last?.contains("more damaged lines") == true, "\(warnings.suffix(2))")
        #expect(fileSize(path) == 0, "the damage is compacted away")
    }

    @Test func oneFiftyMegabyteLineWithoutNewlineIsOneWarning() throws {
        let tmp = TempDir()
        let good = HistoryRecord.turn(finishedTurn("a", at: 1)).encodedLine() + [0x0A]
        let path = try writeHistory(tmp) { handle in
            handle.write(Data(good))
            let block = Data(repeating: 0x7B, count: 1 << 20)   // "{{{{..."
            for _ in 0..<50 { handle.write(block) }
        }
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        let warnings = store.load()
        #expect(store.turns.map(\.id) == ["a"])
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains(":2: torn last line") == true)
        #expect(fileSize(path) == good.count)
    }

    @Test func diskFullDuringCompactionKeepsTheOriginalFile() throws {
        let tmp = TempDir()
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        store.record(finishedTurn("a", at: 1))
        store.record(finishedTurn("b", at: 2))
        store.close()
        // Damage it so that loading wants to rewrite it.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: store.path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"torn".utf8))
        try handle.close()
        let original = try Data(contentsOf: URL(fileURLWithPath: store.path))

        var syscalls = Syscalls.live
        // The temporary file of the rewrite lives on a full disk: its writes go to the real
        // /dev/full (the store refuses to open a device as its temp file, so the file stays real).
        let full = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(full >= 0)
        defer { close(full) }
        let tempFD = SharedFD()
        syscalls.open = { path, flags, mode in
            let fd = Syscalls.live.open(path, flags, mode)
            if path.hasSuffix(".tmp") { tempFD.fd = fd }
            return fd
        }
        syscalls.write = { fd, buffer, count in
            Syscalls.live.write(fd == tempFD.fd ? full : fd, buffer, count)
        }
        let loaded = HistoryStore(instance: historyName(), stateDirectory: tmp.path, io: HistoryIO(syscalls: syscalls))
        loaded.load()
        #expect(loaded.turns.map(\.id) == ["a", "b"])
        #expect(loaded.lastError?.isDiskFull == true, "\(String(describing: loaded.lastError))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.path)) == original, "the original is untouched")
        #expect(!FileManager.default.fileExists(atPath: store.path + ".tmp"))
    }
}

// MARK: files that are not what they seem, two writers, a huge file (issue 17)

/// Runs `body` on its own thread. True when it finished within `timeout`; otherwise false, after
/// unblocking it by opening both ends of `fifos` until it finishes (so a failing test never hangs).
private func finishes(within timeout: Double, unblocking fifos: [String], _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = FaultSwitch()
    let thread = Thread { body(); done.isOn = true }
    thread.start()
    let deadline = MonotonicClock.now() + timeout
    while !done.isOn && MonotonicClock.now() < deadline { usleep(2000) }
    if done.isOn { return true }
    while !done.isOn {
        for fifo in fifos {
            let r = open(fifo, O_RDONLY | O_NONBLOCK)
            let w = open(fifo, O_WRONLY | O_NONBLOCK)
            usleep(5000)
            if w >= 0 { close(w) }
            if r >= 0 { close(r) }
        }
    }
    return false
}

/// Lets a store cross into the test's worker thread (only that thread uses it meanwhile).
private struct Handed<Value>: @unchecked Sendable { let value: Value }

private final class Box<Value> { var value: Value? }

private func isFIFO(_ path: String) -> Bool { HistoryFile.kindOf(path) == "FIFO" }

extension FaultHistoryTests {
    @Test func aFifoAtTheHistoryPathIsRefusedWithoutBlockingAndHistoryGoesBeside() throws {
        let tmp = TempDir()
        let path = HistoryStore.historyPath(instance: "alpha", stateDirectory: tmp.path)
        try FileManager.default.createDirectory(atPath: tmp.path + "/history", withIntermediateDirectories: true)
        #expect(mkfifo(path, 0o600) == 0)
        let store = Handed(value: HistoryStore(instance: historyName(), stateDirectory: tmp.path))
        let finished = finishes(within: 5, unblocking: [path]) {
            store.value.load()
            store.value.record(finishedTurn("a", at: 1))
        }
        #expect(finished, "load or record blocked on the FIFO at \(path)")
        let beside = HistoryStore.besidePath(path)
        let notice = store.value.warnings.first ?? ""
        #expect(notice.contains("is a FIFO, not a regular file") && notice.contains(path) && notice.contains(beside), "\(notice)")
        #expect(isFIFO(path), "the FIFO is left in place")
        #expect(store.value.path == beside)
        // What the `history` and `status` commands read: the fresh file, with the same notice.
        let read = Handed(value: Box<HistoryStore.Contents>())
        let stateDirectory = tmp.path
        let readFinished = finishes(within: 5, unblocking: [path]) {
            read.value.value = HistoryStore.read(instance: "alpha", stateDirectory: stateDirectory)
        }
        #expect(readFinished, "reading blocked on the FIFO")
        let contents = try #require(read.value.value)
        #expect(contents.turns.map(\.id) == ["a"])
        #expect(contents.warnings.first?.contains("is a FIFO") == true)
        #expect(contents.path == beside)
    }

    @Test func aFifoAtTheCompactionTempNameDoesNotBlockTheRewrite() throws {
        let tmp = TempDir()
        let first = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        first.record(finishedTurn("a", at: 1))
        first.record(finishedTurn("b", at: 2))
        first.close()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: first.path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"torn".utf8))   // damage, so loading rewrites the file
        try handle.close()
        #expect(mkfifo(first.path + ".tmp", 0o600) == 0)
        let store = Handed(value: HistoryStore(instance: historyName(), stateDirectory: tmp.path))
        let finished = finishes(within: 5, unblocking: [first.path + ".tmp"]) { store.value.load() }
        #expect(finished, "the rewrite blocked on the FIFO at the temp name")
        #expect(store.value.compactions == 1 && store.value.lastError == nil, "\(String(describing: store.value.lastError))")
        let contents = HistoryStore.read(path: first.path)
        #expect(contents.turns.map(\.id) == ["a", "b"])
        #expect(contents.warnings.isEmpty, "\(contents.warnings)")
        #expect(!FileManager.default.fileExists(atPath: first.path + ".tmp"))
    }

    /// Root reads any file, so the owner rule is what protects another user's history: as root
    /// the file is chowned to another uid (as another user it would be unreadable as well).
    @Test func anotherUsersHistoryIsLeftInPlaceAndAFreshFileIsStartedBeside() throws {
        guard geteuid() == 0 else { return }   // CI runs as root; chown needs it
        let tmp = TempDir()
        let first = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        first.record(finishedTurn("old1", at: 1))
        first.record(Turn(id: "old2", prompt: "p", sentAt: 2))
        first.record(finishedTurn("old2", at: 2))   // superseded record: loading would compact
        first.close()
        #expect(chown(first.path, 65534, 65534) == 0)
        let original = try Data(contentsOf: URL(fileURLWithPath: first.path))

        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 1)
        store.load()
        let beside = HistoryStore.besidePath(first.path)
        let notice = store.warnings.first ?? ""
        #expect(notice.contains("owned by uid 65534") && notice.contains(first.path) && notice.contains(beside), "\(notice)")
        #expect(store.turns.isEmpty, "another user's file is not read")
        for i in 0..<5 { store.record(finishedTurn("new\(i)", at: Double(10 + i))) }   // several rewrites
        #expect(store.compactions >= 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: first.path)) == original, "never replaced or appended to")
        var st = stat()
        #expect(stat(first.path, &st) == 0 && st.st_uid == 65534)
        #expect(HistoryStore.read(path: beside).turns.map(\.id) == ["new4"])
    }

    /// Root cannot be refused a read, so EACCES comes through the Syscalls seam here; the
    /// end-to-end test runs the real TUI as an unprivileged uid on a mode 0200 file.
    @Test func anUnreadableHistoryIsNeverReplaced() throws {
        let tmp = TempDir()
        let first = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        first.record(finishedTurn("old", at: 1))
        first.close()
        let original = try Data(contentsOf: URL(fileURLWithPath: first.path))
        let standard = first.path
        var syscalls = Syscalls.live
        syscalls.open = { path, flags, mode in
            if path == standard && flags & O_ACCMODE == O_RDONLY { errno = EACCES; return -1 }
            return Syscalls.live.open(path, flags, mode)
        }
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 1, io: HistoryIO(syscalls: syscalls))
        store.load()
        let notice = store.warnings.first ?? ""
        #expect(notice.contains("Permission denied") && notice.contains(standard) && notice.contains(HistoryStore.besidePath(standard)),
                "\(notice)")
        for i in 0..<5 { store.record(finishedTurn("new\(i)", at: Double(10 + i))) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: standard)) == original, "the unreadable history is untouched")
        #expect(HistoryStore.read(path: HistoryStore.besidePath(standard)).turns.map(\.id) == ["new4"])
    }

    @Test func aSecondWriterIsReadOnlyAndCannotDropTheFirstOnesTurns() throws {
        let tmp = TempDir()
        let a = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 3)
        a.load()
        let b = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 3)
        b.load()
        #expect(a.readOnly == nil)
        #expect(b.readOnly?.contains("process \(getpid())") == true, "\(String(describing: b.readOnly))")
        a.record(finishedTurn("a1", at: 1))
        a.record(finishedTurn("a2", at: 2))
        for i in 0..<4 { b.record(finishedTurn("b\(i)", at: Double(3 + i))) }
        b.compact()
        #expect(b.lastError.map { "\($0)" }?.contains("only reads it") == true, "\(String(describing: b.lastError))")
        #expect(b.turns.count == 3, "the second one keeps its turns in memory")
        a.record(finishedTurn("a3", at: 10))
        #expect(HistoryStore.read(path: a.path).turns.map(\.id) == ["a1", "a2", "a3"])
    }

    /// A writer that takes no lock (an older binary) appends while this store holds the file:
    /// the rewrite merges what it added instead of dropping it.
    @Test func aRewriteKeepsTurnsAnotherWriterAppended() throws {
        let tmp = TempDir()
        let a = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 10)
        a.load()
        a.record(finishedTurn("a1", at: 1))
        let other = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 10)   // never loads: no lock
        other.record(finishedTurn("x1", at: 2))
        other.recordInput("typed elsewhere", at: 2.5)
        other.close()
        a.record(finishedTurn("a2", at: 3))
        a.compact()
        let contents = HistoryStore.read(path: a.path)
        #expect(contents.turns.map(\.id) == ["a1", "x1", "a2"])
        #expect(contents.inputs.map(\.text) == ["typed elsewhere"])
    }

    @Test func theLockDiesWithItsHolder() throws {
        let tmp = TempDir()
        let path = HistoryStore.historyPath(instance: "alpha", stateDirectory: tmp.path)
        try FileManager.default.createDirectory(atPath: tmp.path + "/history", withIntermediateDirectories: true)
        let holder = try Child.python("""
            import fcntl, os, sys, time
            fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, b"%d\\n" % os.getpid())
            print("locked", flush=True)
            time.sleep(60)
            """, [HistoryLock.lockPath(for: path)])
        _ = holder.stdout.fileHandleForReading.availableData   // "locked"
        let refused = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        refused.load()
        #expect(refused.readOnly?.contains("process \(holder.process.processIdentifier)") == true,
                "\(String(describing: refused.readOnly))")
        #expect(refused.record(finishedTurn("a", at: 1)) != nil)
        #expect(!FileManager.default.fileExists(atPath: path), "a read-only store writes nothing")
        holder.kill(SIGKILL)   // a crash: the kernel drops the lock
        let next = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        next.load()
        #expect(next.readOnly == nil)
        #expect(next.record(finishedTurn("b", at: 2)) == nil)
    }

    /// Loading reads from the end: a 64 MiB file costs about what its newest turns take.
    @Test func loadingAHugeFileReadsOnlyItsEnd() throws {
        let tmp = TempDir()
        let path = try writeHistory(tmp) { handle in
            var chunk = Data()
            for i in 0..<120_000 {
                chunk.append(contentsOf: HistoryRecord.turn(finishedTurn("t\(i)", at: Double(i), response: String(repeating: "r", count: 400))).encodedLine())
                chunk.append(0x0A)
                chunk.append(contentsOf: HistoryRecord.input(InputEntry(text: "prompt \(i)", at: Double(i))).encodedLine())
                chunk.append(0x0A)
                if chunk.count > 1 << 20 { handle.write(chunk); chunk.removeAll(keepingCapacity: true) }
            }
            handle.write(chunk)
        }
        let size = fileSize(path)
        #expect(size > 60_000_000)
        let counter = FaultSwitch()
        let bytes = SharedFD()
        bytes.fd = 0
        var syscalls = Syscalls.live
        syscalls.read = { fd, buffer, count in
            let n = Syscalls.live.read(fd, buffer, count)
            if n > 0 { counter.hit(); bytes.fd += Int32(truncatingIfNeeded: n >> 10) }
            return n
        }
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 100, maxInputs: 1000,
                                 io: HistoryIO(syscalls: syscalls))
        store.load()
        #expect(store.turns.count == 100 && store.turns.last?.id == "t119999")
        #expect(store.inputs.count == 1000 && store.inputs.last?.text == "prompt 119999")
        let readKiB = Int(bytes.fd)
        #expect(readKiB < 4096, "read \(readKiB) KiB of a \(size >> 20) MiB file")
        #expect(fileSize(path) < 1_000_000, "compacted to what was loaded")
    }
}
