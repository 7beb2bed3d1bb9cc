// ServerWire+Session: the `session` subscription's events on the socket (docs/ipc.md, "The
// session subscription"), both ways. Output travels as `session_output`: the JSON says instance,
// first line id, count, the open-line flags, the first line's time and the style runs of the
// lines that have them (`style_runs`, packed into one string: StyleRunWire; the older object form
// `styles` is still read); the lines' bytes are the attachment (each followed by a newline), as in
// `output`. Every other hub event is a `session` event whose `event` field is the SessionEvent
// in its Codable form, with `mark` for the events a resuming client must not see twice. Health
// after the first report travels as `health_changes` (HealthDelta's fields).

import Foundation

public enum SessionWire {
    public static let event = "session"
    public static let output = "session_output"
    public static let linesSkipped = "lines_skipped"
    /// A health report as its changes from the one before (HealthDelta's fields).
    public static let healthChanges = "health_changes"

    public static func encode(_ item: SessionFeedItem) -> IPCEvent {
        switch item {
        case .event(.output(let name, let batch), let first, _):
            return encodeOutput(name, batch, firstLineID: first ?? 0)
        case .event(let event, _, let mark):
            var data: [String: JSONValue] = ["event": ServerWire.encode(event)]
            if let mark { data["mark"] = .number(Double(mark)) }
            return IPCEvent(name: Self.event, data: .object(data))
        case .linesSkipped(let name, let from, let count):
            return ServerWire.event(.linesSkipped(instance: name, from: from, count: count))
        case .health(let report):
            return ServerWire.event(.health(report))
        case .healthChanges(let delta):
            return IPCEvent(name: healthChanges, data: ServerWire.encode(delta))
        case .serverStopping:
            return ServerWire.event(.serverStopping)
        }
    }

    static func encodeOutput(_ name: String, _ batch: OutputBatch, firstLineID: UInt64) -> IPCEvent {
        var data: [String: JSONValue] = [
            "instance": .string(name), "first_line_id": .number(Double(firstLineID)), "count": .int(batch.count),
            "replaces_open_line": .bool(batch.replacesOpenLine), "ends_with_open_line": .bool(batch.endsWithOpenLine),
        ]
        if batch.count > 0 { batch.withLine(0) { _, _, timestamp in data["at"] = .number(timestamp) } }
        let runs = StyleRunWire.packed(batch)
        if !runs.isEmpty { data["style_runs"] = .string(runs) }
        return IPCEvent(name: output, data: .object(data), attachment: batch.text)
    }

    /// A session event back as a feed item (a client's side); nil when it is none of ours or does
    /// not hold together (bytes that do not match the count, an event this build cannot read).
    public static func decode(_ event: IPCEvent) -> SessionFeedItem? {
        switch event.name {
        case output:
            return decodeOutput(event)
        case Self.event:
            guard let value = event.data["event"], let decoded = try? value.decode(SessionEvent.self) else { return nil }
            let mark = event.data["mark"]?.doubleValue.flatMap { UInt64(exactly: $0) }
            return .event(decoded, firstLineID: nil, mark: mark)
        case linesSkipped:
            guard let name = event.data["instance"]?.stringValue, let from = event.data["from"]?.doubleValue,
                  let count = event.data["count"]?.doubleValue, from >= 0, count >= 0 else { return nil }
            return .linesSkipped(instance: name, from: UInt64(from), count: UInt64(count))
        case IPCEventName.health:
            return (try? event.data.decode(HealthReport.self)).map { .health($0) }
        case healthChanges:
            return (try? event.data.decode(HealthDelta.self)).map { .healthChanges($0) }
        case IPCEventName.serverStopping:
            return .serverStopping
        default:
            return nil
        }
    }

    /// The TUI's decoding of output (and `ccb-bench`'s server-ingest client's): the attachment
    /// becomes the batch's text without a copy, UTF-8 checked once for all of it (a newline never
    /// sits inside a multi-byte sequence, so every line is then valid), style runs read by hand.
    static func decodeOutput(_ event: IPCEvent) -> SessionFeedItem? {
        let data = event.data
        guard let name = data["instance"]?.stringValue, let first = data["first_line_id"]?.doubleValue, first >= 1,
              let count = data["count"]?.intValue else { return nil }
        let at = data["at"]?.doubleValue ?? Date().timeIntervalSince1970
        var ordered: [(line: Int, run: StyleRun)] = []
        if let packed = data["style_runs"]?.stringValue { ordered = StyleRunWire.unpackInOrder(packed) ?? [] }
        if let styles = data["styles"]?.arrayValue {
            // The object form of servers before `style_runs`, by line.
            var runs: [Int: [StyleRun]] = [:]
            for (line, run) in ordered { runs[line, default: []].append(run) }
            for entry in styles {
                guard let line = entry["line"]?.intValue, let value = entry["runs"],
                      let decoded = StyleRunWire.decode(value) else { continue }
                runs[line] = decoded
            }
            ordered = runs.keys.sorted().flatMap { line in runs[line]!.map { (line: line, run: $0) } }
        }
        let bytes = event.attachment
        // The UTF-8 check, then the line split by memchr as the batch is made.
        guard bytes.isEmpty || bytes.last == 0x0A, bytes.withUnsafeBufferPointer(UTF8Scan.isValid) else { return nil }
        let batch = OutputBatch(adoptingTerminatedLines: bytes, orderedRuns: ordered, timestamp: at,
                                replacesOpenLine: data["replaces_open_line"]?.boolValue ?? false,
                                endsWithOpenLine: data["ends_with_open_line"]?.boolValue ?? false,
                                expectedLines: min(max(0, count), bytes.count))
        guard batch.count == count else { return nil }
        return .event(.output(instance: name, batch: batch), firstLineID: UInt64(first), mark: nil)
    }
}

// The synthesized form would need OutputBatch's internals; a batch travels as its lines.
extension OutputBatch: Codable {
    private enum CodingKeys: String, CodingKey {
        case lines
        case replacesOpenLine = "replaces_open_line"
        case endsWithOpenLine = "ends_with_open_line"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(lines: try container.decode([OutputLine].self, forKey: .lines),
                  replacesOpenLine: try container.decode(Bool.self, forKey: .replacesOpenLine),
                  endsWithOpenLine: try container.decode(Bool.self, forKey: .endsWithOpenLine))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lines, forKey: .lines)
        try container.encode(replacesOpenLine, forKey: .replacesOpenLine)
        try container.encode(endsWithOpenLine, forKey: .endsWithOpenLine)
    }
}
