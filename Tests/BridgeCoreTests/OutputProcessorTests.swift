// OutputProcessor: line model (newlines, \r overwrite, erase, tabs, backspace), UTF-8 repair,
// line caps, open-line batches, timestamps, and a bulk self-check on agent-like output.

import Foundation
import Testing
@testable import BridgeCore

private let esc = "\u{1B}"

@Test(arguments: [
    ("a\nb\n", ["a", "b"]),
    ("a\r\nb\r\n", ["a", "b"]),
    ("\n\n", ["", ""]),
    ("abc\rX", ["Xbc"]),
    ("abc\rX\(esc)[K", ["X"]),
    ("abc\rX\(esc)[0K", ["X"]),
    ("abcdef\r\(esc)[2K\n", [""]),
    ("abc\(esc)[2KX", ["   X"]),
    ("abc\r\(esc)[2KX", ["X"]),
    ("ab\u{8}X", ["aX"]),
    ("\u{8}\u{8}X", ["X"]),
    ("é❯\u{8}X", ["éX"]),
    ("a\tb", ["a       b"]),
    ("abcdefgh\tX", ["abcdefgh        X"]),
    ("ab\t\n", ["ab"]),
    ("abcdefghij\r\tX", ["abcdefghXj"]),
    ("\(esc)[5GX", ["    X"]),
    ("abcdef\(esc)[3GX", ["abXdef"]),
    ("ab\(esc)[3CX", ["ab   X"]),
    ("abcd\(esc)[2DX", ["abXd"]),
    ("abcdef\r\(esc)[2CX", ["abXdef"]),
    ("a\u{0}b\u{0}\n", ["ab"]),
    ("héllo\rHÉ", ["HÉllo"]),
    ("abc\r❯😀", ["❯😀c"]),
    ("❯❯❯\rab", ["ab❯"]),
    ("⠋ Thinking\r⠙ Thinking\r⠹ Thinking\n", ["⠹ Thinking"]),
])
func lineModel(input: String, expected: [String]) {
    #expect(collect(input).texts == expected)
    let bytes = Array(input.utf8)
    for k in 1..<bytes.count {
        #expect(collect(split(bytes, at: k)).texts == expected, "split at \(k)")
    }
}

@Test func invalidUTF8BecomesReplacementLikeStringDecoding() {
    let cases: [[UInt8]] = [
        [0x41, 0xFF, 0x42],
        [0xE2, 0x9D, 0x41],            // truncated 3-byte sequence: one U+FFFD
        [0xC0, 0xAF],                  // overlong
        [0xED, 0xA0, 0x80],            // surrogate
        [0xF4, 0x90, 0x80, 0x80],      // above U+10FFFF
        [0x80, 0x80, 0xBF],            // stray continuations
        [0xF0, 0x9F, 0x98],            // truncated emoji at the end
        [0xE2, 0x9D, 0xAF, 0xF0, 0x9F, 0x98, 0x80, 0xC3, 0xA9],
    ]
    for sequence in cases {
        // A trailing incomplete sequence is only known to be invalid when the next byte comes.
        let bytes = sequence + [0x0A]
        let expected = String(decoding: sequence, as: UTF8.self)
        #expect(collect([bytes]).texts == [expected], "\(bytes)")
        for k in 1..<bytes.count {
            #expect(collect(split(bytes, at: k)).texts == [expected], "\(bytes) split at \(k)")
        }
        #expect(collect(bytes.map { [$0] }).texts == [expected], "\(bytes) byte by byte")
    }
}

@Test func randomNonControlBytesDecodeLikeTheStandardLibrary() {
    var rng = SplitMix64(seed: 7)
    for _ in 0..<200 {
        // Bytes 0x20...0xFF except DEL and 0xC2 (which could form a C1 control), in random splits.
        let bytes: [UInt8] = (0..<300).map { _ in
            var b = UInt8(truncatingIfNeeded: rng.next() % 224 + 32)
            if b == 0x7F || b == 0xC2 { b = 0x41 }
            return b
        }
        let expected = String(decoding: bytes, as: UTF8.self)
        let k = Int(rng.next() % 299) + 1
        #expect(collect(split(bytes + [0x0A], at: k)).texts == [expected])
    }
}

