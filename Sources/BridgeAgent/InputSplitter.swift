// InputSplitter: the in-FIFO byte stream cut into prompts. A line (ending in \n) is one prompt,
// trailing whitespace and \r removed; blank lines are ignored. The raw byte 0x03 anywhere is an
// interrupt and is never part of a prompt. A line longer than `maxLineBytes` is discarded whole
// (reported once), so a runaway writer cannot grow memory without bound.

public enum InputEvent: Equatable, Sendable {
    case line(String)
    case interrupt
    /// A line of this many bytes was longer than the limit and was discarded.
    case overlong(Int)
}

public struct InputSplitter: Sendable {
    public static let interruptByte: UInt8 = 0x03
    public let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var discarding = 0

    public init(maxLineBytes: Int = 16 << 20) { self.maxLineBytes = maxLineBytes }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [InputEvent] {
        var events: [InputEvent] = []
        for byte in bytes {
            switch byte {
            case InputSplitter.interruptByte:
                events.append(.interrupt)
            case UInt8(ascii: "\n"):
                if discarding > 0 {
                    events.append(.overlong(discarding + pending.count))
                    discarding = 0
                } else if let line = InputSplitter.prompt(from: pending) {
                    events.append(.line(line))
                }
                pending.removeAll(keepingCapacity: true)
            default:
                pending.append(byte)
                if pending.count > maxLineBytes {
                    discarding += pending.count
                    pending.removeAll()
                }
            }
        }
        return events
    }

    /// Drops an unfinished line (its writer is gone with the FIFO); returns its length in bytes.
    public mutating func discardPartialLine() -> Int {
        let count = discarding + pending.count
        pending.removeAll()
        discarding = 0
        return count
    }

    public mutating func feed(_ bytes: [UInt8]) -> [InputEvent] {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The prompt text of one line, or nil when it is blank.
    static func prompt(from bytes: [UInt8]) -> String? {
        var end = bytes.count
        while end > 0, isTrailingSpace(bytes[end - 1]) { end -= 1 }
        guard end > 0 else { return nil }
        let text = String(decoding: bytes[..<end], as: UTF8.self)
        return text.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) ? nil : text
    }

    private static func isTrailingSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }
}
