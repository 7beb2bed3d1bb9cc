// OutputBatch: the lines one OutputProcessor.feed produced, ready for Scrollback.apply.
// The unterminated tail line is always visible: a batch may end with it (endsWithOpenLine), and
// the next batch that changes it starts with its new version (replacesOpenLine).

public struct OutputBatch: Sendable, Equatable {
    /// Finished lines in order; the last one is still open when `endsWithOpenLine`.
    public var lines: [OutputLine]
    /// The first element replaces the open line the previous batch ended with.
    public var replacesOpenLine: Bool
    /// The last element is the unterminated line, to be replaced by a later batch.
    public var endsWithOpenLine: Bool

    public init(lines: [OutputLine] = [], replacesOpenLine: Bool = false, endsWithOpenLine: Bool = false) {
        self.lines = lines
        self.replacesOpenLine = replacesOpenLine
        self.endsWithOpenLine = endsWithOpenLine
    }

    public var isEmpty: Bool { lines.isEmpty }

    /// Empties the batch and clears both flags, for reuse by the next feed.
    public mutating func removeAll(keepingCapacity: Bool = false) {
        lines.removeAll(keepingCapacity: keepingCapacity)
        replacesOpenLine = false
        endsWithOpenLine = false
    }
}