@Test func oneByteFeedsEqualOneBigFeed() {
    var text = ""
    for i in 0..<400 {
        switch i % 5 {
        case 0: text += "\(esc)[1;3\(i % 8)mline \(i) ❯ é\(esc)[0m tail\r\n"
        case 1: text += "\r⠋ spin \(i)\r⠙ spin \(i)\(esc)[K\n"
        case 2: text += "\(esc)]0;title \(i)\u{07}plain\tline 😀 \(i)\n"
        case 3: text += "\(esc)[38;2;10;20;\(i % 256)mrgb\(esc)[39m and \u{9B}1mC1 bold\(esc)[22m\n"
        default: text += "abc\u{8}\u{8}XY\(esc)[2K\rreplaced \(i)\n"
        }
    }
    let bytes = Array(text.utf8)
    precondition(bytes.count > 10_000)
    let big = collect([bytes])
    let small = collect(bytes.map { [$0] })
    #expect(big.lines.count == 400)
    #expect(small.lines == big.lines)
    #expect(small.protocolViolations == 0)
}

/// Whole lines of printable text and colour changes are taken in bulk, straight into the batch;
/// a line that needs the line buffer (a control, another escape, invalid UTF-8, a C1, over the
/// length cap, no newline yet) stops the bulk and goes through it. Both paths must show the same
/// lines and runs, wherever the feeds are cut: one big feed (mostly bulk) against one-byte feeds
/// (the line buffer) and random cuts, around the length cap too.
@Test func wholeLinesInBulkEqualTheLineBufferPath() {
    var rng = SplitMix64(seed: 11)
    let plain: [[UInt8]] = [Array("plain ascii words".utf8), Array("✓ done → next".utf8), Array("😀".utf8), Array("é".utf8)]
    let colours: [[UInt8]] = ["\(esc)[1;31m", "\(esc)[0m", "\(esc)[m", "\(esc)[38;5;200m", "\(esc)[38;2;1;2;3m", "\(esc)[1m",
                              "\(esc)[22m", "\(esc)[4;44m", "\(esc)[39;49m"].map { Array($0.utf8) }
    let special: [[UInt8]] = [[0xFF], [0xE2, 0x9C], [0xC2, 0x85], [0x07], [0x09], [0x0D], [0x08], [0x7F], [0x1B],
                              Array("\(esc)[K".utf8), Array("\(esc)]0;t\u{07}".utf8), Array("\(esc)[3".utf8)]
    for maxLineBytes in [16, 40, 64 << 10] {
        for round in 0..<80 {
            var bytes: [UInt8] = []
            for _ in 0..<(Int(rng.next() % 40) + 1) {
                // Mostly text and colour changes, some lines over the cap, now and then a special piece.
                for _ in 0..<Int(rng.next() % 6) {
                    switch rng.next() % 10 {
                    case 0...5: bytes += plain[Int(rng.next() % UInt64(plain.count))] + [0x20]
                    case 6...8: bytes += colours[Int(rng.next() % UInt64(colours.count))]
                    default: if round % 2 == 0 { bytes += special[Int(rng.next() % UInt64(special.count))] }
                    }
                }
                bytes += rng.next() % 4 == 0 ? [0x0D, 0x0A] : [0x0A]
            }
            if rng.next() % 2 == 0 { bytes += Array("open ✓ \(esc)[32mgreen".utf8) }
            let oneFeed = collect([bytes], maxLineBytes: maxLineBytes)
            let byteFeeds = collect(bytes.map { [$0] }, maxLineBytes: maxLineBytes)
            var cuts: [[UInt8]] = [], at = 0
            while at < bytes.count {
                let size = min(bytes.count - at, Int(rng.next() % 50) + 1)
                cuts.append(Array(bytes[at..<(at + size)]))
                at += size
            }
            let randomFeeds = collect(cuts, maxLineBytes: maxLineBytes)
            #expect(oneFeed.lines == byteFeeds.lines, "cap \(maxLineBytes): \(bytes)")
            #expect(randomFeeds.lines == byteFeeds.lines, "cap \(maxLineBytes): \(cuts)")
            #expect(oneFeed.protocolViolations == 0 && randomFeeds.protocolViolations == 0)
            #expect(oneFeed.lines.allSatisfy { $0.text.utf8.count <= maxLineBytes && isSanitized($0.text) })
        }
    }
}

