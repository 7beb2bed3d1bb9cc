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
    let text = String(repeating: "x", count: 100)
    for i in 0..<20 {
        sb.append(line(text + "\(i)"))
        #expect(sb.byteCount <= 1024)
    }
    #expect(sb.count >= 2 && sb.count < 20)
    #expect(sb.endLineNumber == 20)
    #expect(sb.last?.text == text + "19")
    // A growing open line also respects the byte bound (older lines go).
    var batch = OutputBatch(lines: [line(String(repeating: "y", count: 300))], replacesOpenLine: false, endsWithOpenLine: true)
    sb.apply(batch)
    batch = OutputBatch(lines: [line(String(repeating: "y", count: 330))], replacesOpenLine: true, endsWithOpenLine: true)
    sb.apply(batch)
    #expect(sb.byteCount <= 1024)
    #expect(sb.last?.text.utf8.count == 330)
    #expect(sb.endLineNumber == 21)
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

@Test func byteCountIsTheStorageHeld() {
    var sb = Scrollback(maxLines: 100, maxBytes: 1 << 20)
    #expect(sb.byteCount == 0)
    sb.append(line("short"))
    let oneBlock = sb.byteCount
    #expect(oneBlock >= 64 << 10 && oneBlock < (64 << 10) + 1024)   // a 64 KiB block and a small ring
    sb.append(line("more"))
    #expect(sb.byteCount == oneBlock)                              // same block, same ring
    sb.append(OutputLine(text: "bold", runs: [StyleRun(start: 0, count: 4, style: TextStyle(bold: true))]))
    #expect(sb.byteCount > oneBlock)                               // the runs ring
    #expect(sb[2].runs == [StyleRun(start: 0, count: 4, style: TextStyle(bold: true))])
    #expect(sb[0].runs.isEmpty && sb[1].text == "more")
}

@Test func linesAcrossManyBlocksReadBackExactlyWithinTheBound() {
    // ~1 KiB lines fill a 32 KiB block (an eighth of the bound) about every 30 lines; a line never
    // spans two blocks, and the storage never exceeds the bound.
    var sb = Scrollback(maxLines: 10_000, maxBytes: 256 << 10)
    var texts: [String] = []
    for i in 0..<2_000 {
        let text = String(repeating: Character(Unicode.Scalar(UInt8(97 + i % 26))), count: 900 + i % 200) + "·\(i)"
        texts.append(text)
        sb.append(OutputLine(text: text, runs: i % 3 == 0 ? [StyleRun(start: 1, count: 2, style: TextStyle(dim: true))] : [],
                             timestamp: Double(i)))
        #expect(sb.byteCount <= 256 << 10)
    }
    var held = 0
    for n in sb.firstLineNumber..<sb.endLineNumber {
        let line = sb.line(at: n)!
        #expect(line.text == texts[n])
        #expect(line.timestamp == Double(n))
        #expect(line.runs.count == (n % 3 == 0 ? 1 : 0))
        held += line.text.utf8.count
    }
    #expect(sb.endLineNumber == 2_000)
    // At least two thirds of the bound is text (the rest: the partly filled tail, the spare, rings).
    #expect(held > (256 << 10) * 2 / 3)
}

@Test func aLineWithThousandsOfRunsDoesNotShrinkTheScrollbackForGood() {
    // Its runs ring is larger than the whole bound; once the line is gone the ring is given back.
    var sb = Scrollback(maxLines: 1000, maxBytes: 256 << 10)
    let runs = (0..<8_200).map { StyleRun(start: $0, count: 1, style: TextStyle(foreground: .ansi(UInt8($0 % 8)))) }
    sb.append(OutputLine(text: String(repeating: "x", count: 8_200), runs: runs))
    #expect(sb.count == 1)
    for i in 0..<100 { sb.append(line("plain \(i)")) }
    #expect(sb.count == 100)
    #expect(sb.byteCount <= 256 << 10)
    #expect(sb.last?.text == "plain 99")
}

@Test func theBoundHoldsWhatMallocRoundsUp() {
    // A new block's capacity is what malloc gave (rounded up), not what was asked for.
    for maxBytes in stride(from: 1024, through: 1100, by: 4) {
        for size in stride(from: 380, through: 440, by: 3) {
            var sb = Scrollback(maxLines: 100, maxBytes: maxBytes)
            for i in 0..<5 {
                sb.append(line(String(repeating: "x", count: size) + "\(i)"))
                #expect(sb.byteCount <= maxBytes || sb.count == 1, "bound \(maxBytes), lines of \(size): \(sb.byteCount) with \(sb.count) lines")
            }
        }
    }
}

