// Scrollback: a fixed-capacity ring of output lines, bounded by line count and by bytes.
// Trims from the oldest end; line numbers are absolute (they keep counting after trimming),
// so a view can hold a position while old lines fall off.

public struct Scrollback: Sendable {
    public private(set) var maxLines: Int
    public private(set) var maxBytes: Int

    private var storage: [OutputLine?]
    private var head = 0          // index in storage of the oldest line
    public private(set) var count = 0
    public private(set) var byteCount = 0
    /// Absolute number of the oldest line still held (lines ever appended minus `count`).
    public private(set) var firstLineNumber = 0
    /// Lines dropped because of the bounds since the start.
    public private(set) var droppedLines = 0
    /// The newest line is an unterminated line from `apply(_:)` that a later batch may replace.
    public private(set) var lastIsOpen = false

    public init(maxLines: Int = 50_000, maxBytes: Int = 16 << 20) {
        self.maxLines = max(1, maxLines)
        self.maxBytes = max(1024, maxBytes)
        storage = []
    }

    /// Changes the bounds (e.g. when a shared budget is split over more instances) and trims the
    /// oldest lines at once to fit. A much smaller ring also gives back its unused slots.
    public mutating func setLimits(maxLines: Int, maxBytes: Int) {
        self.maxLines = max(1, maxLines)
        self.maxBytes = max(1024, maxBytes)
        while count > self.maxLines { dropOldest() }
        // Keep the newest line even when it alone exceeds the bound (as append does).
        while count > 1 && byteCount > self.maxBytes { dropOldest() }
        if storage.count > 64 && storage.count > 2 * max(count, 1) {
            var compact: [OutputLine?] = []
            compact.reserveCapacity(count)
            for position in 0..<count { compact.append(storage[(head + position) % storage.count]) }
            storage = compact
            head = 0
        }
    }

    /// Absolute number one past the newest line.
    public var endLineNumber: Int { firstLineNumber + count }
    public var isEmpty: Bool { count == 0 }

    public mutating func append(_ line: consuming OutputLine) {
        lastIsOpen = false
        if count == maxLines { dropOldest() }
        let cost = line.byteCost
        while count > 0 && byteCount + cost > maxBytes { dropOldest() }
        if count == storage.count {
            // Full array but below maxLines: grow (rotating first so the ring starts at 0).
            if head != 0 {
                storage = Array(storage[head...] + storage[..<head])
                head = 0
            }
            storage.append(consume line)
        } else {
            storage[(head + count) % storage.count] = consume line
        }
        count += 1
        byteCount += cost
    }

    /// Replaces the newest line (used while an unterminated line is still growing).
    public mutating func replaceLast(_ line: consuming OutputLine) {
        precondition(count > 0, "replaceLast on empty scrollback")
        let index = (head + count - 1) % storage.count
        byteCount += line.byteCost - (storage[index]?.byteCost ?? 0)
        storage[index] = consume line
        // A grown line may push the total over the byte bound: trim older lines, never this one.
        while count > 1 && byteCount > maxBytes { dropOldest() }
    }

    /// Applies what an OutputProcessor produced: the first line replaces the open line the previous
    /// batch left when `replacesOpenLine` (appended instead if that line is gone, e.g. after
    /// `removeAll`); the rest is appended; the last one stays replaceable when `endsWithOpenLine`.
    public mutating func apply(_ batch: OutputBatch) {
        guard !batch.lines.isEmpty else { return }
        var rest = batch.lines[...]
        if batch.replacesOpenLine && lastIsOpen && count > 0 {
            replaceLast(rest.removeFirst())
        }
        for line in rest { append(line) }
        lastIsOpen = batch.endsWithOpenLine
    }

    /// Like `apply(_:)`, but moves the lines out of `batch` instead of copying them (no retain and
    /// release per line), and leaves `batch` empty with its capacity, ready for the next feed.
    public mutating func apply(consuming batch: inout OutputBatch) {
        defer { batch.removeAll(keepingCapacity: true) }
        guard !batch.lines.isEmpty else { return }
        let replaces = batch.replacesOpenLine && lastIsOpen && count > 0
        let endsOpen = batch.endsWithOpenLine
        batch.lines.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            for index in 0..<buffer.count {
                // Move the line out and leave an empty one (no heap storage) for the array to destroy.
                let line = (base + index).move()
                (base + index).initialize(to: OutputLine(text: ""))
                if index == 0 && replaces { replaceLast(line) } else { append(line) }
            }
        }
        lastIsOpen = endsOpen
    }

    /// The line at absolute number `lineNumber`, or nil when it was trimmed or does not exist yet.
    public func line(at lineNumber: Int) -> OutputLine? {
        let offset = lineNumber - firstLineNumber
        guard offset >= 0 && offset < count else { return nil }
        return storage[(head + offset) % storage.count]
    }

    /// Lines by position 0..<count (0 = oldest held).
    public subscript(position: Int) -> OutputLine {
        precondition(position >= 0 && position < count, "scrollback index out of range")
        return storage[(head + position) % storage.count]!
    }

    public var last: OutputLine? { count == 0 ? nil : self[count - 1] }

    public mutating func removeAll() {
        firstLineNumber += count
        lastIsOpen = false
        storage = []
        head = 0
        count = 0
        byteCount = 0
    }

    private mutating func dropOldest() {
        guard count > 0 else { return }
        byteCount -= storage[head]?.byteCost ?? 0
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        firstLineNumber += 1
        droppedLines += 1
        if count == 0 { head = 0; storage.removeAll(keepingCapacity: true) }
    }
}
