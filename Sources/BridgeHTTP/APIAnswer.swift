// APIAnswer: a status and a JSON body, what every loop-side operation of the HTTP input returns
// (the router turns it into the HTTP response). Also the JSON of a turn as the API shows it.

import BridgeCore

struct APIAnswer: Sendable {
    var status: Int
    var json: JSONValue

    init(_ status: Int, _ json: JSONValue) {
        self.status = status
        self.json = json
    }

    init(_ error: APIError) {
        self.init(error.status, error.json)
    }
}

enum TurnJSON {
    /// A turn: its state, and its reply once it has ended (`reply_exact`: the framed protocol
    /// marks a reply's end; the plain one is read until its prompt marker or a quiet period).
    static func turn(_ turn: Turn, instance: String, exact: Bool) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(turn.id), "instance": .string(instance), "state": .string(turn.status.rawValue),
            "prompt": .string(turn.prompt), "origin": turn.origin.map { .string($0.rawValue) } ?? .null,
            "sent_at": .number(turn.sentAt), "first_byte_at": turn.firstByteAt.map { .number($0) } ?? .null,
            "done_at": turn.doneAt.map { .number($0) } ?? .null, "error": turn.error.map { .string($0) } ?? .null,
            "reply": .null, "truncated": .bool(turn.truncated), "reply_exact": .bool(exact),
        ]
        if !turn.status.isOpen { fields["reply"] = .string(turn.response) }
        return .object(fields)
    }

    /// A prompt still in the outbox: no turn yet.
    static func queued(_ entry: OutboxEntry, instance: String) -> JSONValue {
        [
            "id": .string(entry.id), "instance": .string(instance), "state": "queued", "prompt": .string(entry.text),
            "origin": entry.origin.map { .string($0.rawValue) } ?? .null, "sent_at": .null, "first_byte_at": .null,
            "done_at": .null, "error": .null, "reply": .null, "truncated": false, "reply_exact": false,
        ]
    }
}
