// ServerWire: the server's values as the socket carries them (docs/ipc.md, "Methods" and
// "Events"): ServerEvent -> IPCEvent, and the JSON of instances, statuses and send results.
// Output lines travel as raw bytes in the event's attachment (each line followed by a newline),
// with their ids and the open-line flags in the JSON; style runs are not carried (yet).

import Foundation

public enum ServerWire {
    public static func event(_ event: ServerEvent) -> IPCEvent {
        switch event {
        case .instanceAdded(let info):
            return IPCEvent(name: IPCEventName.instanceAdded, data: instanceInfo(info))
        case .instanceRemoved(let name):
            return IPCEvent(name: IPCEventName.instanceRemoved, data: ["instance": .string(name)])
        case .output(let name, let first, let batch):
            return IPCEvent(name: IPCEventName.output, data: [
                "instance": .string(name), "first_line_id": .number(Double(first)), "count": .int(batch.count),
                "replaces_open_line": .bool(batch.replacesOpenLine), "ends_with_open_line": .bool(batch.endsWithOpenLine),
            ], attachment: batch.text)
        case .linesSkipped(let name, let from, let count):
            return IPCEvent(name: "lines_skipped", data: [
                "instance": .string(name), "from": .number(Double(from)), "count": .number(Double(count)),
            ])
        case .turnStarted(let name, let id, let text, let origin, let at):
            return IPCEvent(name: IPCEventName.turnStarted, data: [
                "instance": .string(name), "prompt_id": .string(id), "text": .string(text),
                "origin": .string(origin.rawValue), "at": .number(at),
            ])
        case .turnEnded(let name, let turn):
            return IPCEvent(name: IPCEventName.turnEnded, data: ["instance": .string(name), "turn": turn.jsonValue])
        case .promptQueued(let name, let id, let reason):
            return IPCEvent(name: "prompt_queued", data: [
                "instance": .string(name), "prompt_id": .string(id), "reason": .string(queueReason(reason)),
            ])
        case .promptFailed(let name, let id, let error):
            return IPCEvent(name: "prompt_failed", data: [
                "instance": .string(name), "prompt_id": .string(id), "error": .string(error),
            ])
        case .activity(let name, let activity):
            return IPCEvent(name: IPCEventName.activity, data: ["instance": .string(name), "activity": self.activity(activity)])
        case .outbox(let name, let entries):
            return IPCEvent(name: IPCEventName.outbox, data: ["instance": .string(name), "entries": encode(entries)])
        case .agent(let name, let change):
            return IPCEvent(name: "agent", data: ["instance": .string(name), "change": agent(change)])
        case .notice(let name, let notice):
            return IPCEvent(name: "notice", data: ["instance": .string(name), "notice": .string("\(notice)")])
        case .health(let report):
            return IPCEvent(name: IPCEventName.health, data: encode(report))
        case .serverStopping:
            return IPCEvent(name: IPCEventName.serverStopping, data: [:])
        }
    }

