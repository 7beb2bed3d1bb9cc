// OutputBatch: the lines one OutputProcessor.feed produced, ready for Scrollback.apply.
// The unterminated tail line is always visible: a batch may end with it (endsWithOpenLine), and
// the next batch that changes it starts with its new version (replacesOpenLine).
//
// Packed, so that a flood costs no allocation per line: the text of every line lives in one byte
// buffer (each line followed by a newline, so the finished lines read as one piece of text), the
// style runs of every line in one array, and a small fixed-size entry per line says where its
// parts are. `OutputLine` values are made only on request (`subscript`, `lines`).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct OutputBatch: Sendable, Equatable {
    /// Where one line's parts are inside the batch.
    struct Entry: Sendable, Equatable {
        var textStart: Int
        var textCount: Int
        var runStart: Int
        var runCount: Int
        var timestamp: Double
    }

    /// Every line's text, each followed by a newline (the open line too).
    public private(set) var text: [UInt8] = []
    /// Every line's style runs; `start` counts from the start of its own line.
    private(set) var runs: [StyleRun] = []
    private(set) var entries: [Entry] = []
    /// The first line replaces the open line the previous batch ended with.
    public var replacesOpenLine: Bool
    /// The last line is the unterminated line, to be replaced by a later batch.
    public var endsWithOpenLine: Bool

    public init(replacesOpenLine: Bool = false, endsWithOpenLine: Bool = false) {
        self.replacesOpenLine = replacesOpenLine
        self.endsWithOpenLine = endsWithOpenLine
    }

    /// A batch holding `lines` (for tests and for callers that already have OutputLine values).
    public init(lines: [OutputLine], replacesOpenLine: Bool = false, endsWithOpenLine: Bool = false) {
        self.init(replacesOpenLine: replacesOpenLine, endsWithOpenLine: endsWithOpenLine)
        for line in lines { append(line) }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// The line at `index`, made into an OutputLine (allocates; for tests, tools and slow paths).
    public subscript(index: Int) -> OutputLine {
        withLine(index) { bytes, runs, timestamp in
            OutputLine(text: String(decoding: bytes, as: UTF8.self), runs: Array(runs), timestamp: timestamp)
        }
    }

    /// Every line as OutputLine values (allocates per line).
    public var lines: [OutputLine] { (0..<count).map { self[$0] } }

    /// Bytes of `finishedText`.
    public var finishedTextByteCount: Int {
        let finished = endsWithOpenLine ? count - 1 : count
        guard finished > 0 else { return 0 }
        return entries[finished - 1].textStart + entries[finished - 1].textCount + 1
    }

    /// The finished lines' text, each with its newline: the whole batch but an open last line.
    public var finishedText: String {
        let end = finishedTextByteCount
        return text.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[..<end]), as: UTF8.self) }
    }

    /// Lends line `index`'s text, runs and timestamp without copying them.
    public func withLine<R>(_ index: Int,
                            _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<StyleRun>, Double) throws -> R) rethrows -> R {
        let entry = entries[index]
        return try text.withUnsafeBufferPointer { text in
            try runs.withUnsafeBufferPointer { runs in
                try body(UnsafeBufferPointer(rebasing: text[entry.textStart..<(entry.textStart + entry.textCount)]),
                         UnsafeBufferPointer(rebasing: runs[entry.runStart..<(entry.runStart + entry.runCount)]),
                         entry.timestamp)
            }
        }
    }

    /// Its storage is not much larger than what it holds (at most four times, or 64 KiB more):
    /// worth keeping as it is. A batch emptied with `removeAll(keepingCapacity:)` while shared gets
    /// new storage as large as the old, so a small batch can sit in room made for a flood's.
    public var isCompact: Bool {
        func fits(_ count: Int, _ capacity: Int, _ stride: Int) -> Bool { (capacity - 4 * count) * stride <= 64 << 10 }
        return fits(text.count, text.capacity, 1) && fits(runs.count, runs.capacity, MemoryLayout<StyleRun>.stride)
            && fits(entries.count, entries.capacity, MemoryLayout<Entry>.stride)
    }

    /// Lines `range` as a batch of their own (both flags clear), copied in bulk: the text, the
    /// runs and the entries each in one piece (the server's line log keeps a batch's finished
    /// lines apart from its open one this way for every batch of a flood).
    public func slice(_ range: Range<Int>) -> OutputBatch {
        var part = OutputBatch()
        guard !range.isEmpty else { return part }
        let first = entries[range.lowerBound], last = entries[range.upperBound - 1]
        let textStart = first.textStart, textEnd = last.textStart + last.textCount + 1
        let runStart = first.runStart, runEnd = last.runStart + last.runCount
        // Copied through a buffer: an array made from a slice covering all of one shares its storage.
        part.text = text.withUnsafeBufferPointer { Array(UnsafeBufferPointer(rebasing: $0[textStart..<textEnd])) }
        if runEnd > runStart { part.runs = runs.withUnsafeBufferPointer { Array(UnsafeBufferPointer(rebasing: $0[runStart..<runEnd])) } }
        part.entries = entries[range].map {
            var entry = $0
            entry.textStart -= textStart
            entry.runStart -= runStart
            return entry
        }
        return part
    }

    /// Appends a line made of `bytes` (valid UTF-8) and `lineRuns` (starts relative to the line).
    public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>, runs lineRuns: UnsafeBufferPointer<StyleRun>,
                                timestamp: Double) {
        entries.append(Entry(textStart: text.count, textCount: bytes.count, runStart: runs.count,
                             runCount: lineRuns.count, timestamp: timestamp))
        text.append(contentsOf: bytes)
        text.append(0x0A)
        if !lineRuns.isEmpty { runs.append(contentsOf: lineRuns) }
    }

    /// Appends an unstyled line whose `bytes` (valid UTF-8) already end with its newline.
    public mutating func append(terminatedLine bytes: UnsafeBufferPointer<UInt8>, timestamp: Double) {
        entries.append(Entry(textStart: text.count, textCount: bytes.count - 1, runStart: runs.count,
                             runCount: 0, timestamp: timestamp))
        text.append(contentsOf: bytes)
    }

    /// Appends unstyled lines whose `bytes` (valid UTF-8) are whole lines, each ending with its
    /// newline: the text in one copy, the line boundaries found with memchr (a server client's
    /// output event). Bytes after the last newline are ignored.
    public mutating func append(terminatedLines bytes: UnsafeBufferPointer<UInt8>, timestamp: Double) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let origin = text.count
        var offset = 0
        while offset < bytes.count, let hit = memchr(base + offset, 0x0A, bytes.count - offset) {
            let end = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            entries.append(Entry(textStart: origin + offset, textCount: end - offset, runStart: runs.count,
                                 runCount: 0, timestamp: timestamp))
            offset = end + 1
        }
        text.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[..<offset]))
    }

    /// A batch whose text is `text` itself, not a copy (a server client's output event: the
    /// frame's attachment becomes the batch). `text` must be valid UTF-8 made of whole lines, each
    /// ending with its newline (the caller checks both; bytes after the last newline are dropped).
    /// `runs[i]` are line i's style runs; runs that do not fit inside their line are left out (a
    /// server bug must not crash a client), as are runs of lines the text does not have.
    /// `expectedLines`: how many lines the text holds, when the caller knows (room made once).
    public init(adoptingTerminatedLines text: [UInt8], runs lineRuns: [Int: [StyleRun]] = [:], timestamp: Double,
                replacesOpenLine: Bool = false, endsWithOpenLine: Bool = false, expectedLines: Int = 0) {
        let ordered = lineRuns.keys.sorted().flatMap { line in lineRuns[line]!.map { (line: line, run: $0) } }
        self.init(adoptingTerminatedLines: text, orderedRuns: ordered, timestamp: timestamp, replacesOpenLine: replacesOpenLine,
                  endsWithOpenLine: endsWithOpenLine, expectedLines: expectedLines)
    }

    /// The same with the runs as one list in line order (StyleRunWire.unpackInOrder), walked
    /// alongside the lines (found with memchr); runs out of order are left out.
    public init(adoptingTerminatedLines text: [UInt8], orderedRuns: [(line: Int, run: StyleRun)], timestamp: Double,
                replacesOpenLine: Bool = false, endsWithOpenLine: Bool = false, expectedLines: Int = 0) {
        self.init(replacesOpenLine: replacesOpenLine, endsWithOpenLine: endsWithOpenLine)
        if expectedLines > 0 { entries.reserveCapacity(expectedLines) }
        var nextRun = 0
        let end = text.withUnsafeBufferPointer { buffer -> Int in
            guard let base = buffer.baseAddress else { return 0 }
            var offset = 0
            while offset < buffer.count, let hit = memchr(base + offset, 0x0A, buffer.count - offset) {
                let lineEnd = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                let length = lineEnd - offset
                let line = entries.count
                var runCount = 0
                while nextRun < orderedRuns.count && orderedRuns[nextRun].line < line { nextRun += 1 }
                let first = nextRun
                while nextRun < orderedRuns.count && orderedRuns[nextRun].line == line { nextRun += 1 }
                if first < nextRun, orderedRuns[first..<nextRun].allSatisfy({
                    $0.run.start >= 0 && $0.run.count >= 0 && $0.run.start <= length - $0.run.count
                }) {
                    for index in first..<nextRun { runs.append(orderedRuns[index].run) }
                    runCount = nextRun - first
                }
                entries.append(Entry(textStart: offset, textCount: length, runStart: runs.count - runCount,
                                     runCount: runCount, timestamp: timestamp))
                offset = lineEnd + 1
            }
            return offset
        }
        self.text = text
        if end < text.count { self.text.removeSubrange(end...) }
    }

    public mutating func append(_ line: OutputLine) {
        line.withUnsafeParts { append($0, runs: $1, timestamp: line.timestamp) }
    }

    /// Removes the last line (the processor re-emits a changed open line in place).
    public mutating func removeLast() {
        let entry = entries.removeLast()
        text.removeSubrange(entry.textStart...)
        runs.removeSubrange(entry.runStart...)
    }

    /// Empties the batch and clears both flags, for reuse by the next feed.
    public mutating func removeAll(keepingCapacity: Bool = false) {
        text.removeAll(keepingCapacity: keepingCapacity)
        runs.removeAll(keepingCapacity: keepingCapacity)
        entries.removeAll(keepingCapacity: keepingCapacity)
        replacesOpenLine = false
        endsWithOpenLine = false
    }

    // MARK: Built in place (the processor's whole lines in bulk)

    var runCount: Int { runs.count }

    /// Appends text (valid UTF-8) to the text of the lines being built.
    mutating func appendText(_ p: UnsafePointer<UInt8>, count: Int) {
        if count > 0 { text.append(contentsOf: UnsafeBufferPointer(start: p, count: count)) }
    }

    mutating func appendNewline() { text.append(0x0A) }

    /// Appends a style run to the line whose runs start at `lineRunStart`; a run that continues
    /// that line's last one in the same style lengthens it (as LineBuffer does).
    mutating func appendRun(_ run: StyleRun, lineRunStart: Int) {
        if runs.count > lineRunStart, let last = runs.last, last.start + last.count == run.start, last.style == run.style {
            runs[runs.count - 1].count += run.count
        } else {
            runs.append(run)
        }
    }

    /// Ends a line built in place: its text from `textStart` (the newline after it is appended
    /// with the text), its runs from `runStart` to the last one appended.
    mutating func appendLineEntry(textStart: Int, textCount: Int, runStart: Int, timestamp: Double) {
        entries.append(Entry(textStart: textStart, textCount: textCount, runStart: runStart,
                             runCount: runs.count - runStart, timestamp: timestamp))
    }

    /// Drops text and runs appended for a line that was not ended.
    mutating func truncate(textCount: Int, runCount: Int) {
        if text.count > textCount { text.removeSubrange(textCount...) }
        if runs.count > runCount { runs.removeSubrange(runCount...) }
    }

    public static func == (a: OutputBatch, b: OutputBatch) -> Bool {
        a.replacesOpenLine == b.replacesOpenLine && a.endsWithOpenLine == b.endsWithOpenLine && a.lines == b.lines
    }
}
