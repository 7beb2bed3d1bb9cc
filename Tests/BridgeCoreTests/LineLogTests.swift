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
}
