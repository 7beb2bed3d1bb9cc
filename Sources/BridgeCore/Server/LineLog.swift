// LineLog: an instance's recent output lines as the server keeps them for its clients, each with
// a line id. Ids count up from 1 per instance and server run, one per line; the unfinished last
// line has the id it will keep when it ends, and a batch that replaces it starts with that id. A
// client that saw every finished line up to id N asks for the lines from N + 1 and gets exactly
// the ones it lacks: no gap (while they are still kept) and no repeat. Bounded by bytes: the
// oldest batches go first, and a request from before the oldest kept line says how many lines
// are gone.
// A batch of finished lines only is kept as the hub made it, sharing its storage, when that
// storage is about its size; otherwise its finished lines are copied. (Keeping a flood's batches
// with their open tail shared, cut off only when read, saved the copy but cost more: the hub then
// filled fresh pages every drain, page faults and zeroing, and held ~25 MiB more at the peak.)

public struct LineLog {
    /// Finished lines, in batches as they came, each with its first line's id.
    private var chunks: [(first: UInt64, batch: OutputBatch)] = []
    private var head = 0
    private var keptBytes = 0
    /// The unfinished last line (a one-line batch) and its id.
    public private(set) var openLine: (id: UInt64, batch: OutputBatch)?
    /// The id the next new line gets.
    public private(set) var nextID: UInt64 = 1
    public let maxBytes: Int

    public init(maxBytes: Int = 4 << 20) {
        self.maxBytes = max(maxBytes, 1)
    }

    /// The oldest line id still kept (nextID when nothing is).
    public var oldestID: UInt64 {
        if head < chunks.count { return chunks[head].first }
        return openLine?.id ?? nextID
    }

    /// Takes a batch from the hub; returns the id of its first line.
    @discardableResult
    public mutating func append(_ batch: OutputBatch) -> UInt64 {
        let first: UInt64
        if batch.replacesOpenLine, let open = openLine {
            first = open.id
        } else {
            first = nextID
        }
        openLine = nil
        nextID = first + UInt64(batch.count)
        guard !batch.isEmpty else { return first }
        let finished = batch.endsWithOpenLine ? batch.count - 1 : batch.count
        if finished > 0 {
            // A small batch in storage grown for a large one is copied: the bound holds for memory.
            var kept = finished == batch.count && batch.isCompact ? batch : batch.slice(0..<finished)
            kept.replacesOpenLine = false
            kept.endsWithOpenLine = false
            keptBytes += kept.text.count
            chunks.append((first, kept))
        }
        if batch.endsWithOpenLine {
            var open = batch.slice((batch.count - 1)..<batch.count)
            open.endsWithOpenLine = true
            openLine = (first + UInt64(batch.count - 1), open)
        }
        trim()
        return first
    }

    /// The kept lines from `id` on (finished ones, then the open line), as batches with their
    /// first ids, and how many lines from `id` on are no longer kept.
    public func lines(from id: UInt64) -> (batches: [(first: UInt64, batch: OutputBatch)], missing: UInt64) {
        var result: [(first: UInt64, batch: OutputBatch)] = []
        let oldest = oldestID
        let missing = id < oldest ? oldest - id : 0
        let start = max(id, oldest)
        for index in head..<chunks.count {
            let (first, batch) = chunks[index]
            let end = first + UInt64(batch.count)
            guard end > start else { continue }
            if first >= start {
                result.append((first, batch))
            } else {
                result.append((start, batch.slice(Int(start - first)..<batch.count)))
            }
        }
        if let open = openLine, open.id >= start { result.append((open.id, open.batch)) }
        return (result, missing)
    }

    /// At most about `maxBytes` of the kept lines from `id` up to (not including) `end`, as
    /// batches with their first ids (a batch cut at `end`; the open line last when it is before
    /// `end`), and how many lines from `id` on are no longer kept. A paced reader's step: it
    /// goes on from the line after the last finished one it got. At least one batch when any
    /// line is in range, whatever its size.
    public func lines(from id: UInt64, before end: UInt64, maxBytes: Int) -> (batches: [(first: UInt64, batch: OutputBatch)], missing: UInt64) {
        var result: [(first: UInt64, batch: OutputBatch)] = []
        let oldest = oldestID
        let missing = id < oldest ? oldest - id : 0
        let start = max(id, oldest)
        guard start < end else { return (result, missing) }
        // The first kept batch that ends after `start` (the batches are in id order).
        var low = head, high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            if chunks[mid].first + UInt64(chunks[mid].batch.count) > start { high = mid } else { low = mid + 1 }
        }
        var bytes = 0
        var index = low
        while index < chunks.count && bytes < maxBytes {
            let (first, batch) = chunks[index]
            guard first < end else { break }
            let from = first >= start ? 0 : Int(start - first)
            let to = min(batch.count, Int(end - first))
            if from == 0 && to == batch.count {
                result.append((first, batch))
            } else {
                result.append((first + UInt64(from), batch.slice(from..<to)))
            }
            bytes += result[result.count - 1].batch.text.count
            index += 1
        }
        if index == chunks.count, bytes < maxBytes, let open = openLine, open.id >= start, open.id < end {
            result.append((open.id, open.batch))
        }
        return (result, missing)
    }

    private mutating func trim() {
        // The newest batch stays whatever its size: the bound is maxBytes plus one batch.
        while keptBytes > maxBytes && head < chunks.count - 1 {
            keptBytes -= chunks[head].batch.text.count
            // Its storage goes now, not when the array is compacted below: until then a flood's
            // trimmed batches were all still held (several times the bound).
            chunks[head].batch = OutputBatch()
            head += 1
        }
        if head > 64 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }
}
