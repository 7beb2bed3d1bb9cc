// Scrollback: bounds by lines and bytes, absolute numbering, and applying batches with open lines.

import Testing
@testable import BridgeCore

private func line(_ s: String) -> OutputLine { OutputLine(text: s) }

@Test func boundedByLinesKeepsAbsoluteNumbers() {
    var sb = Scrollback(maxLines: 3, maxBytes: 1 << 20)
    for i in 0..<10 { sb.append(line("l\(i)")) }
    #expect(sb.count == 3)
    #expect(sb.firstLineNumber == 7)
    #expect(sb.endLineNumber == 10)
    #expect(sb.droppedLines == 7)
    #expect(sb.line(at: 6) == nil)
    #expect(sb.line(at: 7)?.text == "l7")
    #expect(sb.line(at: 9)?.text == "l9")
    #expect((0..<3).map { sb[$0].text } == ["l7", "l8", "l9"])
}

@Test func boundedByBytesTrimsOldest() {
    var sb = Scrollback(maxLines: 1000, maxBytes: 1024)
    let text = String(repeating: "x", count: 100)   // cost 148 each
    for _ in 0..<20 { sb.append(line(text)) }
    #expect(sb.byteCount <= 1024)
    #expect(sb.count == 1024 / 148)
    #expect(sb.endLineNumber == 20)
    // A growing open line also respects the byte bound (older lines go).
    var batch = OutputBatch(lines: [line(String(repeating: "y", count: 900))], replacesOpenLine: false, endsWithOpenLine: true)
    sb.apply(batch)
    batch = OutputBatch(lines: [line(String(repeating: "y", count: 950))], replacesOpenLine: true, endsWithOpenLine: true)
    sb.apply(batch)
    #expect(sb.byteCount <= 1024)
    #expect(sb.last?.text.utf8.count == 950)
}

@Test func applyReplacesOpenLine() {
    var sb = Scrollback(maxLines: 100, maxBytes: 1 << 20)
    var processor = OutputProcessor(now: { 0 })
    var batch = OutputBatch()
    for chunk in ["hel", "lo\nwor", "ld", "\n", "x"] {
        processor.feed(Array(chunk.utf8), into: &batch)
        sb.apply(batch)
        batch.removeAll()
    }
    #expect((0..<sb.count).map { sb[$0].text } == ["hello", "world", "x"])
    #expect(sb.lastIsOpen)
}

@Test func applyAfterRemoveAllAppendsInsteadOfReplacing() {
    var sb = Scrollback(maxLines: 100, maxBytes: 1 << 20)
    sb.append(line("keep"))
    sb.apply(OutputBatch(lines: [line("open")], endsWithOpenLine: true))
    sb.removeAll()
    sb.apply(OutputBatch(lines: [line("open more")], replacesOpenLine: true))
    #expect(sb.count == 1)
    #expect(sb[0].text == "open more")
    #expect(sb.firstLineNumber == 2)
    #expect(!sb.lastIsOpen)
}

@Test func ringWrapsManyTimes() {
    var sb = Scrollback(maxLines: 7, maxBytes: 1 << 20)
    for i in 0..<1000 {
        sb.append(line("\(i)"))
        #expect(sb.last?.text == "\(i)")
    }
    #expect((0..<7).map { sb[$0].text } == (993..<1000).map { "\($0)" })
}
