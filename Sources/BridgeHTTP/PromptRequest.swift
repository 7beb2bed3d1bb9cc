// PromptRequest: a prompt body as the HTTP input accepts it, `{"text": ..., "id": ...?}`, and the
// batch form `{"prompts": [{"text", "id"?}, ...]}` (after the hybrid-input ADR's `/messages`),
// checked before anything reaches the server: UTF-8, JSON, a JSON object, then the core's prompt
// rule (PromptFields: text and id). Pure, so the rules are unit-tested without a server.

import BridgeCore
import Foundation

struct PromptRequest: Equatable, Sendable {
    var text: String
    var id: String?

    static let maxBatch = 100
    static var maxIDLength: Int { PromptIDLedger.maxIDLength }

    /// One prompt body.
    static func parse(_ body: [UInt8], maxBytes: Int) -> Result<PromptRequest, APIError> {
        switch object(body) {
        case .failure(let error): return .failure(error)
        case .success(let fields): return prompt(fields, maxBytes: maxBytes, at: "")
        }
    }

    /// A batch body: each prompt checked on its own (a bad one does not stop the others), but
    /// a body that is not a batch at all is refused whole.
    static func parseBatch(_ body: [UInt8], maxBytes: Int) -> Result<[Result<PromptRequest, APIError>], APIError> {
        let fields: [String: JSONValue]
        switch object(body) {
        case .failure(let error): return .failure(error)
        case .success(let value): fields = value
        }
        guard let items = fields["prompts"]?.arrayValue else {
            return .failure(.badRequest("missing_prompts", "the body needs \"prompts\": a list of {\"text\", \"id\"?}"))
        }
        guard !items.isEmpty, items.count <= maxBatch else {
            return .failure(.badRequest("bad_batch", "\"prompts\" must hold 1 to \(maxBatch) prompts, got \(items.count)"))
        }
        return .success(items.enumerated().map { index, item in
            guard let object = item.objectValue else {
                return .failure(.badRequest("bad_prompt", "prompts[\(index)] is not a JSON object"))
            }
            return prompt(object, maxBytes: maxBytes, at: "prompts[\(index)].")
        })
    }

    static func object(_ body: [UInt8]) -> Result<[String: JSONValue], APIError> {
        guard String(validating: body, as: UTF8.self) != nil else {
            return .failure(.badRequest("invalid_utf8", "the body is not valid UTF-8"))
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            return .failure(.badRequest("malformed_json", "the body is not valid JSON"))
        }
        guard let fields = value.objectValue else {
            return .failure(.badRequest("malformed_json", "the body must be a JSON object"))
        }
        return .success(fields)
    }

    /// One prompt object, by the core's rule (PromptFields), its problems as HTTP errors.
    static func prompt(_ fields: [String: JSONValue], maxBytes: Int, at path: String) -> Result<PromptRequest, APIError> {
        switch PromptFields.check(fields, maxBytes: maxBytes) {
        case .success(let prompt): return .success(PromptRequest(text: prompt.text, id: prompt.id))
        case .failure(.missingText): return .failure(.badRequest("missing_text", "\(path)text is missing: send {\"text\": \"...\"}"))
        case .failure(.textNotAString): return .failure(.badRequest("bad_text", "\(path)text must be a string"))
        case .failure(.tooLarge(let bytes)):
            return .failure(.tooLarge("\(path)text is \(bytes) bytes, more than the limit of \(maxBytes) (server.max_prompt_bytes)"))
        case .failure(.emptyText): return .failure(.badRequest("empty_text", "\(path)text is empty: an empty prompt is not sent"))
        case .failure(.badID): return .failure(.badRequest("bad_id", "\(path)id must be a string of \(PromptFields.idRule)"))
        }
    }

    /// The server's one id rule (PromptIDLedger), for every input.
    static func isValidID(_ id: String) -> Bool { PromptIDLedger.isValidID(id) }
}
