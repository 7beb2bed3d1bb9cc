// ClaudeLineSplitter: Claude's stdout (stream-json, one JSON object per line) cut into lines, with
// a bound: a line longer than `maxLineBytes` is not kept whole, only its head (for the notice that
// reports it) and its length, so a runaway child cannot grow the agent's memory.

public enum ClaudeLine: Equatable, Sendable {
    case line([UInt8])
    /// A line of `bytes` bytes, longer than the bound; `head` is its start.
    case overlong(head: [UInt8], bytes: Int)
}

public struct ClaudeLineSplitter: Sendable {
    public static let defaultMaxLineBytes = 16 << 20
    public static let headBytes = 1024
    public let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var overlongHead: [UInt8]?
    private var overlongBytes = 0

    public init(maxLineBytes: Int = ClaudeLineSplitter.defaultMaxLineBytes) {
        self.maxLineBytes = max(maxLineBytes, ClaudeLineSplitter.headBytes)
    }

    public mutating func feed(_ bytes: [UInt8]) -> [ClaudeLine] {
        var lines: [ClaudeLine] = []
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            let end = newline ?? bytes.count
            take(bytes[start..<end])
            if newline != nil { lines.append(finishLine()) }
            start = end + 1
        }
        return lines
    }

    /// What is left of an unfinished last line (the child died), if anything.
    public mutating func flush() -> ClaudeLine? {
        guard overlongHead != nil || !pending.isEmpty else { return nil }
        return finishLine()
    }

    private mutating func take(_ piece: ArraySlice<UInt8>) {
        if overlongHead != nil {
            overlongBytes += piece.count
            return
        }
        pending.append(contentsOf: piece)
        if pending.count > maxLineBytes {
            overlongHead = Array(pending.prefix(ClaudeLineSplitter.headBytes))
            overlongBytes = pending.count
            pending = []
        }
    }

    private mutating func finishLine() -> ClaudeLine {
        defer { pending.removeAll(keepingCapacity: pending.count <= 1 << 20); overlongHead = nil; overlongBytes = 0 }
        if let head = overlongHead { return .overlong(head: head, bytes: overlongBytes) }
        return .line(pending)
    }
}
