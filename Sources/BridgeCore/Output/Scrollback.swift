// Scrollback: an instance's output lines, bounded by line count and by bytes. Trims from the
// oldest end; line numbers are absolute (they keep counting after trimming), so a view can hold a
// position while old lines fall off.
//
// Packed for floods: line text (with its newline) is copied into blocks of up to 64 KiB (a line
// never spans two; a batch's lines go in with one copy per block), style runs into one ring and a
// fixed-size entry per line into another, so appending a line allocates nothing, and dropping the
// oldest lines frees a block at a time (one is kept as a spare for reuse). A batch of 64 KiB or
// more (a server client's event, whose text is the frame's attachment) becomes a block as it is,
// not copied. `OutputLine` values are made only when asked for: the visible rows, a search, an
// export.
// The byte bound is on what the memory really holds: every block and the spare by capacity, and
// both rings by capacity; a ring or a new block is allocated only when the bound affords it.

public struct Scrollback: Sendable {
    public private(set) var maxLines: Int
    public private(set) var maxBytes: Int

    /// Where one line's parts are.
    private struct Entry: Sendable {
        var block: Int          // absolute block number (== blocks.end for the tail block)
        var offset: Int32       // byte offset in the block
        var count: Int32        // bytes of text, without the newline that follows it
        var runCount: Int32
        var runStart: Int       // absolute index in `runs`
        var timestamp: Double
    }

    static let largestBlock = 64 << 10
    private static let entryStride = MemoryLayout<Entry>.stride
    private static let runStride = MemoryLayout<StyleRun>.stride

    /// Entries by absolute line number.
    private static let noEntry = Entry(block: 0, offset: 0, count: 0, runCount: 0, runStart: 0, timestamp: 0)
    private var entries = Ring(filler: noEntry)
    private var runs = Ring(filler: StyleRun(start: 0, count: 0, style: .plain))
    /// Filled blocks by absolute block number; the block being filled is `tail`, number `blocks.end`.
    private var blocks = Ring<[UInt8]>(filler: [])
    private var tail: [UInt8] = []
    private var spare: [UInt8]?
    /// Capacity of every block held: filled, tail and spare.
    private var blockBytes = 0

    public var count: Int { entries.count }
    /// Bytes held: blocks and the spare by capacity, and both rings by capacity.
    public var byteCount: Int { blockBytes + entries.capacity * Self.entryStride + runs.capacity * Self.runStride }
    /// Absolute number of the oldest line still held (lines ever appended minus `count`).
    public var firstLineNumber: Int { entries.start }
    /// Lines dropped because of the bounds since the start.
    public private(set) var droppedLines = 0
    /// Batches whose text was kept as a block of its own, not copied (see `adoptable`).
    private(set) var adoptedBatches = 0
    /// The newest line is an unterminated line from `apply(_:)` that a later batch may replace.
    public private(set) var lastIsOpen = false

    public init(maxLines: Int = 50_000, maxBytes: Int = 16 << 20) {
        self.maxLines = max(1, maxLines)
        self.maxBytes = max(1024, maxBytes)
    }

    /// New blocks hold up to 64 KiB, less when the bound is small (an eighth of it, at least 256 bytes).
    private var blockSize: Int { min(Self.largestBlock, max(256, maxBytes / 8)) }

    /// Changes the bounds (e.g. when a shared budget is split over more instances): the newest
    /// lines that fit are copied into storage sized for the new bounds (blocks of the new size,
    /// rings just large enough), so smaller bounds give memory back at once. Line numbers are kept.
    public mutating func setLimits(maxLines: Int, maxBytes: Int) {
        let skipped = max(0, count - max(1, maxLines))
        var packed = Scrollback(maxLines: maxLines, maxBytes: maxBytes, firstLineNumber: firstLineNumber + skipped)
        for lineNumber in (firstLineNumber + skipped)..<endLineNumber {
            withLine(at: lineNumber) { bytes, runs, timestamp in
                runs.withUnsafeBufferPointer { packed.appendOne(bytes, $0, timestamp) }
            }
        }
        packed.droppedLines += droppedLines + skipped
        packed.lastIsOpen = lastIsOpen && packed.count > 0
        self = packed
    }

