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

    /// The JSON of the message: one object, keys sorted, nil fields left out (JSONCodec).
    public func frame() -> IPCFrame {
        var fields: [String: JSONValue]
        switch self {
        case let .welcome(proto, version, pid):
            fields = ["type": "welcome", "protocol": .int(proto), "version": .string(version), "pid": .int(pid)]
        case let .auth(proto, token):
            fields = ["type": "auth", "protocol": .int(proto), "token": .string(token)]
        case .authOK:
            fields = ["type": "auth_ok"]
        case let .request(request):
            fields = ["type": "request", "id": .int(request.id), "method": .string(request.method), "params": request.params]
        case let .response(id, result):
            fields = ["type": "response", "id": .int(id), "result": result]
        case let .error(id, error):
            fields = ["type": "error", "code": .string(error.code.rawValue), "message": .string(error.message)]
            if let id { fields["id"] = .int(id) }
        case let .event(event):
            // The hot path (every output batch): written straight, keys in sorted order.
            var json: [UInt8] = []
            json.reserveCapacity(160)
            json.append(contentsOf: Self.eventPrefix)
            event.data.appendJSON(to: &json)
            json.append(contentsOf: Self.eventName)
            JSONValue.appendJSONString(event.name, to: &json)
            json.append(contentsOf: Self.eventSuffix)
            return IPCFrame(json: json, attachment: event.attachment)
        }
        return IPCFrame(json: JSONValue.object(fields).jsonBytes())
    }

    private static let eventPrefix = Array(#"{"data":"#.utf8)
    private static let eventName = Array(#","name":"#.utf8)
    private static let eventSuffix = Array(#","type":"event"}"#.utf8)

    /// The whole frame, ready to write.
    public func encoded() -> [UInt8] { frame().encoded() }
    /// The frame as its head and its attachment (IPCFrame.encodedParts).
    public func encodedParts() -> [[UInt8]] { frame().encodedParts() }

    public static func decode(_ frame: IPCFrame) -> Result<IPCMessage, IPCMessageError> {
        // The parser stops at its own depth bound; the protocol's lower one is checked on the
        // parsed value (its nodes, not the header's every byte again: an output event's header
        // is mostly one long string).
        let fields: [String: JSONValue]
        do {
            let parsed = try JSONValue.parse(frame.json)
            guard depth(of: parsed) <= IPCProtocol.maxDepth else { return .failure(.tooDeep) }
            guard case .object(let object) = parsed else { return .failure(.notJSON("not an object")) }
            fields = object
        } catch {
            if error.reason == JSONValue.tooDeepReason { return .failure(.tooDeep) }
            return .failure(.notJSON("malformed JSON (\(error.reason))"))
        }
        // A field that is absent or null is nil; one of another type is an error.
        func string(_ name: String) throws(IPCMessageError) -> String? {
            switch fields[name] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw .notJSON("wrong type at \(name)")
            }
        }
        func int(_ name: String) throws(IPCMessageError) -> Int? {
            switch fields[name] {
            case nil, .null?: return nil
            case let value?:
                guard let i = value.intValue else { throw .notJSON("wrong type at \(name)") }
                return i
            }
        }
        func any(_ name: String) -> JSONValue { fields[name] ?? .null }
        func need<T>(_ value: T?, _ name: String) throws(IPCMessageError) -> T {
            guard let value else { throw .missingField(name) }
            return value
        }
        do throws(IPCMessageError) {
            let type = try need(try string("type"), "type")
            switch type {
            case "welcome":
                return .success(.welcome(protocol: try need(try int("protocol"), "protocol"),
                                         version: try string("version") ?? "", pid: try int("pid") ?? 0))
            case "auth":
                return .success(.auth(protocol: try need(try int("protocol"), "protocol"), token: try need(try string("token"), "token")))
            case "auth_ok":
                return .success(.authOK)
            case "request":
                let id = try int("id"), method = try string("method")
                return .success(.request(IPCRequest(id: try need(id, "id"), method: try need(method, "method"), params: any("params"))))
            case "response":
                return .success(.response(id: try need(try int("id"), "id"), result: any("result")))
            case "error":
                let id = try int("id"), message = try string("message")
                return .success(.error(id: id, IPCError(IPCErrorCode(rawValue: try need(try string("code"), "code")), message ?? "")))
            case "event":
                return .success(.event(IPCEvent(name: try need(try string("name"), "name"), data: any("data"),
                                                attachment: frame.attachment)))
            default:
                return .failure(.unknownType(String(type.prefix(64))))
            }
        } catch {
            return .failure(error)
        }
    }

    /// Nesting of arrays and objects in a parsed value (a scalar: 0).
    static func depth(of value: JSONValue) -> Int {
        switch value {
        case .array(let items): return 1 + items.reduce(0) { max($0, depth(of: $1)) }
        case .object(let fields): return 1 + fields.values.reduce(0) { max($0, depth(of: $1)) }
        default: return 0
        }
    }
}
