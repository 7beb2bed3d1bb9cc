// PromptFields: the one rule for a prompt given as a JSON object `{"text": "...", "id": "..."?}`,
// whichever input brought it (an HTTP body, a drop directory's `.json` file): `text` present and
// a string, at most `maxBytes` UTF-8 bytes (server.max_prompt_bytes) and not empty; `id`, when
// given, a prompt id as PromptIDLedger defines it. Each input words the refusal its own way (an
// HTTP error code, an `.error` file's sentence) from the `Problem` named here.

public enum PromptFields {
    public struct Prompt: Equatable, Sendable {
        public var text: String
        public var id: String?
    }

    public enum Problem: Error, Equatable, Sendable {
        case missingText
        case textNotAString
        case tooLarge(bytes: Int)
        case emptyText
        case badID
    }

    /// The object's prompt, checked.
    public static func check(_ fields: [String: JSONValue], maxBytes: Int) -> Result<Prompt, Problem> {
        guard let textValue = fields["text"], !textValue.isNull else { return .failure(.missingText) }
        guard let text = textValue.stringValue else { return .failure(.textNotAString) }
        if let problem = problem(text: text, maxBytes: maxBytes) { return .failure(problem) }
        var id: String?
        if let idValue = fields["id"], !idValue.isNull {
            guard let given = idValue.stringValue, PromptIDLedger.isValidID(given) else { return .failure(.badID) }
            id = given
        }
        return .success(Prompt(text: text, id: id))
    }

    /// What is wrong with a prompt's text, whatever brought it: too large, or empty.
    public static func problem(text: String, maxBytes: Int) -> Problem? {
        let bytes = text.utf8.count
        if bytes > maxBytes { return .tooLarge(bytes: bytes) }
        return text.isEmpty ? .emptyText : nil
    }

    /// The id rule in words, for refusals.
    public static var idRule: String { "1 to \(PromptIDLedger.maxIDLength) letters, digits and . _ : -" }
}
