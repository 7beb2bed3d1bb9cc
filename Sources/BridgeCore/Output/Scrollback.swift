// Scrollback: an instance's output lines, bounded by line count and by bytes. Trims from the
// oldest end; line numbers are absolute (they keep counting after trimming), so a view can hold a
// position while old lines fall off.
//
// Packed for floods: line text (with its newline) is copied into 64 KiB blocks (a line never
// spans two; a batch's lines go in with one copy per block), style runs
// into one ring and a fixed-size entry per line into another, so appending a line allocates
// nothing, and dropping the oldest lines frees a block at a time (kept as a spare for reuse).
// `OutputLine` values are made only when asked for: the visible rows, a search, an export.
// The byte bound counts what the memory really holds: text, entries, runs and the unused end of
// each filled block.

public struct Scrollback: Sendable {
    public private(set) var maxLines: Int
    public private(set) var maxBytes: Int

    /// Where one line's parts are.
    private struct Entry: Sendable {
        var block: Int          // absolute block number (== blocks.end for the tail block)
        var offset: Int32       // byte offset in the block
        var count: Int32        // bytes of text
        var runStart: Int       // absolute index in `runs`
        var runCount: Int32
        var cost: Int32         // bytes charged against maxBytes (grows by the block's unused end when it fills)
        var timestamp: Double
    }

    static let blockSize = 64 << 10
    private static let entryCost = MemoryLayout<Entry>.stride
    private static let runCost = MemoryLayout<StyleRun>.stride

    /// Entries by absolute line number.
    private var entries = Ring(filler: Entry(block: 0, offset: 0, count: 0, runStart: 0, runCount: 0, cost: 0, timestamp: 0))
    private var runs = Ring(filler: StyleRun(start: 0, count: 0, style: .plain))
    /// Filled blocks by absolute block number; the block being filled is `tail`, number `blocks.end`.
    private var blocks = Ring<[UInt8]>(filler: [])
    private var tail: [UInt8] = []
    private var spare: [UInt8]?

    public var count: Int { entries.count }
    public private(set) var byteCount = 0
    /// Absolute number of the oldest line still held (lines ever appended minus `count`).
    public var firstLineNumber: Int { entries.start }
    /// Lines dropped because of the bounds since the start.
    public private(set) var droppedLines = 0
    /// The newest line is an unterminated line from `apply(_:)` that a later batch may replace.
    public private(set) var lastIsOpen = false

    public init(maxLines: Int = 50_000, maxBytes: Int = 16 << 20) {
        self.maxLines = max(1, maxLines)
        self.maxBytes = max(1024, maxBytes)
    }

    /// Changes the bounds (e.g. when a shared budget is split over more instances) and trims the
    /// oldest lines at once to fit, giving back storage the smaller bounds no longer need.
    public mutating func setLimits(maxLines: Int, maxBytes: Int) {
        self.maxLines = max(1, maxLines)
        self.maxBytes = max(1024, maxBytes)
        while count > self.maxLines { dropOldest() }
        // Keep the newest line even when it alone exceeds the bound (as append does).
        while count > 1 && byteCount > self.maxBytes { dropOldest() }
        entries.compact()
        runs.compact()
        blocks.compact()
    }

    /// Absolute number one past the newest line.
    public var endLineNumber: Int { entries.end }
    public var isEmpty: Bool { entries.isEmpty }

    // MARK: Adding lines

    public mutating func append(_ line: OutputLine) {
        lastIsOpen = false
        appendOne(line)
    }

    /// Replaces the newest line (used while an unterminated line is still growing).
    public mutating func replaceLast(_ line: OutputLine) {
        precondition(count > 0, "replaceLast on empty scrollback")
        removeNewest()
        appendOne(line)
    }