@Test func aCopyIsUnaffectedByChangesToTheOriginal() {
    var sb = Scrollback(maxLines: 100, maxBytes: 1 << 20)
    sb.apply(OutputBatch(lines: [line("one"), line("tw")], endsWithOpenLine: true))
    let copy = sb
    sb.apply(OutputBatch(lines: [line("two"), line("three")], replacesOpenLine: true))
    sb.removeAll()
    sb.append(line("other"))
    #expect((0..<copy.count).map { copy[$0].text } == ["one", "tw"])
    #expect(copy.lastIsOpen)
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

@Test func largeBatchesKeptAsBlocksReadBackAsAppendedWithinBothBounds() {
    // A server client's events (64 KiB and more of whole lines, the text adopted as a block, not
    // copied) mixed with small ones and open lines that the next batch replaces: every held line
    // reads back as a line-by-line reference has it, the numbering matches, the bounds hold, and
    // a search finds exactly the held lines (an adopted block keeps a replaced open line's bytes).
    var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next(_ n: Int) -> Int {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        return Int(truncatingIfNeeded: rng >> 1) % n
    }
    for (maxLines, maxBytes) in [(50_000, 16 << 20), (3_000, 1 << 20), (40_000, 600 << 10)] {
        var sb = Scrollback(maxLines: maxLines, maxBytes: maxBytes)
        var reference = Scrollback(maxLines: 1 << 22, maxBytes: 1 << 30)
        var serial = 0, open = false
        for round in 0..<60 {
            let large = round % 3 != 2
            var lines: [OutputLine] = []
            for _ in 0..<(large ? 700 + next(900) : 1 + next(5)) {
                serial += 1
                let text = "line \(serial) " + String(repeating: "→x", count: next(60))
                let runs = serial % 7 == 0 ? [StyleRun(start: 0, count: 4, style: TextStyle(bold: true))] : []
                lines.append(OutputLine(text: text, runs: runs, timestamp: Double(serial)))
            }
            let endsOpen = next(2) == 0
            let replaces = open && next(3) != 0
            let built = OutputBatch(lines: lines, replacesOpenLine: replaces, endsWithOpenLine: endsOpen)
            // As a client decodes it: its text becomes the batch's own, sized to fit.
            let exact = built.text.withUnsafeBufferPointer { Array($0) }   // as the frame decoder allocates it
            let batch = OutputBatch(adoptingTerminatedLines: exact, orderedRuns: built.lines.enumerated().flatMap { index, line in
                line.runs.map { (line: index, run: $0) }
            }, timestamp: 0, replacesOpenLine: replaces, endsWithOpenLine: endsOpen)
            var timed = OutputBatch(replacesOpenLine: replaces, endsWithOpenLine: endsOpen)
            for index in 0..<batch.count {
                var line = batch[index]
                line.timestamp = 0
                timed.append(line)
            }
            sb.apply(batch)
            reference.apply(timed)
            open = endsOpen
            #expect(sb.byteCount <= maxBytes, "\(sb.byteCount) > \(maxBytes)")
            #expect(sb.count <= maxLines)
            #expect(sb.endLineNumber == reference.endLineNumber)
            #expect(sb.lastIsOpen == reference.lastIsOpen)
        }
        #expect(sb.count > 0)
        #expect(sb.adoptedBatches >= 15, "\(sb.adoptedBatches) of 40 large batches kept as blocks (up to a quarter of the bound each)")
        for n in sb.firstLineNumber..<sb.endLineNumber {
            #expect(sb.line(at: n) == reference.line(at: n), "line \(n)")
        }
        // Search: "line 1" starts many held lines; each is credited once and only held ones.
        let needle = Array("line 1".utf8)
        let found = sb.lineNumbers { bytes, from in
            var i = from
            while i + needle.count <= bytes.count {
                if bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle { return i..<(i + needle.count) }
                i += 1
            }
            return nil
        }
        let expected = (sb.firstLineNumber..<sb.endLineNumber).filter { sb.line(at: $0)!.text.contains("line 1") }
        #expect(found == expected)
    }
}
