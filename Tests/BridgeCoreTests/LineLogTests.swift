// LineLogTests: the server's line ids. Ids go up by one per line; a batch that replaces the
// unfinished line starts with that line's id; asking from any id gives exactly the lines from
// there (finished ones, then the open one); trimmed lines are counted as missing.

import Testing
@testable import BridgeCore

@Suite struct LineLogTests {
    static func batch(_ texts: [String], replaces: Bool = false, open: Bool = false) -> OutputBatch {
        OutputBatch(lines: texts.map { OutputLine(text: $0, runs: [], timestamp: 0) }, replacesOpenLine: replaces,
                    endsWithOpenLine: open)
    }

    static func texts(_ batches: [(first: UInt64, batch: OutputBatch)]) -> [String] {
        batches.flatMap { entry in entry.batch.lines.enumerated().map { "\(entry.first + UInt64($0.offset)):\($0.element.text)" } }
    }

    @Test func idsCountUpAndAnOpenLineKeepsItsIdWhenReplaced() {
        var log = LineLog()
        #expect(log.append(Self.batch(["a", "b"])) == 1)
        #expect(log.append(Self.batch(["c"], open: true)) == 3)
        #expect(log.append(Self.batch(["cd"], replaces: true, open: true)) == 3)
        #expect(log.append(Self.batch(["cde", "f"], replaces: true)) == 3)
        #expect(log.nextID == 5)
        #expect(Self.texts(log.lines(from: 1).batches) == ["1:a", "2:b", "3:cde", "4:f"])
    }

    /// A batch of finished lines is kept as it came (its storage shared, not copied); a small
    /// batch in storage grown for a large one is copied, so the log's byte bound is what it holds
    /// in memory; a batch ending with its open line keeps its finished lines apart from it.
    @Test func aBatchIsSharedWhenItsStorageIsItsSizeAndCopiedWhenMuchLarger() {
        func address(_ batch: OutputBatch) -> UnsafePointer<UInt8>? { batch.text.withUnsafeBufferPointer { $0.baseAddress } }
        var log = LineLog(maxBytes: 16 << 20)
        let lines = (0..<2_000).map { "line \($0) " + String(repeating: "x", count: 60) }
        let flood = Self.batch(lines)
        log.append(flood)
        #expect(address(log.lines(from: 1).batches[0].batch) == address(flood))
        // The same storage after the hub emptied it for the next feed: one short line in room for 140 KiB.
        var small = flood
        small.removeAll(keepingCapacity: true)
        small.append(OutputLine(text: "short", runs: [], timestamp: 0))
        #expect(small.text.capacity > 100 << 10)
        log.append(small)
        let kept = log.lines(from: 2_001).batches
        #expect(Self.texts(kept) == ["2001:short"])
        #expect(address(kept[0].batch) != address(small))
        #expect(kept[0].batch.text.capacity < 1 << 10)
        // A flood batch ending with its open line: finished lines shared, the open one apart.
        let open = Self.batch(lines + ["open"], open: true)
        log.append(open)
        #expect(Self.texts(log.lines(from: 4_002).batches) == ["4002:open"])
        #expect(log.lines(from: 2_002).batches.map { $0.batch.count } == [2_000, 1])
    }

    /// A batch trimmed from the log lets its storage go as it is trimmed. (The log only moved
    /// past trimmed batches and dropped them in bulk later, so a flood held several times its
    /// bound: 82 MiB of text with a 16 MiB bound, the server's heap 124 MiB.)
    @Test func aTrimmedBatchLetsItsStorageGoAtOnce() {
        func address(_ batch: OutputBatch) -> UnsafePointer<UInt8>? { batch.text.withUnsafeBufferPointer { $0.baseAddress } }
        let lines = (0..<2_000).map { "line \($0) " + String(repeating: "x", count: 60) }
        var log = LineLog(maxBytes: 256 << 10)
        var first = Self.batch(lines)
        log.append(first)
        #expect(address(log.lines(from: 1).batches[0].batch) == address(first), "a compact batch is shared")
        for _ in 0..<3 { log.append(Self.batch(lines)) }
        #expect(log.lines(from: 1).missing >= 2_000, "the first batch was trimmed")
        // Emptying our copy keeps its storage only if nobody else holds it any more.
        let before = address(first)
        first.removeAll(keepingCapacity: true)
        #expect(address(first) == before, "the log still holds a trimmed batch's storage")
    }

    @Test func fromAnyIdGivesExactlyTheLinesFromThereOpenLineLast() {
        var log = LineLog()
        log.append(Self.batch(["a", "b", "c"]))
        log.append(Self.batch(["d", "e"], open: true))
        #expect(Self.texts(log.lines(from: 2).batches) == ["2:b", "3:c", "4:d", "5:e"])
        #expect(Self.texts(log.lines(from: 5).batches) == ["5:e"])
        #expect(log.lines(from: 6).batches.isEmpty)
        #expect(log.lines(from: 5).batches.last?.batch.endsWithOpenLine == true)
        #expect(log.lines(from: 2).missing == 0)
    }

    @Test func trimmedLinesAreCountedAsMissing() {
        var log = LineLog(maxBytes: 10)
        for i in 0..<10 { log.append(Self.batch(["line \(i)"])) }
        let (batches, missing) = log.lines(from: 1)
        #expect(missing == UInt64(log.oldestID - 1))
        #expect(missing > 0)
        #expect(Self.texts(batches).last == "10:line 9")
        #expect(Self.texts(batches).first == "\(log.oldestID):line \(log.oldestID - 1)")
    }

    /// A paced reader's steps (SessionFeedPacer): from an id, up to (not including) an end, about
    /// so many bytes at a time; stepping on from the last finished line gives every line once.
    @Test func stepsUpToAnEndGiveEveryLineOnceAndTheOpenLineOnlyBeforeTheEnd() {
        var log = LineLog()
        log.append(Self.batch(["a", "b", "c"]))
        log.append(Self.batch(["d", "e"]))
        log.append(Self.batch(["f", "g"], open: true))
        #expect(Self.texts(log.lines(from: 2, before: 5, maxBytes: 1 << 20).batches) == ["2:b", "3:c", "4:d"])
        #expect(Self.texts(log.lines(from: 1, before: 8, maxBytes: 1).batches) == ["1:a", "2:b", "3:c"])
        #expect(Self.texts(log.lines(from: 4, before: 8, maxBytes: 1 << 20).batches) == ["4:d", "5:e", "6:f", "7:g"])
        #expect(Self.texts(log.lines(from: 4, before: 7, maxBytes: 1 << 20).batches) == ["4:d", "5:e", "6:f"])
        #expect(log.lines(from: 4, before: 8, maxBytes: 1 << 20).batches.last?.batch.endsWithOpenLine == true)
        #expect(log.lines(from: 3, before: 3, maxBytes: 1 << 20).batches.isEmpty)
        var stepped: [String] = []
        var next: UInt64 = 1
        while next < 7 {
            let batches = log.lines(from: next, before: 8, maxBytes: 1).batches
            stepped += Self.texts(batches).filter { !$0.hasPrefix("7:") }
            next = batches.map { $0.first + UInt64($0.batch.count - ($0.batch.endsWithOpenLine ? 1 : 0)) }.max() ?? 8
        }
        #expect(stepped == ["1:a", "2:b", "3:c", "4:d", "5:e", "6:f"])
        var trimmed = LineLog(maxBytes: 10)
        for i in 0..<10 { trimmed.append(Self.batch(["line \(i)"])) }
        #expect(trimmed.lines(from: 1, before: 11, maxBytes: 1 << 20).missing == trimmed.oldestID - 1)
    }
}
