// IPCMessage: the messages of the server socket protocol (version `IPCProtocol.version`, 1), one
// per frame (IPCFrame.swift), as a JSON object with a "type" field. docs/ipc.md is the reference.
//
//   server → client   welcome {protocol, version, pid}        first frame on every connection
//   client → server   auth {protocol, token}                  the only message accepted before auth
//   server → client   auth_ok {}                              then requests are accepted
//   client → server   request {id, method, params}
//   server → client   response {id, result} | error {id (null: not about a request), code, message}
//   server → client   event {name, data} (+ raw attachment, e.g. output bytes)
//
// Methods and events are open: a method is a name and JSON params, an event a name and JSON
// data, so the server adds them without touching this codec. Unknown fields are ignored.
//
// Public API:
//   enum IPCProtocol { version = 1, maxDepth }
//   enum IPCMessage { welcome, auth, authOK, request(IPCRequest), response(id:result:),
//                     error(id:IPCError), event(IPCEvent) }
//     .frame() -> IPCFrame, .encoded() -> [UInt8], static decode(IPCFrame) -> Result<IPCMessage, IPCMessageError>
//   struct IPCRequest { id: Int; method: String; params: JSONValue }
//   struct IPCEvent { name: String; data: JSONValue; attachment: [UInt8] }
//   enum IPCEventName: the event names we define (instance_added, output, skipped, ...)
//   struct IPCError: Error { code: IPCErrorCode; message: String }
//   struct IPCErrorCode (string raw value; open for new codes): unauthenticated, forbidden,
//     badFrame, frameTooLarge, unsupportedVersion, unknownMethod, badParams, noSuchInstance, busy,
//     internal, timeout, slowConsumer, disconnected, notRunning
//   enum IPCMessageError: why a frame's JSON is not a message (→ code bad_frame)

import Foundation

public enum IPCProtocol {
    public static let version = 1
    /// Deepest nesting of arrays/objects a payload may have (checked before JSONDecoder runs).
    public static let maxDepth = 64
}

public struct IPCRequest: Equatable, Sendable {
    public var id: Int
    public var method: String
    public var params: JSONValue

    public init(id: Int, method: String, params: JSONValue = .null) {
        self.id = id
        self.method = method
        self.params = params
    }
}

public struct IPCEvent: Equatable, Sendable {
    public var name: String
    public var data: JSONValue
    /// Raw bytes that travel after the JSON (output text): not escaped, not inflated.
    public var attachment: [UInt8]

    public init(name: String, data: JSONValue = .null, attachment: [UInt8] = []) {
        self.name = name
        self.data = data
        self.attachment = attachment
    }
}

/// Event names of protocol 1 (the server may send others; clients ignore what they do not know).
public enum IPCEventName {
    public static let instanceAdded = "instance_added"
    public static let instanceRemoved = "instance_removed"
    /// data: instance, first line id, ...; the attachment holds the bytes.
    public static let output = "output"
    public static let turnStarted = "turn_started"
    public static let turnEnded = "turn_ended"
    public static let activity = "activity"
    public static let health = "health"
    public static let outbox = "outbox"
    public static let serverStopping = "server_stopping"
    /// Sent by the listener itself: data {count}: events this client's full queue dropped.
    public static let skipped = "skipped"
}

/// An error code: a string on the wire, so a newer server's codes still decode.
public struct IPCErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// A request (or anything but auth) before auth succeeded, or a wrong token.
    public static let unauthenticated = IPCErrorCode(rawValue: "unauthenticated")
    /// The peer runs under another uid.
    public static let forbidden = IPCErrorCode(rawValue: "forbidden")
    /// Bytes that are not a frame, or a frame that is not a message.
    public static let badFrame = IPCErrorCode(rawValue: "bad_frame")
    public static let frameTooLarge = IPCErrorCode(rawValue: "frame_too_large")
    public static let unsupportedVersion = IPCErrorCode(rawValue: "unsupported_version")
    public static let unknownMethod = IPCErrorCode(rawValue: "unknown_method")
    public static let badParams = IPCErrorCode(rawValue: "bad_params")
    public static let noSuchInstance = IPCErrorCode(rawValue: "no_such_instance")
    /// No prompt with that id is known for the instance (`turn`).
    public static let noSuchTurn = IPCErrorCode(rawValue: "no_such_turn")
    /// Too many requests in flight, or the resource is taken.
    public static let busy = IPCErrorCode(rawValue: "busy")
    public static let `internal` = IPCErrorCode(rawValue: "internal")
    /// No answer within the request timeout (or no auth within the auth timeout).
    public static let timeout = IPCErrorCode(rawValue: "timeout")
    /// The client read too slowly for even a response to fit its queue.
    public static let slowConsumer = IPCErrorCode(rawValue: "slow_consumer")
    /// Client side: the connection ended before the answer came.
    public static let disconnected = IPCErrorCode(rawValue: "disconnected")
    /// Client side: no server listens on the socket.
    public static let notRunning = IPCErrorCode(rawValue: "not_running")
}