    private mutating func appendOne(_ line: OutputLine) {
        var text = line.text
        text.withUTF8 { bytes in
            line.runs.withUnsafeBufferPointer { runs in
                let cost = admit(textCount: bytes.count, runCount: runs.count)
                if tail.count + bytes.count + 1 > tail.capacity {
                    sealTail(minimumCapacity: bytes.count + 1)
                    trim(toAdmit: cost)
                }
                addEntry(textCount: bytes.count, runs: runs, cost: cost, timestamp: line.timestamp)
                tail.append(contentsOf: bytes)
                tail.append(0x0A)
            }
        }
    }

    /// Applies what an OutputProcessor produced: the first line replaces the open line the previous
    /// batch left when `replacesOpenLine` (appended instead if that line is gone, e.g. after
    /// `removeAll`); the rest is appended; the last one stays replaceable when `endsWithOpenLine`.
    /// Returns how many lines were appended (not counting a replaced one).
    @discardableResult
    public mutating func apply(_ batch: OutputBatch) -> Int {
        guard !batch.isEmpty else { return 0 }
        let replaces = batch.replacesOpenLine && lastIsOpen && count > 0
        if replaces { removeNewest() }
        batch.text.withUnsafeBufferPointer { text in
            batch.runs.withUnsafeBufferPointer { batchRuns in
                // The batch holds its lines back to back, each with its newline, as a block does:
                // lines that fit in the tail block go there in one copy.
                var pendingFrom = 0      // batch text offset of the first line not yet copied
                var pendingBytes = 0
                func flush() {
                    if pendingBytes > 0 {
                        tail.append(contentsOf: UnsafeBufferPointer(rebasing: text[pendingFrom..<(pendingFrom + pendingBytes)]))
                        pendingFrom += pendingBytes
                        pendingBytes = 0
                    }
                }
                for entry in batch.entries {
                    let cost = admit(textCount: entry.textCount, runCount: entry.runCount)
                    let size = entry.textCount + 1
                    if tail.count + pendingBytes + size > tail.capacity {
                        flush()
                        sealTail(minimumCapacity: size)
                        trim(toAdmit: cost)      // the filled block's unused end was charged
                    }
                    addEntry(textCount: entry.textCount,
                             runs: UnsafeBufferPointer(rebasing: batchRuns[entry.runStart..<(entry.runStart + entry.runCount)]),
                             cost: cost, timestamp: entry.timestamp, offset: tail.count + pendingBytes)
                    pendingBytes += size
                }
                flush()
            }
        }
        lastIsOpen = batch.endsWithOpenLine
        return replaces ? batch.count - 1 : batch.count
    }

    /// Like `apply(_:)`, then leaves `batch` empty with its capacity, ready for the next feed.
    @discardableResult
    public mutating func apply(consuming batch: inout OutputBatch) -> Int {
        defer { batch.removeAll(keepingCapacity: true) }
        return apply(batch)
    }

    /// What a line of `textCount` bytes with `runCount` style runs is charged against `maxBytes`:
    /// its text and newline, its entry and its runs (a filled block's unused end comes on top).
    public static func lineCost(textCount: Int, runCount: Int) -> Int {
        textCount + 1 + entryCost + runCount * runCost
    }

    /// Makes room under both bounds for a line of `textCount` bytes and `runCount` runs; returns its cost.
    @inline(__always)
    private mutating func admit(textCount: Int, runCount: Int) -> Int {
        if count == maxLines { dropOldest() }
        let cost = Self.lineCost(textCount: textCount, runCount: runCount)
        trim(toAdmit: cost)
        return cost
    }

    @inline(__always)
    private mutating func trim(toAdmit cost: Int) {
        while count > 0 && byteCount + cost > maxBytes { dropOldest() }
    }

    @inline(__always)
    private mutating func addEntry(textCount: Int, runs lineRuns: UnsafeBufferPointer<StyleRun>, cost: Int,
                                   timestamp: Double, offset: Int? = nil) {
        entries.append(Entry(block: blocks.end, offset: Int32(offset ?? tail.count), count: Int32(textCount),
                             runStart: runs.end, runCount: Int32(lineRuns.count), cost: Int32(cost),
                             timestamp: timestamp))
        for run in lineRuns { runs.append(run) }
        byteCount += cost
    }

