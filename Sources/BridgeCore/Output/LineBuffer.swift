// LineBuffer: the line being assembled by the OutputProcessor, with a terminal-like cursor.
// Bytes are always valid, sanitized UTF-8; style runs are kept in UTF-8 byte offsets.
// Appending at the end is the fast path (a memcpy and at most one run update). After `\r`,
// backspace or a cursor column move, text overwrites scalar by scalar (one column per scalar;
// double-width characters are not modelled), which is slower but bounded by `capacity`.

struct LineBuffer {
    /// Most bytes a line may hold; the processor starts a new line when a write does not fit.
    let capacity: Int
    private(set) var bytes: [UInt8] = []
    private(set) var runs: [StyleRun] = []
    /// Cursor as a byte offset into `bytes`, always on a scalar boundary.
    private(set) var cursor = 0
    /// Columns the cursor stands beyond the end of the text (after a tab, ESC[2K, ESC[nG ...);
    /// filled with spaces when text is written there.
    private(set) var pad = 0
    private var scratchRuns: [StyleRun] = []
    // Column cache for `column(at:)`: the column of byte offset `cacheByte` (amortises tabs).
    private var cacheByte = 0
    private var cacheColumn = 0

    init(capacity: Int) {
        self.capacity = capacity
        bytes.reserveCapacity(min(capacity, 1 << 12))
    }

    var isEmpty: Bool { bytes.isEmpty }
    var count: Int { bytes.count }

    /// Appends the line as it is now (text and runs) to `batch`.
    func copy(to batch: inout OutputBatch, timestamp: Double) {
        bytes.withUnsafeBufferPointer { text in
            runs.withUnsafeBufferPointer { batch.append(text, runs: $0, timestamp: timestamp) }
        }
    }

    /// Empties the line for the next one (keeping the byte capacity).
    mutating func reset() {
        if !runs.isEmpty { runs.removeAll(keepingCapacity: true) }
        bytes.removeAll(keepingCapacity: true)
        cursor = 0
        pad = 0
        cacheByte = 0
        cacheColumn = 0
    }

    /// Writes valid, printable UTF-8 at the cursor. Returns how many bytes were written: fewer than
    /// `count` when the line is full (always on a scalar boundary; 0 means "start a new line").
    mutating func write(_ p: UnsafePointer<UInt8>, count: Int, style: TextStyle, plain: Bool) -> Int {
        if pad > 0 {
            guard fillPad() else { return 0 }
        }
        if cursor == bytes.count {
            return append(p, count: count, style: style, plain: plain)
        }
        return overwrite(p, count: count, style: style, plain: plain)
    }

    @inline(__always)
    private mutating func append(_ p: UnsafePointer<UInt8>, count: Int, style: TextStyle, plain: Bool) -> Int {
        var n = count
        let room = capacity - bytes.count
        if n > room {
            n = room
            while n > 0 && p[n] & 0xC0 == 0x80 { n -= 1 }   // back up to a scalar boundary
            if n == 0 { return 0 }
        }
        let start = bytes.count
        bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        cursor = bytes.count
        if !plain { addRun(start: start, count: n, style: style) }
        return n
    }

    @inline(__always)
    private mutating func addRun(start: Int, count: Int, style: TextStyle) {
        if let last = runs.last, last.start + last.count == start, last.style == style {
            runs[runs.count - 1].count += count
        } else {
            runs.append(StyleRun(start: start, count: count, style: style))
        }
    }

    private mutating func overwrite(_ p: UnsafePointer<UInt8>, count: Int, style: TextStyle, plain: Bool) -> Int {
        // Scalars land one after another, as on a terminal: the first one that would push the line
        // past its capacity erases the old tail from the cursor, and the rest is appended (which
        // splits the line). Deciding per scalar, not per chunk, keeps the result independent of
        // where reads happened to end.
        let fitting = fittingPrefix(p, count: count)
        if fitting == count { return overwriteInPlace(p, count: count, style: style, plain: plain) }
        let done = fitting > 0 ? overwriteInPlace(p, count: fitting, style: style, plain: plain) : 0
        eraseToEnd()
        return done + append(p + fitting, count: count - fitting, style: style, plain: plain)
    }

    /// Bytes of `p` (whole scalars) that can overwrite at the cursor, one scalar at a time,
    /// without the line ever exceeding its capacity.
    private func fittingPrefix(_ p: UnsafePointer<UInt8>, count: Int) -> Int {
        bytes.withUnsafeBufferPointer { line in
            var size = line.count, old = cursor, j = 0
            while j < count {
                var length = 1
                while j + length < count && p[j + length] & 0xC0 == 0x80 { length += 1 }
                var oldEnd = old
                if oldEnd < line.count {
                    oldEnd += 1
                    while oldEnd < line.count && line[oldEnd] & 0xC0 == 0x80 { oldEnd += 1 }
                }
                let newSize = size - (oldEnd - old) + length
                if newSize > capacity { break }
                size = newSize
                old = oldEnd
                j += length
            }
            return j
        }
    }

