// PromptRequestTests: what a prompt body must be before anything reaches the server (UTF-8,
// JSON, an object, a string text within the limit and not empty, a well-formed id), the batch
// form with its per-prompt answers, and the access rules (Origin, Host, bearer token).

import Testing
@testable import BridgeHTTP

@Suite struct PromptRequestTests {
    func parse(_ text: String, maxBytes: Int = 100) -> Result<PromptRequest, APIError> {
        PromptRequest.parse(Array(text.utf8), maxBytes: maxBytes)
    }

    func code(_ result: Result<PromptRequest, APIError>) -> String? {
        if case .failure(let error) = result { return "\(error.status) \(error.code)" }
        return nil
    }

    @Test func acceptsTextAndAnOptionalID() throws {
        #expect(try parse(#"{"text": "hello"}"#).get() == PromptRequest(text: "hello", id: nil))
        #expect(try parse(#"{"text": "hi\nthere", "id": "job-7:a_b.c"}"#).get() == PromptRequest(text: "hi\nthere", id: "job-7:a_b.c"))
        #expect(try parse(#"{"text": "x", "id": null}"#).get() == PromptRequest(text: "x", id: nil))
    }

    @Test func refusesBadBodiesWithTheirCodes() {
        #expect(code(PromptRequest.parse([0x7B, 0xFF, 0x7D], maxBytes: 100)) == "400 invalid_utf8")
        #expect(code(parse(#"{"text": "#)) == "400 malformed_json")
        #expect(code(parse(#"["text"]"#)) == "400 malformed_json")
        #expect(code(parse(#"{"id": "a"}"#)) == "400 missing_text")
        #expect(code(parse(#"{"text": null}"#)) == "400 missing_text")
        #expect(code(parse(#"{"text": 5}"#)) == "400 bad_text")
        #expect(code(parse(#"{"text": ""}"#)) == "400 empty_text")
        #expect(code(parse(#"{"text": "x", "id": ""}"#)) == "400 bad_id")
        #expect(code(parse(#"{"text": "x", "id": 12}"#)) == "400 bad_id")
        #expect(code(parse(#"{"text": "x", "id": "a b"}"#)) == "400 bad_id")
        #expect(code(parse(#"{"text": "x", "id": "\#(String(repeating: "a", count: 129))"}"#)) == "400 bad_id")
    }

    @Test func textOverTheLimitIs413AndAtTheLimitPasses() throws {
        #expect(code(parse(#"{"text": "\#(String(repeating: "é", count: 51))"}"#)) == "413 too_large")
        #expect(try parse(#"{"text": "\#(String(repeating: "é", count: 50))"}"#).get().text.utf8.count == 100)
    }

    @Test func aBatchAnswersEachPromptOnItsOwn() throws {
        let body = #"{"prompts": [{"text": "one", "id": "1"}, {"text": ""}, 7, {"text": "four"}]}"#
        let items = try PromptRequest.parseBatch(Array(body.utf8), maxBytes: 100).get()
        #expect(items.count == 4)
        #expect(try items[0].get() == PromptRequest(text: "one", id: "1"))
        #expect(code(items[1]) == "400 empty_text")
        #expect(code(items[2]) == "400 bad_prompt")
        #expect(try items[3].get() == PromptRequest(text: "four", id: nil))
        for bad in [#"{"text": "x"}"#, #"{"prompts": []}"#, #"{"prompts": "x"}"#] {
            guard case .failure(let error) = PromptRequest.parseBatch(Array(bad.utf8), maxBytes: 100) else {
                Issue.record("accepted \(bad)")
                continue
            }
            #expect(error.status == 400)
        }
        let many = "{\"prompts\": [" + Array(repeating: #"{"text": "x"}"#, count: 101).joined(separator: ",") + "]}"
        #expect(throws: APIError.self) { try PromptRequest.parseBatch(Array(many.utf8), maxBytes: 100).get() }
    }

    @Test func accessChecksOriginHostThenToken() {
        let access = HTTPAccess(token: "secret-token-123456", allowedOrigins: ["http://localhost:3000"], loopbackOnly: true)
        let good = "Bearer secret-token-123456"
        #expect(access.refusal(origin: nil, host: "127.0.0.1:8765", authorization: good) == nil)
        #expect(access.refusal(origin: "http://localhost:3000", host: "localhost:8765", authorization: good) == nil)
        #expect(access.refusal(origin: nil, host: "[::1]:8765", authorization: "bearer secret-token-123456") == nil)
        #expect(access.refusal(origin: "http://evil.example", host: "127.0.0.1", authorization: good)?.status == 403)
        #expect(access.refusal(origin: "null", host: "127.0.0.1", authorization: good)?.status == 403)
        // A DNS-rebinding page reaches us under its own name.
        #expect(access.refusal(origin: nil, host: "evil.example:8765", authorization: good)?.code == "forbidden_host")
        #expect(access.refusal(origin: nil, host: "127.0.0.1", authorization: nil)?.status == 401)
        #expect(access.refusal(origin: nil, host: "127.0.0.1", authorization: "Bearer wrong")?.status == 401)
        #expect(access.refusal(origin: nil, host: "127.0.0.1", authorization: "Basic c2VjcmV0")?.status == 401)
        // A browser's preflight carries no token; its origin must still be allowed.
        #expect(access.refusal(origin: "http://localhost:3000", host: "127.0.0.1", authorization: nil, preflight: true) == nil)
        #expect(access.refusal(origin: "http://evil.example", host: "127.0.0.1", authorization: nil, preflight: true)?.status == 403)
        let open = HTTPAccess(token: "t", allowedOrigins: [], loopbackOnly: false)
        #expect(open.refusal(origin: nil, host: "server.lan:8765", authorization: "Bearer t") == nil)
    }
}