/// Colours in lines taken in bulk: runs as the line buffer makes them (a change to the same
/// style continues the run), carried over to the next line, none for plain text.
@Test func wholeLinesInBulkKeepTheirColours() {
    let red = TextStyle(foreground: .ansi(1), bold: true)
    let lines = collect("\(esc)[1;31mred\(esc)[1m more\(esc)[0m plain\r\nstill \(esc)[1;31mred\nred on\(esc)[m\n").lines
    #expect(lines.map(\.text) == ["red more plain", "still red", "red on"])
    #expect(lines[0].runs == [StyleRun(start: 0, count: 8, style: red)])
    #expect(lines[1].runs == [StyleRun(start: 6, count: 3, style: red)])
    #expect(lines[2].runs == [StyleRun(start: 0, count: 6, style: red)])
}

/// Whole plain lines in one feed keep their order, bytes and timestamps: the first gets the time
/// its first byte came, the rest the feed's time.
@Test func plainLinesInBulkKeepTheirTimestamps() {
    let clock = FakeClock()
    var processor = OutputProcessor(now: { clock.time })
    var batch = OutputBatch()
    clock.time = 1
    processor.feed(Array("first ".utf8), into: &batch)   // an open line: its first byte came at 1
    batch.removeAll(keepingCapacity: true)
    clock.time = 2
    processor.feed(Array("half\nsecond ✓\nthird\n\nfifth".utf8), into: &batch)
    #expect(batch.lines.map(\.text) == ["first half", "second ✓", "third", "", "fifth"])
    #expect(batch.lines.map(\.timestamp) == [1, 2, 2, 2, 2])
    #expect(batch.replacesOpenLine && batch.endsWithOpenLine)
}

@Test func openLineIsShownAndThenReplaced() {
    var processor = OutputProcessor(now: { 0 })
    var batch = OutputBatch()
    processor.feed(Array("abc".utf8), into: &batch)
    #expect(batch.lines.map(\.text) == ["abc"])
    #expect(batch.endsWithOpenLine && !batch.replacesOpenLine)

    batch.removeAll()
    processor.feed(Array("def\nghi\n".utf8), into: &batch)
    #expect(batch.lines.map(\.text) == ["abcdef", "ghi"])
    #expect(batch.replacesOpenLine && !batch.endsWithOpenLine)

    batch.removeAll()
    processor.feed(Array("x".utf8), into: &batch)
    #expect(!batch.replacesOpenLine && batch.endsWithOpenLine)

    // Only escapes: the open line did not change, nothing to show.
    batch.removeAll()
    processor.feed(Array("\(esc)[?25l".utf8), into: &batch)
    #expect(batch.isEmpty)

    // Cleared open line is replaced by an empty one.
    batch.removeAll()
    processor.feed(Array("\r\(esc)[2K".utf8), into: &batch)
    #expect(batch.lines.map(\.text) == [""])
    #expect(batch.replacesOpenLine && batch.endsWithOpenLine)

    // Feeding twice into the same batch updates its open element in place.
    batch.removeAll()
    processor.feed(Array("y".utf8), into: &batch)
    processor.feed(Array("z\nw".utf8), into: &batch)
    #expect(batch.lines.map(\.text) == ["yz", "w"])
    #expect(batch.replacesOpenLine && batch.endsWithOpenLine)
}

