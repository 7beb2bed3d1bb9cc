// PromptFieldsTests: the one prompt rule every input uses (HTTP bodies, drop-directory files):
// each problem named, the limit counted in UTF-8 bytes, an id checked only when given.

import Testing
@testable import BridgeCore

@Suite struct PromptFieldsTests {
    func check(_ json: String, maxBytes: Int = 10) throws -> Result<PromptFields.Prompt, PromptFields.Problem> {
        let fields = try #require(try JSONValue.parse(Array(json.utf8)).objectValue)
        return PromptFields.check(fields, maxBytes: maxBytes)
    }

    @Test func acceptsTextWithOrWithoutAnID() throws {
        #expect(try check(#"{"text": "hi"}"#) == .success(.init(text: "hi", id: nil)))
        #expect(try check(#"{"text": "hi", "id": null}"#) == .success(.init(text: "hi", id: nil)))
        #expect(try check(#"{"text": "hi", "id": "job-1:a_b.c"}"#) == .success(.init(text: "hi", id: "job-1:a_b.c")))
    }

    @Test func namesEachProblem() throws {
        #expect(try check(#"{"id": "a"}"#) == .failure(.missingText))
        #expect(try check(#"{"text": null}"#) == .failure(.missingText))
        #expect(try check(#"{"text": 3}"#) == .failure(.textNotAString))
        #expect(try check(#"{"text": ""}"#) == .failure(.emptyText))
        #expect(try check(#"{"text": "ééééééé"}"#) == .failure(.tooLarge(bytes: 14)))
        #expect(try check(#"{"text": "ééééé"}"#) == .success(.init(text: "ééééé", id: nil)))
        #expect(try check(#"{"text": "x", "id": "a b"}"#) == .failure(.badID))
        #expect(try check(#"{"text": "x", "id": 7}"#) == .failure(.badID))
        #expect(PromptFields.problem(text: "", maxBytes: 10) == .emptyText)
        #expect(PromptFields.problem(text: "fine", maxBytes: 10) == nil)
    }
}