    /// An `output` event back as its instance, first line id and batch (a client's side); nil
    /// when it is not one or its bytes do not match its count.
    public static func output(_ event: IPCEvent, at timestamp: Double) -> (instance: String, firstLineID: UInt64, batch: OutputBatch)? {
        guard event.name == IPCEventName.output, let name = event.data["instance"]?.stringValue,
              let first = event.data["first_line_id"]?.doubleValue, first >= 1, let count = event.data["count"]?.intValue else { return nil }
        let replaces = event.data["replaces_open_line"]?.boolValue ?? false
        let endsOpen = event.data["ends_with_open_line"]?.boolValue ?? false
        let bytes = event.attachment
        // Every line ends with a newline and must be UTF-8 to go into a batch; one that is not
        // leaves the count short, and the event is refused.
        guard bytes.isEmpty || bytes.last == 0x0A else { return nil }
        // UTF-8 is checked once for the whole text (a newline never sits inside a multi-byte
        // sequence, so each line is then valid too) and the attachment becomes the batch's text
        // (no copy; as SessionWire.decodeOutput does for the TUI); line by line only when that fails.
        if bytes.withUnsafeBufferPointer({ UTF8Scan.isValid($0) }) {
            let batch = OutputBatch(adoptingTerminatedLines: bytes, timestamp: timestamp,
                                    replacesOpenLine: replaces, endsWithOpenLine: endsOpen)
            return batch.count == count ? (name, UInt64(first), batch) : nil
        }
        var batch = OutputBatch(replacesOpenLine: replaces, endsWithOpenLine: endsOpen)
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            for index in buffer.indices where buffer[index] == 0x0A {
                let line = UnsafeBufferPointer(rebasing: buffer[start...index])
                if String(validating: line, as: UTF8.self) != nil { batch.append(terminatedLine: line, timestamp: timestamp) }
                start = index + 1
            }
        }
        guard batch.count == count else { return nil }
        return (name, UInt64(first), batch)
    }

    public static func instanceInfo(_ info: InstanceInfo) -> JSONValue {
        var fields: [String: JSONValue] = [
            "instance": .string(info.name), "status": .string(info.isReady ? "ready" : "broken"),
            "in_path": .string(info.inPath), "out_path": .string(info.outPath),
        ]
        if let reason = info.brokenReason { fields["reason"] = .string(reason) }
        return .object(fields)
    }

    public static func instance(_ instance: ServerInstance) -> JSONValue {
        guard case .object(var fields) = instanceInfo(instance.info) else { return .null }
        fields["activity"] = instance.activity.map(activity) ?? .null
        fields["mode"] = instance.mode.map { .string($0 == .framed ? "framed" : "plain") } ?? .null
        fields["read_by_other"] = instance.readerRefusal.map { .string($0) } ?? .null
        fields["health"] = instance.health.map { .string($0.rawValue) } ?? .null
        fields["next_line_id"] = .number(Double(instance.nextLineID))
        fields["queued"] = .int(instance.queued)
        return .object(fields)
    }

    public static func status(_ status: ServerInstanceStatus) -> JSONValue {
        [
            "instance": instance(status.instance), "summary": status.summary.map(encode) ?? .null,
            "last_turn": status.lastTurn.map(\.jsonValue) ?? .null, "outbox": encode(status.outbox),
            "history_path": status.historyPath.map { .string($0) } ?? .null, "health": status.health.map(encode) ?? .null,
        ]
    }

    public static func sendResult(_ result: ServerSendResult) -> JSONValue {
        switch result {
        case .delivered(let id): ["result": "delivered", "prompt_id": .string(id)]
        case .queued(let id, let reason): ["result": "queued", "prompt_id": .string(id), "reason": .string(queueReason(reason))]
        case .failed(let id, let error): ["result": "failed", "prompt_id": .string(id), "error": .string(error)]
        }
    }

    /// A prompt by id (`turn`, `send` with `wait`): `{instance, prompt_id, state, reply?,
    /// reply_exact, status?, error?, turn}`; `reply` once the turn has ended.
    public static func turnLookup(_ lookup: TurnLookup) -> JSONValue {
        var fields: [String: JSONValue] = [
            "instance": .string(lookup.instance), "prompt_id": .string(lookup.promptID), "state": .string(lookup.state.rawValue),
            "reply_exact": .bool(lookup.replyExact), "turn": lookup.turn.map(encode) ?? .null,
        ]
        if let reply = lookup.reply { fields["reply"] = .string(reply) }
        if let status = lookup.turn?.status { fields["status"] = .string(status.rawValue) }
        if let error = lookup.error { fields["error"] = .string(error) }
        return .object(fields)
    }

    public static func activity(_ activity: Activity) -> JSONValue {
        switch activity {
        case .idle: ["state": "idle"]
        case .sending: ["state": "sending"]
        case .working: ["state": "working"]
        case .queued(let count): ["state": "queued", "count": .int(count)]
        case .agentDown: ["state": "agent_down"]
        case .agentRestarted: ["state": "agent_restarted"]
        case .waitingForApproval(let count): ["state": "waiting_for_approval", "count": .int(count)]
        case .stalled(let seconds): ["state": "stalled", "silent_seconds": .int(seconds)]
        case .failed: ["state": "failed"]
        }
    }

    static func agent(_ change: AgentLifecycle) -> JSONValue {
        switch change {
        case .exited(let turn, let why):
            ["state": "exited", "why": .string("\(why)"), "interrupted_turn": turn.map { .string($0.id) } ?? .null]
        case .back(let restarted): ["state": "back", "restarted": .bool(restarted)]
        case .seen: ["state": "seen"]
        }
    }

    public static func queueReason(_ reason: QueueReason) -> String {
        switch reason {
        case .agentNotListening: "agent not listening"
        case .pipesGone: "the instance's pipes are gone for now"
        case .behind(let count): "behind \(count) queued prompt\(count == 1 ? "" : "s")"
        }
    }

    /// Any of our Codable values (turns, reports) as JSON; `.null` should one not encode.
    public static func encode(_ value: some Encodable) -> JSONValue {
        (try? JSONValue(encoding: value)) ?? .null
    }
}
