// HistoryStoreTests: the JSON Lines history file: round trip, damage, compaction, full disks
// (injected ENOSPC and the real /dev/full), permissions, and a writer killed mid-line.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// A switch a @Sendable syscall closure can read while the test flips it.
final class FaultSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var on = false
    private(set) var hits = 0
    var isOn: Bool {
        get { lock.withLock { on } }
        set { lock.withLock { on = newValue } }
    }
    func hit() { lock.withLock { hits += 1 } }
}

func historyName(_ raw: String = "alpha") -> InstanceName { try! InstanceName(validating: raw) }

func finishedTurn(_ id: String, at t: Double, response: String = "reply") -> Turn {
    var turn = Turn(id: id, prompt: "prompt " + id, sentAt: t)
    turn.response = response
    turn.firstByteAt = t + 0.5
    turn.doneAt = t + 1
    turn.status = .completed
    return turn
}

func fileLines(_ path: String) -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else { return [] }
    return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
}

func permissions(_ path: String) -> UInt32 {
    var st = stat()
    stat(path, &st)
    return UInt32(st.st_mode) & 0o777
}

@Suite struct HistoryStoreTests {
    @Test func roundTripThroughTheTrackerAndTheFile() throws {
        let tmp = TempDir()
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 10)
        var tracker = SessionTracker(settings: SessionSettings(), framing: .framed)
        for turn in tracker.promptSent(id: "a", text: "hello ünïcode \"quoted\"\n", at: 100) { store.record(turn) }
        for turn in tracker.output(text: "line 1\n", at: 101) { store.record(turn) }
        for turn in tracker.output(text: "line 2\n", at: 102) { store.record(turn) }
        for turn in tracker.framedDone(id: "a", status: .ok, exit: 0, at: 103) { store.record(turn) }
        store.recordInput("hello", at: 99)
        store.recordOutbox(OutboxEntry(id: "o1", text: "later", queuedAt: 104))
        #expect(store.lastError == nil)

