// HistoryLineWriter: a history record as its JSON line, written by hand for the three fixed
// record shapes (turn, input, outbox). The event loop writes one per prompt and one per finished
// turn, and a compaction up to max_history + max_inputs of them; through Foundation's
// JSONEncoder that was ~11 % of the server's CPU per round trip (docs/performance.md, "server").
// Same text as the JSONEncoder it replaces: keys sorted, no whitespace, "/" not escaped, absent
// optionals left out. Strings go through JSONCodec's escaper; numbers as JSONCodec writes them
// (the shortest text that reads back as the same Double). A record holding a non-finite number,
// which JSON cannot carry, returns nil and is left to the encoder (which marks it unencodable).
// Checked against HistoryRecord.decode by HistoryLineWriterTests.

enum HistoryLineWriter {
    /// The record's line without the newline, appended to `out`; false (nothing appended) when
    /// a number in it is not finite.
    static func append(_ record: HistoryRecord, to out: inout [UInt8]) -> Bool {
        guard record.numbersAreFinite else { return false }
        switch record {
        case .turn(let turn):
            out += Self.turnHead
            append(turn, to: &out)
        case .input(let input):
            out += Self.inputHead
            append(input, to: &out)
            out += Self.inputTail
            return true
        case .outbox(let entry):
            out += Self.outboxHead
            append(entry, to: &out)
        }
        out += Self.tail
        return true
    }

    // {"kind":"turn","turn":{…},"v":1}, {"input":{…},"kind":"input","v":1},
    // {"kind":"outbox","outbox":{…},"v":1}: the envelope's keys in sorted order.
    private static let turnHead = Array(#"{"kind":"turn","turn":"#.utf8)
    private static let outboxHead = Array(#"{"kind":"outbox","outbox":"#.utf8)
    private static let tail = Array(#","v":1}"#.utf8)
    private static let inputHead = Array(#"{"input":"#.utf8)
    private static let inputTail = Array(#","kind":"input","v":1}"#.utf8)

    /// Turn's coding keys in sorted order: done_at, error, exit, first_byte_at, id,
    /// last_output_at, origin, prompt, response, sent_at, status, truncated.
    private static func append(_ turn: Turn, to out: inout [UInt8]) {
        var o = ObjectWriter()
        if let v = turn.doneAt { o.number("done_at", v, &out) }
        if let v = turn.error { o.string("error", v, &out) }
        if let v = turn.exitCode { o.number("exit", Double(v), &out) }
        if let v = turn.firstByteAt { o.number("first_byte_at", v, &out) }
        o.string("id", turn.id, &out)
        if let v = turn.lastOutputAt { o.number("last_output_at", v, &out) }
        if let v = turn.origin { o.string("origin", v.rawValue, &out) }
        o.string("prompt", turn.prompt, &out)
        o.string("response", turn.response, &out)
        o.number("sent_at", turn.sentAt, &out)
        o.string("status", turn.status.rawValue, &out)
        o.bool("truncated", turn.truncated, &out)
        o.close(&out)
    }

    private static func append(_ input: InputEntry, to out: inout [UInt8]) {
        var o = ObjectWriter()
        o.number("at", input.at, &out)
        o.string("text", input.text, &out)
        o.close(&out)
    }

    /// changed_at, id, origin, queued_at, state, text.
    private static func append(_ entry: OutboxEntry, to out: inout [UInt8]) {
        var o = ObjectWriter()
        o.number("changed_at", entry.changedAt, &out)
        o.string("id", entry.id, &out)
        if let v = entry.origin { o.string("origin", v.rawValue, &out) }
        o.number("queued_at", entry.queuedAt, &out)
        o.string("state", entry.state.rawValue, &out)
        o.string("text", entry.text, &out)
        o.close(&out)
    }

    /// Writes `{"key":value,…}`; the caller gives the keys in sorted order.
    private struct ObjectWriter {
        private var first = true

        private mutating func key(_ name: StaticString, _ out: inout [UInt8]) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }

        mutating func string(_ name: StaticString, _ value: String, _ out: inout [UInt8]) {
            key(name, &out)
            JSONValue.appendJSONString(value, to: &out)
        }

        mutating func number(_ name: StaticString, _ value: Double, _ out: inout [UInt8]) {
            key(name, &out)
            JSONValue.appendNumber(value, to: &out)
        }

        mutating func bool(_ name: StaticString, _ value: Bool, _ out: inout [UInt8]) {
            key(name, &out)
            out.append(contentsOf: value ? HistoryLineWriter.trueBytes : HistoryLineWriter.falseBytes)
        }

        func close(_ out: inout [UInt8]) {
            if first { out.append(UInt8(ascii: "{")) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
}

extension HistoryRecord {
    /// False when a number in the record is NaN or infinite.
    var numbersAreFinite: Bool {
        switch self {
        case .turn(let t):
            t.sentAt.isFinite && (t.firstByteAt?.isFinite ?? true) && (t.doneAt?.isFinite ?? true)
                && (t.lastOutputAt?.isFinite ?? true)
        case .input(let i): i.at.isFinite
        case .outbox(let o): o.queuedAt.isFinite && o.changedAt.isFinite
        }
    }
}
