// PromptRequest: a prompt body as the HTTP input accepts it, `{"text": ..., "id": ...?}`, and the
// batch form `{"prompts": [{"text", "id"?}, ...]}` (after the hybrid-input ADR's `/messages`),
// checked before anything reaches the server: UTF-8, JSON, a JSON object, a string `text` of at
// most `maxBytes` UTF-8 bytes and not empty, an `id` (when given) of 1 to 128 letters, digits and
// `. _ : -`. Pure, so the rules are unit-tested without a server.

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

    static func prompt(_ fields: [String: JSONValue], maxBytes: Int, at path: String) -> Result<PromptRequest, APIError> {
        guard let textValue = fields["text"], !textValue.isNull else {
            return .failure(.badRequest("missing_text", "\(path)text is missing: send {\"text\": \"...\"}"))
        }
        guard let text = textValue.stringValue else {
            return .failure(.badRequest("bad_text", "\(path)text must be a string"))
        }
        let bytes = text.utf8.count
        if bytes > maxBytes {
            return .failure(.tooLarge("\(path)text is \(bytes) bytes, more than the limit of \(maxBytes) (server.max_prompt_bytes)"))
        }
        guard !text.isEmpty else { return .failure(.badRequest("empty_text", "\(path)text is empty: an empty prompt is not sent")) }
        var id: String?
        if let idValue = fields["id"], !idValue.isNull {
            guard let given = idValue.stringValue, isValidID(given) else {
                return .failure(.badRequest("bad_id", "\(path)id must be a string of 1 to \(maxIDLength) letters, digits and . _ : -"))
            }
            id = given
        }
        return .success(PromptRequest(text: text, id: id))
    }

    /// The server's one id rule (PromptIDLedger), for every input.
    static func isValidID(_ id: String) -> Bool { PromptIDLedger.isValidID(id) }
}