private final class FakeClock: @unchecked Sendable {
    var time = 0.0
}

@Test func timestampIsWhenTheFirstByteArrived() {
    let clock = FakeClock()
    var processor = OutputProcessor(now: { clock.time })
    var out = CollectedOutput()
    var batch = OutputBatch()
    func feed(_ s: String, at t: Double) {
        clock.time = t
        processor.feed(Array(s.utf8), into: &batch)
        out.apply(batch)
        batch.removeAll()
    }
    feed("ab", at: 1)
    feed("c\nd", at: 2)
    feed("\n", at: 3)
    feed("e\n", at: 4)
    #expect(out.texts == ["abc", "d", "e"])
    #expect(out.lines.map(\.timestamp) == [1, 2, 4])
}

@Test func spinnerRedrawsOneLineWithBoundedMemory() {
    let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
    var processor = OutputProcessor(now: { 0 })
    var scrollback = Scrollback(maxLines: 1000, maxBytes: 1 << 20)
    var batch = OutputBatch()
    for i in 0..<100_000 {
        processor.feed(Array("\r\(frames[i % 10]) Thinking… (\(i % 60)s)".utf8), into: &batch)
        scrollback.apply(batch)
        batch.removeAll(keepingCapacity: true)
    }
    #expect(scrollback.count == 1)
    #expect(scrollback.byteCount < (64 << 10) + 1024)   // one block: redraws replace, never pile up
    #expect(scrollback.last?.text.hasPrefix("⠏ Thinking… (") == true)
    processor.feed(Array("\rdone\(esc)[K\n".utf8), into: &batch)
    scrollback.apply(batch)
    #expect(scrollback.count == 1)
    #expect(scrollback.last?.text == "done")
}

@Test func longLineWithoutNewlineIsCappedWithNothingLost() {
    let maxLine = 64 << 10
    let total = 10 << 20
    var processor = OutputProcessor(maxLineBytes: maxLine, now: { 0 })
    var out = CollectedOutput()
    var batch = OutputBatch()
    // ASCII with a 3-byte scalar every 7 bytes, so caps fall inside multi-byte scalars too.
    let pattern = Array("abcd❯".utf8)   // 7 bytes
    var chunk = [UInt8]()
    for i in 0..<(4096 * 7) { chunk.append(pattern[i % 7]) }
    var fed = 0
    while fed < total {
        processor.feed(chunk, into: &batch)
        out.apply(batch)
        batch.removeAll(keepingCapacity: true)
        fed += chunk.count
    }
    processor.feed(Array("\n".utf8), into: &batch)
    out.apply(batch)
    #expect(out.protocolViolations == 0)
    let sizes = out.lines.map { $0.text.utf8.count }
    #expect(sizes.allSatisfy { $0 <= maxLine && $0 > maxLine - 4 } || sizes.dropLast().allSatisfy { $0 > maxLine - 4 })
    #expect(sizes.max()! <= maxLine)
    #expect(sizes.reduce(0, +) == fed)
    #expect(out.lines.count == (fed + maxLine - 3) / (maxLine - 2) || out.lines.count >= fed / maxLine)
    #expect(out.lines.allSatisfy { !$0.text.contains("\u{FFFD}") })
    // Nothing lost: the concatenation is the input.
    let joined = out.lines.map(\.text).joined()
    #expect(joined.utf8.elementsEqual((0..<fed).lazy.map { pattern[$0 % 7] }))
}

@Test func overwriteCannotGrowALinePastTheCap() {
    // Overwriting ASCII with 4-byte scalars grows the bytes; the cap still holds.
    let line = String(repeating: "a", count: 100)
    let wide = String(repeating: "😀", count: 100)
    let out = collect(line + "\r" + wide + "\n", maxLineBytes: 128)
    #expect(out.lines.allSatisfy { $0.text.utf8.count <= 128 })
    #expect(out.texts.joined().unicodeScalars.filter { $0 == "😀" }.count == 100)
}