    /// Moves the tail block to the filled ones and starts a new one that holds at least `minimumCapacity`.
    /// The old block's unused end is charged to its last line.
    private mutating func sealTail(minimumCapacity: Int) {
        if !tail.isEmpty {
            if let newest = entries.last, newest.block == blocks.end {
                let slack = tail.capacity - tail.count
                entries[entries.end - 1].cost += Int32(slack)
                byteCount += slack
                blocks.append(tail)
            } else {
                blocks.append([])          // nothing held uses it: keep the numbering, not the bytes
            }
            tail = []
        }
        if var reused = spare, reused.capacity >= minimumCapacity {
            spare = nil
            reused.removeAll(keepingCapacity: true)
            tail = reused
        } else {
            tail.reserveCapacity(max(Self.blockSize, minimumCapacity))
        }
        releaseBlocks()
    }

    /// Removes the newest line (its text is always at the end of the tail block).
    private mutating func removeNewest() {
        let entry = entries.removeLast()
        runs.removeLast(Int(entry.runCount))
        byteCount -= Int(entry.cost)
        if entry.block == blocks.end { tail.removeSubrange(Int(entry.offset)...) }
    }

    @inline(__always)
    private mutating func dropOldest() {
        guard let oldest = entries.first else { return }
        entries.removeFirst()
        runs.removeFirst(Int(oldest.runCount))
        byteCount -= Int(oldest.cost)
        droppedLines += 1
        if oldest.block != blocks.end && (entries.first?.block ?? blocks.end) != oldest.block { releaseBlocks() }
    }

    /// Frees the filled blocks no held line uses any more (one is kept as the spare).
    private mutating func releaseBlocks() {
        let firstUsed = entries.first?.block ?? blocks.end
        while !blocks.isEmpty && blocks.start < firstUsed {
            let block = blocks.removeFirst()
            if spare == nil || block.capacity > spare!.capacity { spare = block }
        }
    }

    // MARK: Reading lines

    /// Lends line `lineNumber`'s text, runs and timestamp without copying them; nil when the line
    /// was trimmed or does not exist yet.
    public func withLine<R>(at lineNumber: Int,
                            _ body: (UnsafeBufferPointer<UInt8>, [StyleRun], Double) throws -> R) rethrows -> R? {
        guard lineNumber >= entries.start && lineNumber < entries.end else { return nil }
        let entry = entries[lineNumber]
        var lineRuns: [StyleRun] = []
        if entry.runCount > 0 {
            lineRuns.reserveCapacity(Int(entry.runCount))
            for index in entry.runStart..<(entry.runStart + Int(entry.runCount)) { lineRuns.append(runs[index]) }
        }
        let block = entry.block == blocks.end ? tail : blocks[entry.block]
        return try block.withUnsafeBufferPointer { bytes in
            let start = Int(entry.offset)
            return try body(UnsafeBufferPointer(rebasing: bytes[start..<(start + Int(entry.count))]), lineRuns, entry.timestamp)
        }
    }

    /// The line at absolute number `lineNumber`, or nil when it was trimmed or does not exist yet.
    public func line(at lineNumber: Int) -> OutputLine? {
        withLine(at: lineNumber) { bytes, runs, timestamp in
            OutputLine(text: String(decoding: bytes, as: UTF8.self), runs: runs, timestamp: timestamp)
        }
    }

    /// Lines by position 0..<count (0 = oldest held).
    public subscript(position: Int) -> OutputLine {
        precondition(position >= 0 && position < count, "scrollback index out of range")
        return line(at: firstLineNumber + position)!
    }

    public var last: OutputLine? { count == 0 ? nil : self[count - 1] }

    public mutating func removeAll() {
        entries.removeAll()
        runs.removeAll()
        while !blocks.isEmpty { blocks.removeFirst() }
        tail.removeAll(keepingCapacity: true)
        lastIsOpen = false
        byteCount = 0
    }
}