public struct IPCError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: IPCErrorCode
    public var message: String

    public init(_ code: IPCErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Why a frame's JSON is not a message of this protocol.
public enum IPCMessageError: Error, Equatable, Sendable, CustomStringConvertible {
    case notJSON(String)
    case tooDeep
    case missingField(String)
    case unknownType(String)

    public var description: String {
        switch self {
        case .notJSON(let why): return "not a JSON object: \(why)"
        case .tooDeep: return "JSON nested deeper than \(IPCProtocol.maxDepth) levels"
        case .missingField(let name): return "message without \(name)"
        case .unknownType(let type): return "unknown message type \(type.debugDescription)"
        }
    }
}

public enum IPCMessage: Equatable, Sendable {
    case welcome(protocol: Int, version: String, pid: Int)
    case auth(protocol: Int, token: String)
    case authOK
    case request(IPCRequest)
    case response(id: Int, result: JSONValue)
    /// `id` nil: about the connection, not one request (it is closed after it).
    case error(id: Int?, IPCError)
    case event(IPCEvent)

    /// The flat wire shape; nil fields are left out.
    private struct Wire: Codable {
        var type: String
        var `protocol`: Int?
        var version: String?
        var pid: Int?
        var token: String?
        var id: Int?
        var method: String?
        var params: JSONValue?
        var result: JSONValue?
        var code: String?
        var message: String?
        var name: String?
        var data: JSONValue?
        init(type: String) { self.type = type }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    private static let decoder = JSONDecoder()

    public func frame() -> IPCFrame {
        var wire: Wire
        var attachment: [UInt8] = []
        switch self {
        case let .welcome(proto, version, pid):
            wire = Wire(type: "welcome"); wire.protocol = proto; wire.version = version; wire.pid = pid
        case let .auth(proto, token):
            wire = Wire(type: "auth"); wire.protocol = proto; wire.token = token
        case .authOK:
            wire = Wire(type: "auth_ok")
        case let .request(request):
            wire = Wire(type: "request"); wire.id = request.id; wire.method = request.method; wire.params = request.params
        case let .response(id, result):
            wire = Wire(type: "response"); wire.id = id; wire.result = result
        case let .error(id, error):
            wire = Wire(type: "error"); wire.id = id; wire.code = error.code.rawValue; wire.message = error.message
        case let .event(event):
            wire = Wire(type: "event"); wire.name = event.name; wire.data = event.data
            attachment = event.attachment
        }
        // Encoding a struct of strings, ints and finite JSONValues cannot fail.
        let json = (try? Self.encoder.encode(wire)).map(Array.init) ?? Array(#"{"type":"error","code":"internal","message":"encoding failed"}"#.utf8)
        return IPCFrame(json: json, attachment: attachment)
    }

    /// The whole frame, ready to write.
    public func encoded() -> [UInt8] { frame().encoded() }

    public static func decode(_ frame: IPCFrame) -> Result<IPCMessage, IPCMessageError> {
        guard nestingDepth(frame.json) <= IPCProtocol.maxDepth else { return .failure(.tooDeep) }
        let wire: Wire
        do {
            wire = try decoder.decode(Wire.self, from: Data(frame.json))
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure(.missingField(key.stringValue))
        } catch {
            return .failure(.notJSON(shortReason(error)))
        }
        func need<T>(_ value: T?, _ name: String) throws(IPCMessageError) -> T {
            guard let value else { throw .missingField(name) }
            return value
        }
        do {
            switch wire.type {
            case "welcome":
                return .success(.welcome(protocol: try need(wire.protocol, "protocol"),
                                         version: wire.version ?? "", pid: wire.pid ?? 0))
            case "auth":
                return .success(.auth(protocol: try need(wire.protocol, "protocol"), token: try need(wire.token, "token")))
            case "auth_ok":
                return .success(.authOK)
            case "request":
                return .success(.request(IPCRequest(id: try need(wire.id, "id"), method: try need(wire.method, "method"),
                                                    params: wire.params ?? .null)))
            case "response":
                return .success(.response(id: try need(wire.id, "id"), result: wire.result ?? .null))
            case "error":
                return .success(.error(id: wire.id, IPCError(IPCErrorCode(rawValue: try need(wire.code, "code")),
                                                             wire.message ?? "")))
            case "event":
                return .success(.event(IPCEvent(name: try need(wire.name, "name"), data: wire.data ?? .null,
                                                attachment: frame.attachment)))
            default:
                return .failure(.unknownType(String(wire.type.prefix(64))))
            }
        } catch {
            return .failure(error)
        }
    }

    /// Deepest nesting of arrays and objects outside strings (one pass, no allocation).
    static func nestingDepth(_ json: [UInt8]) -> Int {
        var depth = 0, deepest = 0
        var inString = false, escaped = false
        for b in json {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1; deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    private static func shortReason(_ error: Error) -> String {
        if case DecodingError.typeMismatch(_, let context) = error {
            return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        }
        if case DecodingError.dataCorrupted(let context) = error {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "malformed JSON" : "bad value at \(path)"
        }
        return "malformed JSON"
    }
}
