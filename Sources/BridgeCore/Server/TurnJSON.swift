// TurnJSON: a Turn as the JSONValue its Codable conformance gives (the `turn_ended` event, the
// server's `turns` and `status` answers), built field by field. Through JSONEncoder and back
// through the parser this was a visible share of the server's CPU per round trip
// (docs/performance.md, "server"). Same keys as Turn's CodingKeys, absent optionals left out;
// a turn holding a non-finite number (which JSON cannot carry) goes the Codable way, which
// gives `.null`. Checked against the Codable path by TurnJSONTests.

extension Turn {
    public var jsonValue: JSONValue {
        guard HistoryRecord.turn(self).numbersAreFinite else { return ServerWire.encode(self) }
        var fields: [String: JSONValue] = [
            "id": .string(id), "prompt": .string(prompt), "response": .string(response),
            "truncated": .bool(truncated), "status": .string(status.rawValue), "sent_at": .number(sentAt),
        ]
        if let firstByteAt { fields["first_byte_at"] = .number(firstByteAt) }
        if let doneAt { fields["done_at"] = .number(doneAt) }
        if let lastOutputAt { fields["last_output_at"] = .number(lastOutputAt) }
        if let error { fields["error"] = .string(error) }
        if let exitCode { fields["exit"] = .number(Double(exitCode)) }
        if let origin { fields["origin"] = .string(origin.rawValue) }
        return .object(fields)
    }
}
