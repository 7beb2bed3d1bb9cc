// HistoryRecord: one line of an instance's history file (JSON Lines, one object per line).
//   {"v":1,"kind":"turn","turn":{...Turn...}}          upsert by turn.id: the later line wins
//   {"v":1,"kind":"input","input":{"text":"…","at":…}} the prompt line's own history (↑/↓)
//   {"v":1,"kind":"outbox","outbox":{...OutboxEntry...}} upsert by id: queued, cancelled, delivered
// Unknown kinds and newer versions are skipped with a warning, so an older binary can read a
// newer file.

import Foundation

public struct InputEntry: Codable, Equatable, Sendable {
    public var text: String
    public var at: Double
    public init(text: String, at: Double) {
        self.text = text
        self.at = at
    }
}

public enum OutboxState: String, Codable, Sendable {
    case queued, cancelled, delivered
}

public struct OutboxEntry: Codable, Equatable, Sendable, Identifiable {
    public var id: String
    public var text: String
    public var state: OutboxState
    public var queuedAt: Double
    /// When the state last changed (queued: same as queuedAt).
    public var changedAt: Double
    /// Where the prompt came from (nil in files written before origins were recorded).
    public var origin: PromptOrigin?

    public init(id: String, text: String, state: OutboxState = .queued, queuedAt: Double, changedAt: Double? = nil,
                origin: PromptOrigin? = nil) {
        self.id = id
        self.origin = origin
        self.text = text
        self.state = state
        self.queuedAt = queuedAt
        self.changedAt = changedAt ?? queuedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, text, state, origin
        case queuedAt = "queued_at", changedAt = "changed_at"
    }
}

public enum HistoryRecord: Equatable, Sendable {
    case turn(Turn)
    case input(InputEntry)
    case outbox(OutboxEntry)

    public static let version = 1

    /// One encoder and one decoder for every record (making one per line was most of the cost
    /// of loading and compacting a history). Their settings never change after this.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    private static let decoder = JSONDecoder()

    /// One line, without the newline. Keys sorted so files diff well.
    public func encodedLine() -> [UInt8] {
        var out: [UInt8] = []
        appendLine(to: &out)
        return out
    }

    /// Appends the line (without the newline) to `out`: HistoryLineWriter's hand-written text,
    /// or, for a record it cannot write (a non-finite number), the encoder's.
    public func appendLine(to out: inout [UInt8]) {
        if HistoryLineWriter.append(self, to: &out) { return }
        out += encodedLineThroughEncoder()
    }

    /// The same line through Foundation's JSONEncoder (the reference HistoryLineWriter is
    /// checked against, and the path for records it does not write).
    func encodedLineThroughEncoder() -> [UInt8] {
        let encoder = Self.encoder
        // Encoding these value types cannot fail (no non-finite doubles reach them in practice;
        // if one does, the record is replaced by a marker rather than lost silently).
        if let data = try? encoder.encode(self) { return Array(data) }
        return Array(#"{"kind":"unencodable","v":1}"#.utf8)
    }

    public enum DecodeProblem: Error, Equatable, CustomStringConvertible {
        case corrupt(String)
        case unknownKind(String)
        case newerVersion(Int)

        public var description: String {
            switch self {
            case .corrupt(let why): "corrupt record (\(why))"
            case .unknownKind(let kind): "unknown record kind \"\(kind)\""
            case .newerVersion(let v): "record version \(v) is newer than this program's (\(HistoryRecord.version))"
            }
        }
    }

    public static func decode(line: some Collection<UInt8>) -> Result<HistoryRecord, DecodeProblem> {
        do {
            return .success(try decoder.decode(Envelope.self, from: Data(line)).record)
        } catch let problem as DecodeProblem {
            return .failure(problem)
        } catch let error as DecodingError {
            return .failure(.corrupt(Self.describe(error)))
        } catch {
            return .failure(.corrupt("\(error)"))
        }
    }

    /// One pass over the line: the version and kind first (a newer version or an unknown kind
    /// is refused before its payload is looked at), then the payload under the key named after
    /// its kind.
    private struct Envelope: Decodable {
        var record: HistoryRecord
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            let v = try c.decode(Int.self, forKey: .v)
            let kind = try c.decode(String.self, forKey: .kind)
            if v > HistoryRecord.version { throw DecodeProblem.newerVersion(v) }
            switch kind {
            case "turn": record = .turn(try c.decode(Turn.self, forKey: .turn))
            case "input": record = .input(try c.decode(InputEntry.self, forKey: .input))
            case "outbox": record = .outbox(try c.decode(OutboxEntry.self, forKey: .outbox))
            default: throw DecodeProblem.unknownKind(kind)
            }
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let c): c.codingPath.isEmpty ? "not valid JSON" : "bad value at \(path(c.codingPath))"
        case .keyNotFound(let key, let c): "missing \(path(c.codingPath + [key]))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c): "wrong type at \(path(c.codingPath))"
        @unknown default: "\(error)"
        }
    }

    static func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
}

extension HistoryRecord: Encodable {
    enum Keys: String, CodingKey { case v, kind, turn, input, outbox }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(Self.version, forKey: .v)
        switch self {
        case .turn(let turn):
            try c.encode("turn", forKey: .kind)
            try c.encode(turn, forKey: .turn)
        case .input(let input):
            try c.encode("input", forKey: .kind)
            try c.encode(input, forKey: .input)
        case .outbox(let entry):
            try c.encode("outbox", forKey: .kind)
            try c.encode(entry, forKey: .outbox)
        }
    }
}
