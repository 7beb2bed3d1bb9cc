// OutputQueue: the bounded, ordered queue of frames waiting for the out-FIFO.
// While no reader is attached, output keeps coming; beyond `limit` bytes the oldest frames are
// dropped (in one batch down to 90 % of the limit, like tmux trims its history in chunks, so a
// flood costs no quadratic work). Plain frames are all droppable bytes; in jsonl only `chunk`
// frames are dropped first, so `done` and notices survive unless they alone exceed the limit.
// The number of dropped bytes is remembered; the agent reports it when a reader attaches.

public struct OutputFrame: Sendable, Equatable {
    public var bytes: [UInt8]
    /// Output data (may be dropped first) rather than a turn boundary or notice.
    public var droppable: Bool
    public init(bytes: [UInt8], droppable: Bool) {
        self.bytes = bytes
        self.droppable = droppable
    }
}

public struct OutputQueue: Sendable {
    public let limit: Int
    /// When true (plain), a frame may be cut so exactly the oldest bytes go.
    public let byteStream: Bool
    private var frames: [OutputFrame] = []
    private var head = 0
    /// Bytes of `frames[head]` already written.
    public private(set) var headOffset = 0
    public private(set) var byteCount = 0
    /// Bytes dropped since the last `takeDroppedCount()`.
    public private(set) var droppedBytes = 0

    public init(limit: Int, byteStream: Bool) {
        self.limit = max(limit, 1)
        self.byteStream = byteStream
    }

    public var isEmpty: Bool { head == frames.count }
    public var frameCount: Int { frames.count - head }
    public var isFull: Bool { byteCount >= limit }

    /// Small droppable frames of a byte stream are joined into the one before: a plain reply's
    /// text and its `❯ ` marker leave in one write(2), so the host wakes once for the reply.
    public static let joinBelow = 4096

    public mutating func append(_ frame: OutputFrame) {
        guard !frame.bytes.isEmpty else { return }
        byteCount += frame.bytes.count
        if byteStream, frame.droppable, !isEmpty, frames[frames.count - 1].droppable,
           frames[frames.count - 1].bytes.count + frame.bytes.count <= Self.joinBelow {
            frames[frames.count - 1].bytes += frame.bytes
            return
        }
        frames.append(frame)
    }

    /// Puts frames before everything else (hello and the drop notice on attach).
    public mutating func prepend(_ newFrames: [OutputFrame]) {
        guard !newFrames.isEmpty else { return }
        if headOffset > 0, !isEmpty {
            if byteStream {
                frames[head].bytes.removeFirst(headOffset)
                headOffset = 0
            } else {
                restartHeadFrame()
            }
        }
        frames = newFrames + frames[head...]
        head = 0
        byteCount += newFrames.reduce(0) { $0 + $1.bytes.count }
    }

    /// The unwritten bytes of the first frame.
    public func withHeadBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R? {
        guard !isEmpty else { return nil }
        return frames[head].bytes.withUnsafeBytes { raw in
            body(UnsafeRawBufferPointer(rebasing: raw[headOffset...]))
        }
    }

    /// Marks `count` bytes of the head frame as written.
    public mutating func consume(_ count: Int) {
        guard !isEmpty else { return }
        headOffset += count
        byteCount -= count
        if headOffset >= frames[head].bytes.count {
            frames[head].bytes = []   // written: its bytes go now, not when the array is compacted
            head += 1
            headOffset = 0
            compactIfNeeded()
        }
    }

    /// A reader went away in the middle of a frame: in jsonl the next reader gets the whole frame
    /// again (the old one saw only a broken line); a plain byte stream just continues.
    public mutating func restartHeadFrame() {
        guard !byteStream, headOffset > 0, !isEmpty else { return }
        byteCount += headOffset
        headOffset = 0
    }

    public mutating func takeDroppedCount() -> Int {
        defer { droppedBytes = 0 }
        return droppedBytes
    }

    /// Drops the oldest output until at most `limit` bytes remain (then down to 90 %).
    /// With `keepingPartialHead` (a reader is attached) a frame already partly written is kept
    /// whole, so the reader never sees a frame cut in the middle.
    public mutating func enforceLimit(keepingPartialHead: Bool = false) {
        guard byteCount > limit else { return }
        let target = limit - limit / 10
        var kept: [OutputFrame] = []
        var pending = Array(frames[head...])
        var partial: OutputFrame?
        if headOffset > 0, !pending.isEmpty {
            if keepingPartialHead {
                partial = pending.removeFirst()
            } else {
                pending[0].bytes.removeFirst(headOffset)
                headOffset = 0
            }
        }
        var excess = pending.reduce(0) { $0 + $1.bytes.count } + (partial.map { $0.bytes.count - headOffset } ?? 0) - target
        // Pass 1: droppable frames, oldest first.
        for index in pending.indices where excess > 0 && pending[index].droppable {
            let size = pending[index].bytes.count
            if size <= excess || !byteStream {
                pending[index].bytes = []
                excess -= size
                droppedBytes += size
            } else {
                pending[index].bytes.removeFirst(excess)
                droppedBytes += excess
                excess = 0
            }
        }
        // Pass 2: if turn boundaries and notices alone are too many, they go too.
        for index in pending.indices where excess > 0 && !pending[index].bytes.isEmpty {
            let size = pending[index].bytes.count
            pending[index].bytes = []
            excess -= size
            droppedBytes += size
        }
        if let partial { kept.append(partial) }
        for frame in pending where !frame.bytes.isEmpty { kept.append(frame) }
        frames = kept
        head = 0
        byteCount = kept.reduce(0) { $0 + $1.bytes.count } - headOffset
    }

    private mutating func compactIfNeeded() {
        if head == frames.count {
            frames.removeAll(keepingCapacity: frames.count < 4096)
            head = 0
        } else if head > 1024 && head * 2 > frames.count {
            frames.removeFirst(head)
            head = 0
        }
    }
}