    private init(maxLines: Int, maxBytes: Int, firstLineNumber: Int) {
        self.init(maxLines: maxLines, maxBytes: maxBytes)
        entries = Ring(filler: Self.noEntry, start: firstLineNumber)
    }

    /// Absolute number one past the newest line.
    public var endLineNumber: Int { entries.end }
    public var isEmpty: Bool { entries.isEmpty }

    // MARK: Adding lines

    public mutating func append(_ line: OutputLine) {
        lastIsOpen = false
        appendOne(line)
    }

    /// Puts a finished line in front of the open (still growing) newest line, which stays open
    /// and keeps growing below it; with no open line it is a plain append.
    public mutating func insertBeforeOpenLine(_ line: OutputLine) {
        guard lastIsOpen, count > 0, let open = self.line(at: endLineNumber - 1) else {
            append(line)
            return
        }
        removeNewest()
        appendOne(line)
        appendOne(open)
    }

    /// Removes the open (unterminated) newest line, if there is one.
    public mutating func removeOpenLine() {
        guard lastIsOpen, count > 0 else { return }
        removeNewest()
        lastIsOpen = false
    }

    /// Replaces the newest line (used while an unterminated line is still growing).
    public mutating func replaceLast(_ line: OutputLine) {
        precondition(count > 0, "replaceLast on empty scrollback")
        removeNewest()
        appendOne(line)
    }

    private mutating func appendOne(_ line: OutputLine) {
        line.withUnsafeParts { appendOne($0, $1, line.timestamp) }
    }

