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
    let text = String(repeating: "x", count: 100)   // cost 176 each (32-byte slot + 144-byte malloc chunk)
    #expect(line(text).byteCost == 176)
    for _ in 0..<20 { sb.append(line(text)) }
    #expect(sb.byteCount <= 1024)
    #expect(sb.count == 1024 / 176)
    #expect(sb.endLineNumber == 20)
    // A growing open line also respects the byte bound (older lines go).
    var batch = OutputBatch(lines: [line(String(repeating: "y", count: 900))], replacesOpenLine: false, endsWithOpenLine: true)
    sb.apply(batch)
    batch = OutputBatch(lines: [line(String(repeating: "y", count: 930))], replacesOpenLine: true, endsWithOpenLine: true)
    sb.apply(batch)
    #expect(sb.byteCount <= 1024)
    #expect(sb.last?.text.utf8.count == 930)
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

@Test func byteCostCountsHeapObjects() {
    // Up to 15 bytes a String lives in the slot; beyond, a malloc chunk of header + bytes + NUL.
    let slot = MemoryLayout<OutputLine?>.stride
    #expect(line("short").byteCost == slot)
    #expect(line(String(repeating: "x", count: 16)).byteCost == slot + 64)   // 32 + 17 + 8 -> 64
    let styled = OutputLine(text: "short", runs: [StyleRun(start: 0, count: 5, style: TextStyle(bold: true))])
    #expect(styled.byteCost > slot + 32)
}

@Test func setLimitsTrimsOldestAndKeepsNumbers() {
    var sb = Scrollback(maxLines: 1000, maxBytes: 1 << 20)
    let text = String(repeating: "x", count: 100)
    for i in 0..<500 { sb.append(line(text + "\(i)")) }
    sb.setLimits(maxLines: 100, maxBytes: 1 << 20)
    #expect(sb.count == 100)
    #expect(sb.firstLineNumber == 400)
    #expect(sb[0].text == text + "400")
    sb.setLimits(maxLines: 100, maxBytes: 4096)
    #expect(sb.byteCount <= 4096)
    #expect(sb.last?.text == text + "499")
    #expect(sb.endLineNumber == 500)
    // Raising the limits again keeps everything and appending goes on as before.
    sb.setLimits(maxLines: 1000, maxBytes: 1 << 20)
    let held = sb.count
    for i in 500..<510 { sb.append(line(text + "\(i)")) }
    #expect(sb.count == held + 10)
    #expect(sb.last?.text == text + "509")
}

@Test func applyConsumingMatchesApply() {
    var copied = Scrollback(maxLines: 5, maxBytes: 1 << 20)
    var moved = Scrollback(maxLines: 5, maxBytes: 1 << 20)
    var processor = OutputProcessor(now: { 0 })
    var batch = OutputBatch()
    for chunk in ["hel", "lo\nwor", "ld", "\n", "\u{1B}[1mbold\u{1B}[0m\na\nb\nc\nd\ne", "f\n", "x"] {
        processor.feed(Array(chunk.utf8), into: &batch)
        copied.apply(batch)
        moved.apply(consuming: &batch)
        #expect(batch.isEmpty && !batch.replacesOpenLine && !batch.endsWithOpenLine)
        #expect(moved.lastIsOpen == copied.lastIsOpen)
    }
    #expect((0..<moved.count).map { moved[$0] } == (0..<copied.count).map { copied[$0] })
    #expect(moved.firstLineNumber == copied.firstLineNumber)
    #expect(moved.byteCount == copied.byteCount)
}