@Test func adversarialOverwriteStaysBounded() {
    // A full line rewritten after \r with a style change on every scalar: slow path, bounded size.
    let maxLine = 4096
    var s = String(repeating: "x", count: maxLine) + "\r"
    for i in 0..<maxLine { s += "\(esc)[3\(i % 8)m" + (i % 3 == 0 ? "é" : "y") }
    s += "\n"
    let out = collect(s, maxLineBytes: maxLine)
    #expect(out.lines.allSatisfy { $0.text.utf8.count <= maxLine })
    #expect(out.lines.count <= 2)
    for line in out.lines {
        var end = 0
        for run in line.runs {
            #expect(run.start >= end)
            end = run.start + run.count
        }
        #expect(end <= line.text.utf8.count)
    }
}

/// Agent-like output: 80-120 byte lines, one in seven with SGR colours.
func agentLikeOutput(lines: Int) -> (bytes: [UInt8], textBytes: Int, styledLines: Int) {
    var rng = SplitMix64(seed: 42)
    var bytes = [UInt8]()
    bytes.reserveCapacity(lines * 110)
    var textBytes = 0, styled = 0
    let words = ["the", "agent", "reads", "Sources/BridgeCore/Output.swift", "and", "writes", "tests", "│", "✓", "→", "ok"]
    for i in 0..<lines {
        let target = 80 + Int(rng.next() % 41)
        var line = ""
        while line.utf8.count < target { line += words[Int(rng.next() % UInt64(words.count))] + " " }
        textBytes += line.utf8.count
        if i % 7 == 0 {
            styled += 1
            let half = line.utf8.count / 2
            let cut = line.utf8.index(line.utf8.startIndex, offsetBy: half)
            let (a, b) = (String(line[..<cut]), String(line[cut...]))
            if a.utf8.count + b.utf8.count != line.utf8.count { fatalError("split inside a scalar") }
            bytes += Array("\(esc)[1;32m\(a)\(esc)[0m\(esc)[38;5;244m\(b)\(esc)[39m\r\n".utf8)
        } else {
            bytes += Array(line.utf8) + [0x0A]
        }
    }
    return (bytes, textBytes, styled)
}

@Test func bulkAgentLikeOutputSelfCheck() {
    // ~20 MiB; asserts counts only (never time).
    var (bytes, textBytes, styled) = agentLikeOutput(lines: 200_000)
    while bytes.count < 20 << 20 {
        let more = agentLikeOutput(lines: 20_000)
        bytes += more.bytes; textBytes += more.textBytes; styled += more.styledLines
    }
    let expectedLines = bytes.count(where: { $0 == 0x0A })
    var processor = OutputProcessor(now: { 0 })
    var batch = OutputBatch()
    var lines = 0, bytesOut = 0, styledOut = 0
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let end = min(raw.count, offset + 65536)
            processor.feed(UnsafeRawBufferPointer(rebasing: raw[offset..<end]), into: &batch)
            for line in batch.lines.dropLast(batch.endsWithOpenLine ? 1 : 0) {
                lines += 1
                bytesOut += line.text.utf8.count
                if !line.runs.isEmpty { styledOut += 1 }
            }
            batch.removeAll(keepingCapacity: true)
            offset = end
        }
    }
    #expect(lines == expectedLines)
    #expect(bytesOut == textBytes)
    #expect(styledOut == styled)
}

@Test func incompleteSequenceAtEndOfInputIsFlushedAsReplacement() {
    var processor = OutputProcessor(now: { 0 })
    var out = CollectedOutput()
    var batch = OutputBatch()
    processor.feed([0x61, 0xE2, 0x9D], into: &batch)
    out.apply(batch)
    batch.removeAll()
    #expect(out.texts == ["a"])
    processor.flushIncompleteInput(into: &batch)
    out.apply(batch)
    #expect(out.texts == ["a\u{FFFD}"])
    #expect(out.protocolViolations == 0)
}
