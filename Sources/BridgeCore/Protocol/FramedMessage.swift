// FramedMessage: the messages of the framed protocol `ccb-jsonl/1` (one JSON object per line,
// UTF-8), host -> agent on the in-FIFO and agent -> host on the out-FIFO, with their encoding
// (one ASCII-only line without the trailing newline) and a decoder that never traps on garbage.

/// How an agent finished a prompt.
public enum DoneStatus: String, Equatable, Codable, Sendable, CaseIterable {
    case ok, error, interrupted
}

/// Why a line is not a message we know.
public enum FramedDecodeError: Error, Equatable, Sendable {
    /// Not JSON: what was wrong and the byte offset where it was found.
    case syntax(offset: Int, reason: String)
    /// JSON, but not an object.
    case notAnObject
    /// Nested arrays/objects deeper than the decoder follows.
    case tooDeep
    /// The line is not valid UTF-8.
    case invalidUTF8
    /// The line is longer than the decoder accepts.
    case tooLong
    case missingField(String)
    case wrongType(field: String)
    /// A field has the right type but a value out of range (e.g. a fractional pid, an unknown status).
    case invalidValue(field: String)
    /// `type` names no message of this direction.
    case unknownType(String)
}

public let framedProtocolName = "ccb-jsonl/1"

/// Agent -> host (out-FIFO).
public enum AgentMessage: Equatable, Sendable {
    case hello(protocol: String, agent: String, version: String, pid: Int)
    case chunk(id: String, data: String)
    case done(id: String, status: DoneStatus, exit: Int?)
    /// `ts`: seconds since 1970, may be fractional.
    case heartbeat(ts: Double)
    /// An agent message for the user (restarts, dropped output).
    case notice(text: String)
    /// The frames of the Claude stream-json mode (ClaudeFrames.swift).
    case claude(ClaudeFrame)

    /// One line of JSON, ASCII only, without the newline.
    public func encode() -> String {
        var w = JSONLineWriter()
        switch self {
        case let .hello(proto, agent, version, pid):
            w.field("type", string: "hello")
            w.field("protocol", string: proto)
            w.field("agent", string: agent)
            w.field("version", string: version)
            w.field("pid", int: pid)
        case let .chunk(id, data):
            w.field("id", string: id)
            w.field("type", string: "chunk")
            w.field("data", string: data)
        case let .done(id, status, exit):
            w.field("id", string: id)
            w.field("type", string: "done")
            w.field("status", string: status.rawValue)
            if let exit { w.field("exit", int: exit) }
        case let .heartbeat(ts):
            w.field("type", string: "heartbeat")
            w.field("ts", double: ts)
        case let .notice(text):
            w.field("type", string: "notice")
            w.field("text", string: text)
        case let .claude(frame):
            frame.encode(into: &w)
        }
        return w.finish()
    }

    /// Decodes one line (a trailing `\r`/`\n` and surrounding whitespace are allowed).
    public static func decode(line: some Collection<UInt8>) -> Result<AgentMessage, FramedDecodeError> {
        FramedCodec.withObject(line) { o in
            switch try o.string("type") {
            case "hello":
                return .hello(protocol: try o.string("protocol"), agent: try o.string("agent"),
                              version: try o.string("version"), pid: try o.int("pid"))
            case "chunk":
                return .chunk(id: try o.string("id"), data: try o.string("data"))
            case "done":
                let raw = try o.string("status")
                guard let status = DoneStatus(rawValue: raw) else { throw FramedDecodeError.invalidValue(field: "status") }
                return .done(id: try o.string("id"), status: status, exit: try o.optionalInt("exit"))
            case "heartbeat":
                return .heartbeat(ts: try o.double("ts"))
            case "notice":
                return .notice(text: try o.string("text"))
            case let other where ClaudeFrame.types.contains(other):
                return .claude(try ClaudeFrame.decode(type: other, o))
            case let other:
                throw FramedDecodeError.unknownType(other)
            }
        }
    }
}

/// Host -> agent (in-FIFO).
public enum HostMessage: Equatable, Sendable {
    /// `text` may hold newlines; they are escaped in the JSON line.
    case prompt(id: String, text: String)
    case interrupt(id: String)
    /// The answer to a Claude permission request (`ClaudeFrame.permission`) of turn `id`.
    /// `message` says why, for `deny`; empty otherwise.
    case permissionAnswer(id: String, requestID: String, behavior: PermissionBehavior, message: String)

    /// One line of JSON, ASCII only, without the newline.
    public func encode() -> String {
        var w = JSONLineWriter()
        switch self {
        case let .prompt(id, text):
            w.field("id", string: id)
            w.field("type", string: "prompt")
            w.field("text", string: text)
        case let .interrupt(id):
            w.field("id", string: id)
            w.field("type", string: "interrupt")
        case let .permissionAnswer(id, requestID, behavior, message):
            w.field("id", string: id)
            w.field("type", string: "permission_answer")
            w.field("request_id", string: requestID)
            w.field("behavior", string: behavior.rawValue)
            if !message.isEmpty { w.field("message", string: message) }
        }
        return w.finish()
    }

    public static func decode(line: some Collection<UInt8>) -> Result<HostMessage, FramedDecodeError> {
        FramedCodec.withObject(line) { o in
            switch try o.string("type") {
            case "prompt": return .prompt(id: try o.string("id"), text: try o.string("text"))
            case "interrupt": return .interrupt(id: try o.string("id"))
            case "permission_answer":
                guard let behavior = PermissionBehavior(rawValue: try o.string("behavior")) else {
                    throw FramedDecodeError.invalidValue(field: "behavior")
                }
                return .permissionAnswer(id: try o.string("id"), requestID: try o.string("request_id"),
                                         behavior: behavior, message: try o.optionalString("message") ?? "")
            case let other: throw FramedDecodeError.unknownType(other)
            }
        }
    }
}
