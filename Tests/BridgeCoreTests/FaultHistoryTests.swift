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
