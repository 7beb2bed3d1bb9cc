// APIAnswer: a status and a JSON body, what every loop-side operation of the HTTP input returns
// (the router turns it into the HTTP response). Also the JSON of a prompt looked up by id.

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
    /// A prompt by id: `{id, instance, state, reply, reply_exact, error, turn}`. `state` is
    /// sending, queued, working, ended, failed or forgotten (ServerCore's TurnLookup); `reply`
    /// is the reply text once the turn has ended (exact with the framed protocol, best effort
    /// with the plain one: `reply_exact`), else null; `turn` the turn as the history has it.
    static func lookup(_ lookup: TurnLookup) -> JSONValue {
        [
            "id": .string(lookup.promptID), "instance": .string(lookup.instance), "state": .string(lookup.state.rawValue),
            "reply": lookup.reply.map { .string($0) } ?? .null, "reply_exact": .bool(lookup.replyExact),
            "error": lookup.error.map { .string($0) } ?? .null, "turn": lookup.turn.map(ServerWire.encode) ?? .null,
        ]
    }
}