    /// Overwrites at the cursor with text known to fit.
    private mutating func overwriteInPlace(_ p: UnsafePointer<UInt8>, count: Int, style: TextStyle, plain: Bool) -> Int {
        // The new text covers as many old scalars as it has scalars itself.
        var scalars = 0
        for j in 0..<count where p[j] & 0xC0 != 0x80 { scalars += 1 }
        var end = cursor
        bytes.withUnsafeBufferPointer { line in
            var left = scalars
            while left > 0 && end < line.count {
                end += 1
                while end < line.count && line[end] & 0xC0 == 0x80 { end += 1 }
                left -= 1
            }
        }
        let start = cursor
        if end - start == count {
            bytes.withUnsafeMutableBufferPointer { line in
                for j in 0..<count { line[start + j] = p[j] }
            }
        } else {
            bytes.replaceSubrange(start..<end, with: UnsafeBufferPointer(start: p, count: count))
        }
        if !(plain && runs.isEmpty) {
            replaceRuns(from: start, to: end, newCount: count, style: plain ? nil : style)
        }
        cursor = start + count
        invalidateColumnCache(from: start)
        return count
    }

    /// Rewrites `runs` after bytes start..<end were replaced by `newCount` bytes of `style` (nil = plain).
    private mutating func replaceRuns(from start: Int, to end: Int, newCount: Int, style: TextStyle?) {
        let delta = newCount - (end - start)
        scratchRuns.removeAll(keepingCapacity: true)
        func push(_ run: StyleRun) {
            guard run.count > 0 else { return }
            if let last = scratchRuns.last, last.start + last.count == run.start, last.style == run.style {
                scratchRuns[scratchRuns.count - 1].count += run.count
            } else {
                scratchRuns.append(run)
            }
        }
        for run in runs where run.start < start {
            push(StyleRun(start: run.start, count: min(run.start + run.count, start) - run.start, style: run.style))
        }
        if let style { push(StyleRun(start: start, count: newCount, style: style)) }
        for run in runs where run.start + run.count > end {
            let from = max(run.start, end)
            push(StyleRun(start: from + delta, count: run.start + run.count - from, style: run.style))
        }
        swap(&runs, &scratchRuns)
    }

    /// ESC[K: erases from the cursor to the end of the line.
    mutating func eraseToEnd() {
        guard cursor < bytes.count else { return }
        bytes.removeSubrange(cursor...)
        while let last = runs.last, last.start + last.count > cursor {
            if last.start >= cursor { runs.removeLast() } else { runs[runs.count - 1].count = cursor - last.start }
        }
        invalidateColumnCache(from: cursor)
    }

    /// ESC[2K: clears the line; the cursor keeps its column.
    mutating func eraseLine() {
        let column = min(cursorColumn, capacity)
        bytes.removeAll(keepingCapacity: true)
        runs.removeAll(keepingCapacity: true)
        cursor = 0
        pad = column
        cacheByte = 0
        cacheColumn = 0
    }

    /// `\r`
    mutating func carriageReturn() {
        cursor = 0
        pad = 0
    }

    /// `\b`: one column left, not past column 0.
    mutating func backspace() {
        if pad > 0 { pad -= 1; return }
        guard cursor > 0 else { return }
        cursor -= 1
        while cursor > 0 && bytes[cursor] & 0xC0 == 0x80 { cursor -= 1 }
    }

    /// The cursor's column (scalars before it plus pad).
    var cursorColumn: Int { mutating get { column(at: cursor) + pad } }

    /// Moves the cursor to `column` (0-based, capped to the line capacity); beyond the text it pads.
    mutating func moveCursor(toColumn target: Int) {
        let target = max(0, min(target, capacity))
        // Walk from the start (or the cache) to the target column.
        var byte = 0, column = 0
        if cacheByte <= bytes.count && cacheColumn <= target { byte = cacheByte; column = cacheColumn }
        bytes.withUnsafeBufferPointer { line in
            while column < target && byte < line.count {
                byte += 1
                while byte < line.count && line[byte] & 0xC0 == 0x80 { byte += 1 }
                column += 1
            }
        }
        cursor = byte
        pad = target - column
        cacheByte = byte
        cacheColumn = column
    }

    /// `\t`: to the next multiple of 8.
    mutating func tab() {
        let column = cursorColumn
        moveCursor(toColumn: (column / 8 + 1) * 8)
    }

    private mutating func column(at offset: Int) -> Int {
        var byte = 0, column = 0
        if cacheByte <= offset { byte = cacheByte; column = cacheColumn }
        bytes.withUnsafeBufferPointer { line in
            while byte < offset {
                if line[byte] & 0xC0 != 0x80 { column += 1 }
                byte += 1
            }
        }
        cacheByte = offset
        cacheColumn = column
        return column
    }

    private mutating func invalidateColumnCache(from offset: Int) {
        if cacheByte > offset { cacheByte = 0; cacheColumn = 0 }
    }

    /// Writes the pending pad as plain spaces at the end. False when the line is full.
    private mutating func fillPad() -> Bool {
        let spaces: StaticString = "                                                                "
        while pad > 0 {
            let chunk = min(pad, spaces.utf8CodeUnitCount)
            let written = append(spaces.utf8Start, count: chunk, style: .plain, plain: true)
            if written == 0 { return false }
            pad -= written
        }
        return true
    }
}