        let reloaded = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 10)
        #expect(reloaded.load().isEmpty)
        #expect(reloaded.turns == tracker.turns)
        #expect(reloaded.turns.first?.response == "line 1\nline 2\n")
        #expect(reloaded.inputs == [InputEntry(text: "hello", at: 99)])
        #expect(reloaded.outbox.map(\.id) == ["o1"])
    }

    @Test func filesAre0600InA0700Directory() throws {
        let tmp = TempDir()
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path + "/state")
        store.record(finishedTurn("a", at: 1))
        #expect(permissions(tmp.path + "/state/history") == 0o700)
        #expect(permissions(store.path) == 0o600)
        #expect(store.path == tmp.path + "/state/history/alpha.jsonl")
    }

    @Test func aStreamingTurnIsWrittenWhenSentAndWhenDoneNotPerChunk() throws {
        let tmp = TempDir()
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        var tracker = SessionTracker(settings: SessionSettings(), framing: .framed)
        tracker.promptSent(id: "a", text: "p", at: 0).forEach { store.record($0) }
        for i in 0..<50 { tracker.output(text: "chunk \(i)\n", at: 1 + Double(i)).forEach { store.record($0) } }
        #expect(fileLines(store.path).count == 1, "only the pending record so far")
        #expect(store.turns.first?.response.hasPrefix("chunk 0\nchunk 1\n") == true, "memory has the latest version")
        tracker.framedDone(id: "a", status: .ok, exit: 0, at: 60).forEach { store.record($0) }
        #expect(fileLines(store.path).count == 2)
        let contents = HistoryStore.read(path: store.path)
        #expect(contents.turns.first?.status == .completed)
        #expect(contents.turns.first?.response.hasSuffix("chunk 49\n") == true)
    }

    /// A prompt's turn and its ↑/↓ input line go to the file in one write(2), in order.
    @Test func recordsMadeInABatchAreOneWrite() throws {
        let tmp = TempDir()
        let writes = FaultSwitch()
        var syscalls = Syscalls.live
        syscalls.write = { fd, buffer, count in
            writes.hit()
            return Syscalls.live.write(fd, buffer, count)
        }
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, io: HistoryIO(syscalls: syscalls))
        store.record(Turn(id: "warm", prompt: "p", sentAt: 0))
        let before = writes.hits
        let error = store.batch {
            store.record(Turn(id: "a", prompt: "hello", sentAt: 1))
            store.recordInput("hello", at: 1)
            #expect(writes.hits == before, "written inside the batch")
        }
        #expect(error == nil)
        #expect(writes.hits == before + 1)
        let lines = fileLines(store.path)
        #expect(lines.count == 3 && lines[1].contains("\"a\"") && lines[2].contains("input"), "\(lines)")
        let reloaded = HistoryStore.read(path: store.path)
        #expect(reloaded.turns.map(\.id) == ["warm", "a"] && reloaded.inputs.map(\.text) == ["hello"])
    }

    /// Turns finishing one after another share a background fsync (one per `HistorySync.window`),
    /// instead of a thread wake-up, a dup(2) and an fsync each.
    @Test func finishedTurnsInQuickSuccessionShareTheirFsync() throws {
        let tmp = TempDir()
        let syncs = FaultSwitch()
        let io = HistoryIO(fsync: { fd in
            syncs.hit()
            return PlatformFile.fsync(fd)
        })
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, io: io)
        store.record(finishedTurn("warm", at: 0))
        usleep(100_000)
        let before = syncs.hits
        for i in 0..<20 {
            store.record(finishedTurn("t\(i)", at: Double(i)))
            usleep(1000)
        }
        usleep(200_000)
        let spent = syncs.hits - before
        #expect(spent >= 1 && spent <= 5, "\(spent) fsyncs for 20 turns finished within ~25 ms")
        #expect(HistoryStore.read(path: store.path).turns.count == 21)
    }

    @Test func flushWritesOpenTurns() {
        let tmp = TempDir()
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path)
        var turn = Turn(id: "a", prompt: "p", sentAt: 0)
        store.record(turn)
        turn.status = .active
        turn.response = "partial"
        store.record(turn)
        #expect(HistoryStore.read(path: store.path).turns.first?.response == "")
        #expect(store.flush() == nil)
        #expect(HistoryStore.read(path: store.path).turns.first?.response == "partial")
    }

    @Test func tornLastLineAndCorruptMiddleLineAreSkippedWithWarnings() throws {
        let tmp = TempDir()
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 10)
        store.record(finishedTurn("a", at: 1))
        store.record(finishedTurn("b", at: 2))
        store.record(finishedTurn("c", at: 3))
        store.close()
        var lines = fileLines(store.path)
        #expect(lines.count == 3)
        lines[1] = "{\"v\":1,\"kind\":\"turn\",\"turn\":{\"id\":\"b\",\"prom"   // corrupt middle line
        let torn = String(HistoryRecord.turn(finishedTurn("d", at: 4)).encodedLine().map { Character(UnicodeScalar($0)) }.prefix(30))
        try (lines.joined(separator: "\n") + "\n" + torn).write(toFile: store.path, atomically: false, encoding: .utf8)

        let loaded = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 10)
        let warnings = loaded.load()
        #expect(loaded.turns.map(\.id) == ["a", "c"])
        #expect(warnings.count == 2)
        #expect(warnings.first?.hasSuffix(":2: corrupt record (not valid JSON), skipped") == true, "\(warnings)")
        #expect(warnings.last?.contains(":4: torn last line") == true, "\(warnings)")
        // The load rewrote the file: it reads cleanly now, and appending starts on a fresh line.
        loaded.record(finishedTurn("e", at: 5))
        let again = HistoryStore.read(path: loaded.path)
        #expect(again.warnings.isEmpty)
        #expect(again.turns.map(\.id) == ["a", "c", "e"])
    }

    @Test func unknownKindsAndNewerVersionsAreSkipped() throws {
        let tmp = TempDir()
        let path = HistoryStore.historyPath(instance: "alpha", stateDirectory: tmp.path)
        try FileManager.default.createDirectory(atPath: tmp.path + "/history", withIntermediateDirectories: true)
        let good = String(decoding: HistoryRecord.turn(finishedTurn("a", at: 1)).encodedLine(), as: UTF8.self)
        let text = [#"{"v":1,"kind":"bookmark","bookmark":{}}"#, #"{"v":9,"kind":"turn","turn":{}}"#, good, "[1,2]"].joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        let contents = HistoryStore.read(path: path)
        #expect(contents.turns.map(\.id) == ["a"])
        #expect(contents.warnings.count == 3)
        #expect(contents.warnings[0].contains(":1: unknown record kind \"bookmark\""))
        #expect(contents.warnings[1].contains(":2: record version 9 is newer"))
    }

    @Test func laterRecordSupersedesAndCompactionKeepsTheNewestMaxHistory() throws {
        let tmp = TempDir()
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 5)
        for i in 0..<40 {
            store.record(Turn(id: "t\(i)", prompt: "p\(i)", sentAt: Double(i)))   // pending record
            store.record(finishedTurn("t\(i)", at: Double(i), response: "r\(i)")) // supersedes it
            // Never more than about twice max_history turns on disk.
            #expect(Set(fileLines(store.path).map { $0 }).count <= 2 * 2 * 5 + 2)
        }
        #expect(store.compactions >= 3)
        #expect(store.turns.map(\.id) == (35..<40).map { "t\($0)" })
        let reloaded = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 5)
        reloaded.load()
        #expect(reloaded.turns.map(\.id) == (35..<40).map { "t\($0)" })
        #expect(reloaded.turns.allSatisfy { $0.status == .completed && $0.response == "r" + $0.id.dropFirst() })
        #expect(fileLines(reloaded.path).count == 5, "loading compacts superseded records away")
        #expect(!FileManager.default.fileExists(atPath: reloaded.path + ".tmp"))
    }

    @Test func enospcIsReportedAndTheStoreKeepsWorkingInMemory() throws {
        let tmp = TempDir()
        let full = FaultSwitch()
        var syscalls = Syscalls.live
        syscalls.write = { fd, buffer, count in
            if full.isOn {
                full.hit()
                errno = ENOSPC
                return -1
            }
            return Syscalls.live.write(fd, buffer, count)
        }
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, io: HistoryIO(syscalls: syscalls))
        store.record(finishedTurn("a", at: 1))
        full.isOn = true
        let error = try #require(store.record(finishedTurn("b", at: 2)))
        #expect(error.isDiskFull)
        #expect(error.description.contains("disk full"))
        #expect(store.lastError == error)
        store.record(finishedTurn("c", at: 3))
        store.recordInput("typed while full", at: 3.5)
        #expect(store.turns.map(\.id) == ["a", "b", "c"], "memory keeps everything")
        #expect(full.hits >= 2)
        #expect(HistoryStore.read(path: store.path).turns.map(\.id) == ["a"])

        full.isOn = false
        #expect(store.record(finishedTurn("d", at: 4)) == nil)
        #expect(store.lastError == nil)
        let contents = HistoryStore.read(path: store.path)
        #expect(contents.turns.map(\.id) == ["a", "b", "c", "d"], "the next write after the fault rewrote the file from memory")
        #expect(contents.inputs.map(\.text) == ["typed while full"])
        #expect(contents.warnings.isEmpty)
    }

    @Test func realDevFullGivesENOSPC() throws {
        guard FileManager.default.isWritableFile(atPath: "/dev/full") else { return }
        let tmp = TempDir()
        var syscalls = Syscalls.live
        // Every write of the history goes to the real /dev/full. (The files themselves stay
        // regular files: the store refuses to open a device as its history.)
        let full = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(full >= 0)
        defer { close(full) }
        syscalls.write = { _, buffer, count in Syscalls.live.write(full, buffer, count) }
        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, io: HistoryIO(syscalls: syscalls))
        let first = try #require(store.record(finishedTurn("a", at: 1)))
        guard case .write(let sys) = first else { Issue.record("expected a write error, got \(first)"); return }
        #expect(sys.code == ENOSPC)
        let second = try #require(store.record(finishedTurn("b", at: 2)), "the rewrite hits /dev/full too")
        #expect(second.isDiskFull)
        #expect(store.turns.map(\.id) == ["a", "b"])
    }

    /// A child process appends real records, then writes half a line and is SIGKILLed.
    @Test func fileSurvivesAWriterKilledMidLine() throws {
        let tmp = TempDir()
        let path = HistoryStore.historyPath(instance: "alpha", stateDirectory: tmp.path)
        try FifoSafety.ensureDirectory(tmp.path + "/history")
        var records = (0..<20).map { HistoryRecord.turn(finishedTurn("t\($0)", at: Double($0))) }
        records.append(.turn(Turn(id: "open", prompt: "streaming", sentAt: 30)))
        let last = HistoryRecord.turn(finishedTurn("torn", at: 40, response: String(repeating: "z", count: 5000)))
        let feed = tmp.file("records.jsonl")
        let text = records.map { String(decoding: $0.encodedLine(), as: UTF8.self) + "\n" }.joined()
            + String(decoding: last.encodedLine(), as: UTF8.self) + "\n"
        try text.write(toFile: feed, atomically: true, encoding: .utf8)

        let writer = try Child.python("""
        import os, sys, time
        path, feed = sys.argv[1], sys.argv[2]
        lines = open(feed, "rb").read().split(b"\\n")[:-1]
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        for line in lines[:-1]:
            os.write(fd, line + b"\\n")
        os.write(fd, lines[-1][: len(lines[-1]) // 2])
        sys.stdout.write("torn\\n"); sys.stdout.flush()
        time.sleep(60)
        os.write(fd, lines[-1][len(lines[-1]) // 2 :] + b"\\n")
        """, [path, feed])
        let said = String(decoding: writer.stdout.fileHandleForReading.availableData, as: UTF8.self)
        #expect(said == "torn\n")
        writer.kill(SIGKILL)
        #expect(writer.process.terminationReason == .uncaughtSignal)

        let store = HistoryStore(instance: historyName(), stateDirectory: tmp.path, maxHistory: 100)
        let warnings = store.load()
        #expect(store.turns.count == 21)
        #expect(store.turns.last?.id == "open")
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains(":22: torn last line") == true, "\(warnings)")
        // The restarted TUI's tracker closes the turn the dead writer left open.
        var tracker = SessionTracker(settings: SessionSettings())
        tracker.restore(store.turns, at: 50).forEach { store.record($0) }
        let after = HistoryStore.read(path: path)
        #expect(after.warnings.isEmpty)
        #expect(after.turns.last?.status == .failed)
    }
}
