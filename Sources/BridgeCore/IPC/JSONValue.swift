// JSONValue: any JSON value, for the generic parts of the IPC protocol (request params, results,
// event data), so the server can add methods and events without touching the codec.
// On the wire it is written and read by JSONCodec (IPCMessage); Codable bridges it to our own
// types. The frame decoder bounds size and nesting before a payload is parsed (IPCFrame.swift,
// IPCMessage.swift).
//
// Public API:
//   enum JSONValue: null, bool, number(Double), string, array, object; literals for each
//   value[key] / value[index]     nil unless an object / array holding it
//   .stringValue, .intValue (exact integers only), .doubleValue, .boolValue, .arrayValue, .objectValue
//   JSONValue(encoding: some Encodable) throws, value.decode(T.self) throws   (Codable bridge)

import Foundation

public enum JSONValue: Equatable, Hashable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    public subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var doubleValue: Double? { if case .number(let d) = self { return d }; return nil }
    /// The number as an Int when it is one exactly (no fraction, in range).
    public var intValue: Int? {
        guard case .number(let d) = self, d.isFinite, let i = Int(exactly: d) else { return nil }
        return i
    }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { self == .null }

    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }

    /// Any Encodable value as a JSONValue (JSONEncoder, then JSONCodec's reader: decoding a
    /// JSONValue through JSONDecoder costs several thrown errors per value).
    public init(encoding value: some Encodable) throws {
        self = try JSONValue.parse(JSONEncoder().encode(value))
    }

    /// This value as a Decodable type (JSONCodec's writer, then JSONDecoder).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(jsonBytes()))
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let b = try? container.decode(Bool.self) { self = .bool(b); return }
        if let d = try? container.decode(Double.self) { self = .number(d); return }
        if let s = try? container.decode(String.self) { self = .string(s); return }
        if let a = try? container.decode([JSONValue].self) { self = .array(a); return }
        if let o = try? container.decode([String: JSONValue].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let d):
            // JSON has no NaN or infinity.
            if !d.isFinite { try container.encodeNil() }
            else if let i = Int(exactly: d) { try container.encode(i) }
            else { try container.encode(d) }
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
