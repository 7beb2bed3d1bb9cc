// ClaudeDecoderTests: the pure parts of the Claude mode: ClaudeStreamDecoder on single lines (the
// shapes of docs/protocol.md, and what it makes of lines it cannot use), the tool summaries, the
// byte bounds, and ClaudeLineSplitter's bound on a line.

import Foundation
import Testing
@testable import BridgeAgent
import BridgeCore

@Suite struct ClaudeDecoderTests {
    func decode(_ line: String) -> [ClaudeEvent] { ClaudeStreamDecoder.decode(Array(line.utf8)) }

    @Test func summariesNameWhatEachToolWorksOn() {
        #expect(ClaudeText.toolSummary(name: "Bash", input: ["command": "npm test\nnpm run lint"]) == "npm test ↵ npm run lint")
        #expect(ClaudeText.toolSummary(name: "Edit", input: ["file_path": "/a/b.swift", "old_string": "x"]) == "/a/b.swift")
        #expect(ClaudeText.toolSummary(name: "Grep", input: ["pattern": "TODO", "path": "src"]) == "TODO  in src")
        #expect(ClaudeText.toolSummary(name: "mcp__x__y", input: ["b": 1, "a": "z"]) == #"{"a":"z","b":1}"#)
        let long = ClaudeText.toolSummary(name: "Bash", input: ["command": String(repeating: "é", count: 1000)])
        #expect(long.utf8.count <= ClaudeFrameLimits.summary && long.hasSuffix("…"))
    }

    @Test func boundedNeverSplitsACharacter() {
        #expect(ClaudeText.bounded("abc", 3) == "abc")
        #expect(ClaudeText.bounded("abcd", 3) == "…")
        #expect(ClaudeText.bounded("aé👍b", 8) == "aé👍b")
        #expect(ClaudeText.bounded("aé👍b", 7) == "aé…")
    }

    @Test func contentAsAStringAndErrorsOfAResult() {
        #expect(decode(#"{"type":"assistant","message":{"content":"plain"}}"#) == [.text("plain")])
        let events = decode(#"{"type":"result","subtype":"error_during_execution","errors":["boom",{"k":1}],"total_cost_usd":0.5}"#)
        guard case .result(let r)? = events.first else { Issue.record("\(events)"); return }
        #expect(r.isError && r.errors == #"boom; {"k":1}"# && r.totalCostUSD == 0.5)
    }

    @Test func linesItCannotUseComeBackAsText() {
        #expect(decode("  ") == [])
        #expect(decode("Error: something on stderr") == [.malformed(reason: "not a JSON object", line: "Error: something on stderr")])
        #expect(decode(#"{"type":"result"}"#) == [.malformed(reason: "a 'result' event without its fields", line: #"{"type":"result"}"#)])
        #expect(decode(#"{"type":"stream_event","event":{}}"#) == [.unknown(type: "stream_event", line: #"{"type":"stream_event","event":{}}"#)])
        #expect(decode(#"{"no":"type"}"#) == [.malformed(reason: "no type", line: #"{"no":"type"}"#)])
    }

    @Test func theSplitterKeepsOnlyTheHeadOfAnOverlongLine() {
        var splitter = ClaudeLineSplitter(maxLineBytes: 2048)
        var lines = splitter.feed(Array(repeating: UInt8(ascii: "a"), count: 3000))
        lines += splitter.feed(Array("bc\nok\npart".utf8))
        #expect(lines == [.overlong(head: Array(repeating: UInt8(ascii: "a"), count: ClaudeLineSplitter.headBytes), bytes: 3002),
                          .line(Array("ok".utf8))])
        #expect(splitter.flush() == .line(Array("part".utf8)))
        #expect(splitter.flush() == nil)
    }
}

extension ClaudeDecoderTests {
    /// Found by `scripts/fuzz claude` (Tests/Fixtures/fuzz-regressions/claude/assistant-text-not-a-string):
    /// a text block whose `text` is not a string, or an assistant message with no blocks, gave no
    /// event at all, so the line was silently dropped.
    @Test func assistantBlocksItCannotReadAreRelayedNotDropped() {
        #expect(decode(#"{"type":"assistant","message":{"content":[{"type":"text","text":{"a":1}}]}}"#)
                == [.unknown(type: "assistant block text", line: #"{"text":{"a":1},"type":"text"}"#)])
        #expect(decode(#"{"type":"assistant","message":{"content":[7]}}"#) == [.unknown(type: "assistant block", line: "7")])
        #expect(decode(#"{"type":"assistant","message":{"content":[]}}"#)
                == [.malformed(reason: "a 'assistant' event without its fields", line: #"{"type":"assistant","message":{"content":[]}}"#)])
    }
}

extension ClaudeDecoderTests {
    /// The prompt line the agent writes by hand parses back to the prompt, whatever it holds.
    @Test func handBuiltStringLiteralsParseBackToTheSameText() throws {
        for text in ["plain", "two\nlines ✨", "quote \" backslash \\ tab \t nul \u{0} del \u{7F}", "🧑‍💻 \u{2028}"] {
            let quoted = JSONString.quoted(text)
            let parsed = try JSONSerialization.jsonObject(with: Data(("[" + quoted + "]").utf8)) as? [String]
            #expect(parsed == [text], "\(quoted)")
        }
    }
}