    private mutating func appendOne(_ bytes: UnsafeBufferPointer<UInt8>, _ lineRuns: UnsafeBufferPointer<StyleRun>,
                                    _ timestamp: Double) {
        let size = bytes.count + 1
        admit(size: size, runCount: lineRuns.count, pending: 0)
        if tail.count + size > tail.capacity { startTail(for: size, runCount: lineRuns.count) }
        addEntry(textCount: bytes.count, runs: lineRuns, timestamp: timestamp, offset: tail.count)
        tail.append(contentsOf: bytes)
        tail.append(0x0A)
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
        if adoptable(batch) && adopt(batch) {
            lastIsOpen = batch.endsWithOpenLine
            return replaces ? batch.count - 1 : batch.count
        }
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
                    let size = entry.textCount + 1
                    admit(size: size, runCount: entry.runCount, pending: pendingBytes)
                    if tail.count + pendingBytes + size > tail.capacity {
                        flush()
                        startTail(for: size, runCount: entry.runCount)
                    }
                    addEntry(textCount: entry.textCount,
                             runs: UnsafeBufferPointer(rebasing: batchRuns[entry.runStart..<(entry.runStart + entry.runCount)]),
                             timestamp: entry.timestamp, offset: tail.count + pendingBytes)
                    pendingBytes += size
                }
                flush()
            }
        }
        lastIsOpen = batch.endsWithOpenLine
        return replaces ? batch.count - 1 : batch.count
    }

    /// Like `apply(_:)`, then leaves `batch` empty with its capacity, ready for the next feed
    /// (with none when its text became a block here: keeping it would allocate as much again).
    @discardableResult
    public mutating func apply(consuming batch: inout OutputBatch) -> Int {
        let adopted = adoptable(batch)
        defer { if adopted { batch = OutputBatch() } else { batch.removeAll(keepingCapacity: true) } }
        return apply(batch)
    }

    // MARK: Adopting a batch's text

    /// A batch's text of at least this many bytes becomes a block as it is, not copied.
    static let adoptedBytes = largestBlock

    /// Whether `apply` keeps `batch`'s text as a block of its own instead of copying it: large
    /// (a server client's output event, whose text is the frame's attachment: no copy between
    /// the socket and the scrollback), its storage not much larger than it (all of it counts),
    /// well within both bounds.
    private func adoptable(_ batch: OutputBatch) -> Bool {
        let text = batch.text
        return text.count >= Self.adoptedBytes && text.capacity - text.count <= text.count / 8
            && text.capacity <= maxBytes / 4 && batch.count <= maxLines / 2
    }

    /// Keeps `batch`'s text as a filled block (the tail block is retired first, so line order is
    /// block order) after dropping the oldest lines until it, its entries and runs fit the bounds.
    /// False when they do not fit even alone (the caller copies the lines instead).
    private mutating func adopt(_ batch: OutputBatch) -> Bool {
        let block = batch.text
        let lines = batch.count, runCount = batch.runs.count
        func fits() -> Bool {
            count + lines <= maxLines && byteCount + growth(block: block.capacity, lines: lines, runCount: runCount) <= maxBytes
        }
        while count > 0 && !fits() { dropOldest() }
        if count == 0 {
            entries.shrinkIfSparse()
            runs.shrinkIfSparse()
            guard fits() else { return false }
        }
        if entries.last?.block == blocks.end && !tail.isEmpty {
            blocks.append(tail)   // still counted in blockBytes, now as a filled block
            tail = []
        } else {
            tail.removeAll(keepingCapacity: true)   // no held line uses it: it stays the tail
        }
        let number = blocks.end
        batch.runs.withUnsafeBufferPointer { batchRuns in
            for entry in batch.entries {
                entries.append(Entry(block: number, offset: Int32(entry.textStart), count: Int32(entry.textCount),
                                     runCount: Int32(entry.runCount), runStart: runs.end, timestamp: entry.timestamp))
                for index in entry.runStart..<(entry.runStart + entry.runCount) { runs.append(batchRuns[index]) }
            }
        }
        blocks.append(block)
        blockBytes += block.capacity
        adoptedBatches += 1
        return true
    }

    /// Bytes of storage adopting a block of `block` bytes with `lines` entries and `runCount` runs allocates.
    private func growth(block: Int, lines: Int, runCount: Int) -> Int {
        func grown(_ ring: Int, _ used: Int, _ adding: Int) -> Int {
            guard used + adding > ring else { return 0 }
            var size = max(4, ring)
            while size < used + adding { size *= 2 }
            return size - ring
        }
        return block + grown(entries.capacity, entries.count, lines) * Self.entryStride
            + (runCount > 0 ? grown(runs.capacity, runs.count, runCount) * Self.runStride : 0)
    }

    /// Drops the oldest lines until a line of `size` bytes and `runCount` runs fits both bounds,
    /// `pending` bytes already being on their way into the tail block.
    @inline(__always)
    private mutating func admit(size: Int, runCount: Int, pending: Int) {
        if count == maxLines { dropOldest() }
        while count > 0 && byteCount + growth(size: size, runCount: runCount, pending: pending) > maxBytes {
            dropOldest()
        }
        if count == 0 {
            // Nothing older is left to drop: give back ring storage a burst left behind.
            entries.shrinkIfSparse()
            runs.shrinkIfSparse()
        }
    }

    /// How many bytes of storage adding such a line would allocate.
    @inline(__always)
    private func growth(size: Int, runCount: Int, pending: Int) -> Int {
        var extra = 0
        if tail.count + pending + size > tail.capacity && (spare?.capacity ?? 0) < size {
            extra += max(blockSize, size)
        }
        if entries.count == entries.capacity { extra += max(4, entries.capacity) * Self.entryStride }
        if runCount > 0 && runs.count + runCount > runs.capacity {
            var grown = max(4, runs.capacity)
            while grown < runs.count + runCount { grown *= 2 }
            extra += (grown - runs.capacity) * Self.runStride
        }
        return extra
    }

    @inline(__always)
    private mutating func addEntry(textCount: Int, runs lineRuns: UnsafeBufferPointer<StyleRun>, timestamp: Double,
                                   offset: Int) {
        entries.append(Entry(block: blocks.end, offset: Int32(offset), count: Int32(textCount),
                             runCount: Int32(lineRuns.count), runStart: runs.end, timestamp: timestamp))
        for run in lineRuns { runs.append(run) }
    }

    /// A new tail block for a line of `size` bytes and `runCount` runs that did not fit the old
    /// one (whose pending bytes must have landed), then the bounds again: malloc may have given
    /// more than was asked for.
    private mutating func startTail(for size: Int, runCount: Int) {
        startTail(minimumCapacity: size)
        admit(size: size, runCount: runCount, pending: 0)
    }

    /// Retires the tail block (to the filled ones when a held line uses it) and makes a tail with
    /// room for `minimumCapacity` bytes: the old one emptied, the spare, or a new block.
    private mutating func startTail(minimumCapacity: Int) {
        if entries.last?.block == blocks.end && !tail.isEmpty {
            blocks.append(tail)
            tail = []
        } else {
            tail.removeAll(keepingCapacity: true)   // no held line uses it
            if tail.capacity >= minimumCapacity { return }
            blockBytes -= tail.capacity
            tail = []
        }
        if var reused = spare, reused.capacity >= minimumCapacity {
            spare = nil
            reused.removeAll(keepingCapacity: true)
            tail = reused
        } else {
            tail.reserveCapacity(max(blockSize, minimumCapacity))
            blockBytes += tail.capacity
        }
    }

    /// Removes the newest line (its text is always at the end of the tail block).
    private mutating func removeNewest() {
        let entry = entries.removeLast()
        runs.removeLast(Int(entry.runCount))
        if entry.block == blocks.end { tail.removeSubrange(Int(entry.offset)...) }
    }

    @inline(__always)
    private mutating func dropOldest() {
        guard let oldest = entries.first else { return }
        entries.removeFirst()
        if oldest.runCount > 0 {
            runs.removeFirst(Int(oldest.runCount))
            runs.shrinkIfSparse()   // a line with thousands of runs must not leave them all counted
        }
        droppedLines += 1
        if oldest.block != blocks.end && (entries.first?.block ?? blocks.end) != oldest.block { releaseBlocks() }
    }

    /// Frees the filled blocks no held line uses any more (the first becomes the spare if there is none).
    private mutating func releaseBlocks() {
        let firstUsed = entries.first?.block ?? blocks.end
        while !blocks.isEmpty && blocks.start < firstUsed {
            let block = blocks.removeFirst()
            if spare == nil { spare = block } else { blockBytes -= block.capacity }
        }
        entries.shrinkIfSparse()
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

    /// Absolute numbers of the held lines in which `find` reports a match, oldest first, without
    /// making a String per line: `find(bytes, from)` searches a whole block (lines one after the
    /// other, each followed by its newline) from offset `from` and returns the first match's byte
    /// range. A match is credited to the line it starts in when it ends inside that line's text
    /// (the `/` search's needle holds no newline); the search then goes on at the next line, so
    /// each line counts once, as `grep -c` counts.
    public func lineNumbers(matching find: (UnsafeBufferPointer<UInt8>, Int) -> Range<Int>?) -> [Int] {
        var result: [Int] = []
        var line = entries.start
        while line < entries.end {
            let blockNumber = entries[line].block
            let block = blockNumber == blocks.end ? tail : blocks[blockNumber]
            let next = block.withUnsafeBufferPointer { bytes -> Int in
                var from = Int(entries[line].offset)
                while line < entries.end, entries[line].block == blockNumber, let hit = find(bytes, from) {
                    // The line the match starts in: the last one of this block starting at or before it.
                    while line + 1 < entries.end, entries[line + 1].block == blockNumber,
                          Int(entries[line + 1].offset) <= hit.lowerBound {
                        line += 1
                    }
                    let entry = entries[line]
                    let end = Int(entry.offset) + Int(entry.count)
                    if hit.lowerBound < Int(entry.offset) || hit.upperBound > end {
                        from = hit.lowerBound + 1   // across a newline or in bytes no held line owns
                        continue
                    }
                    result.append(line)
                    line += 1
                    guard line < entries.end, entries[line].block == blockNumber else { break }
                    from = Int(entries[line].offset)
                }
                while line < entries.end && entries[line].block == blockNumber { line += 1 }
                return line
            }
            line = next
        }
        return result
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
        releaseBlocks()
        tail.removeAll(keepingCapacity: true)
        lastIsOpen = false
    }
}
