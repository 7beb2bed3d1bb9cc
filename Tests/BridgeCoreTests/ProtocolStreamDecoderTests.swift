// StreamDecoder: plain mode with reply markers, switching to framed mode on a hello, framed
// chunks assembled into lines, non-JSON lines shown as text.

import Testing
@testable import BridgeCore

/// Output of a decoder run: visible lines and all events.
private struct Run {
    var output = CollectedOutput()
    var events: [StreamEvent] = []
    var mode: StreamMode = .plain
    var texts: [String] { output.texts }
}

private func run(_ chunks: [[UInt8]], maxFrameBytes: Int = 4 << 20) -> Run {
    var decoder = StreamDecoder(maxFrameBytes: maxFrameBytes, now: { 0 })
    var result = Run()
    var batch = OutputBatch()
    for chunk in chunks {
        decoder.feed(chunk, into: &batch, events: &result.events)
        result.output.apply(batch)
        batch.removeAll()
    }
    result.mode = decoder.mode
    return result
}

private func run(_ text: String) -> Run { run([Array(text.utf8)]) }

private let hello = AgentMessage.hello(protocol: "ccb-jsonl/1", agent: "cc-bridge-agent", version: "0.3", pid: 77).encode()

@Test func plainModeReportsReplyMarkersAlsoWhenSplit() {
    let text = "answer\n\u{1B}[1m❯\u{1B}[0m \nmore ❯❯\n"
    let bytes = Array(text.utf8)
    let whole = run([bytes])
    #expect(whole.events == [.replyMarker, .replyMarker, .replyMarker])
    #expect(whole.texts == ["answer", "❯ ", "more ❯❯"])
    #expect(whole.mode == .plain)
    for k in 1..<bytes.count {
        let parts = run([Array(bytes[..<k]), Array(bytes[k...])])
        #expect(parts.events == whole.events, "split at \(k)")
        #expect(parts.texts == whole.texts, "split at \(k)")
    }
    #expect(run(bytes.map { [$0] }).events == whole.events)
    // Almost-markers are not markers.
    #expect(run([[0xE2, 0x9D], [0xAE, 0xE2], [0xE2, 0x9D, 0xAF]]).events == [.replyMarker])
}

@Test func helloSwitchesToFramedAndIsNotShown() {
    let stream = "old plain output\n" + hello + "\n"
        + AgentMessage.chunk(id: "r1", data: "Hel").encode() + "\n"
        + AgentMessage.chunk(id: "r1", data: "lo\nwor").encode() + "\n"
        + AgentMessage.chunk(id: "r1", data: "ld ❯\n").encode() + "\n"
        + AgentMessage.heartbeat(ts: 12.5).encode() + "\r\n"
        + AgentMessage.done(id: "r1", status: .ok, exit: 0).encode() + "\n"
        + AgentMessage.notice(text: "agent restarted").encode() + "\n"
    let expectedEvents: [StreamEvent] = [
        .modeChanged(.framed), .hello(pid: 77, version: "0.3"), .chunkStarted(id: "r1"),
        .heartbeat(ts: 12.5), .done(id: "r1", status: .ok, exit: 0), .notice("agent restarted"),
    ]
    let bytes = Array(stream.utf8)
    let whole = run([bytes])
    #expect(whole.mode == .framed)
    #expect(whole.texts == ["old plain output", "Hello", "world ❯"])
    #expect(whole.events == expectedEvents)   // no replyMarker in framed mode
    for k in stride(from: 1, to: bytes.count, by: 1) {
        let parts = run([Array(bytes[..<k]), Array(bytes[k...])])
        #expect(parts.texts == whole.texts, "split at \(k)")
        #expect(parts.events == expectedEvents, "split at \(k)")
    }
    let bytewise = run(bytes.map { [$0] })
    #expect(bytewise.texts == whole.texts)
    #expect(bytewise.events == expectedEvents)
}

@Test func helloLookalikesStayPlainText() {
    let cases = [
        #"{"type":"hello"} but not json"#,
        #"{"type":"hello","protocol":"ccb-jsonl/9","agent":"a","version":"1","pid":1}"#,   // unknown protocol
        #"{"type":"help"}"#,
        #"{"kind":"hello"}"#,
    ]
    for line in cases {
        let r = run("x\n" + line + "\ny\n")
        #expect(r.mode == .plain, "\(line)")
        #expect(r.texts == ["x", line, "y"], "\(line)")
        #expect(r.events.isEmpty)
    }
    // Not at the start of a line: no switch.
    let r = run("say " + hello + "\n")
    #expect(r.mode == .plain)
    #expect(r.texts == ["say " + hello])
    // At the very start of the stream: switch.
    #expect(run(hello + "\n").mode == .framed)
}

@Test func framedNonJSONLinesAreShownAsText() {
    let stream = hello + "\nTraceback (most recent call last):\n"
        + AgentMessage.chunk(id: "a", data: "out\n").encode() + "\n"
        + "{\"type\":\"chunk\",\"id\":\"a\"}\n"      // valid JSON, missing data: shown
        + "\n"                                       // blank: ignored
        + "{\"type\":\"unknown\"}\n"
    let r = run(stream)
    #expect(r.texts == ["Traceback (most recent call last):", "out", "{\"type\":\"chunk\",\"id\":\"a\"}", "{\"type\":\"unknown\"}"])
    #expect(r.events == [.modeChanged(.framed), .hello(pid: 77, version: "0.3"), .chunkStarted(id: "a")])
}

@Test func secondHelloStaysFramedAndChunkStartsAgain() {
    let stream = hello + "\n" + AgentMessage.chunk(id: "a", data: "1").encode() + "\n"
        + hello + "\n" + AgentMessage.chunk(id: "a", data: "2\n").encode() + "\n"
        + AgentMessage.chunk(id: "b", data: "3\n").encode() + "\n"
    let r = run(stream)
    #expect(r.mode == .framed)
    #expect(r.texts == ["12", "3"])
    #expect(r.events == [
        .modeChanged(.framed), .hello(pid: 77, version: "0.3"), .chunkStarted(id: "a"),
        .hello(pid: 77, version: "0.3"), .chunkStarted(id: "a"), .chunkStarted(id: "b"),
    ])
}

@Test func chunkDataIsSanitized() {
    let r = run(hello + "\n" + AgentMessage.chunk(id: "a", data: "\u{1B}]0;t\u{07}\u{1B}[31mred\u{1B}[0m\u{9B}2J\n").encode() + "\n")
    #expect(r.texts == ["red"])
    #expect(r.output.lines[0].runs == [StyleRun(start: 0, count: 3, style: TextStyle(foreground: .ansi(1)))])
}

@Test func overlongFrameIsShownAsTextWithBoundedBuffer() {
    let long = String(repeating: "z", count: 5000)
    let stream = hello + "\n" + long + "\n" + AgentMessage.chunk(id: "a", data: "after\n").encode() + "\n"
    let bytes = Array(stream.utf8)
    var chunks: [[UInt8]] = []
    var i = 0
    while i < bytes.count { chunks.append(Array(bytes[i..<min(bytes.count, i + 100)])); i += 100 }
    let r = run(chunks, maxFrameBytes: 1024)
    #expect(r.texts == [long, "after"])
}

/// A prompt delivered while a plain agent waits behind its bare `❯ ` line: the marker line is
/// dropped (the host shows the prompt in its place) and the reply starts a line of its own
/// instead of `❯ You said: …`, which read like something the user typed.
@Test func aBareReplyMarkerGivesWayToThePromptAndTheReplyStartsItsOwnLine() {
    var decoder = StreamDecoder(now: { 0 })
    var events: [StreamEvent] = []
    var batch = OutputBatch()
    decoder.feed(Array("answer\n\u{1B}[1m❯\u{1B}[0m ".utf8), into: &batch, events: &events)
    #expect(batch.endsWithOpenLine)
    batch.removeAll()
    let absorbed = decoder.absorbReplyMarker()
    #expect(absorbed)
    decoder.feed(Array("You said: hi\n❯ ".utf8), into: &batch, events: &events)
    #expect(!batch.replacesOpenLine)
    #expect(batch.lines.map(\.text) == ["You said: hi", "❯ "])
    // Only a bare marker: an open line with more on it is the agent's, and stays.
    batch.removeAll()
    decoder.feed(Array("partial ❯ reply".utf8), into: &batch, events: &events)
    let absorbedAgain = decoder.absorbReplyMarker()
    #expect(!absorbedAgain)
}

@Test func claudeFramesBecomeEventsNotOutput() {
    var decoder = StreamDecoder(now: { 0 })
    var batch = OutputBatch()
    var events: [StreamEvent] = []
    let input = #"{"type":"hello","protocol":"ccb-jsonl/1","agent":"a","version":"1","pid":1}"# + "\n"
        + #"{"id":"p1","type":"tool_use","tool_id":"t1","name":"Bash","summary":"npm test"}"# + "\n"
        + #"{"id":"p1","type":"stalled","silent_seconds":60}"# + "\n"
    decoder.feed(Array(input.utf8), into: &batch, events: &events)
    #expect(events.contains(.claude(.toolUse(id: "p1", ToolUseInfo(toolID: "t1", name: "Bash", summary: "npm test")))), "\(events)")
    #expect(events.contains(.claude(.stalled(id: "p1", silentSeconds: 60))), "\(events)")
    #expect(batch.text.isEmpty, "a known frame is not shown as text")
}

/// A reply whose last chunk has no newline ends its line at its `done`: the next reply (or the
/// prompt line shown before it) starts a line of its own instead of being glued onto it
/// (`hello from the tuisecond`, seen with the echo agent).
@Test func aRepliesOpenLineEndsAtItsDone() {
    let stream = hello + "\n" + AgentMessage.chunk(id: "a", data: "first reply").encode() + "\n"
        + AgentMessage.done(id: "a", status: .ok, exit: nil).encode() + "\n"
        + AgentMessage.chunk(id: "b", data: "second\nreply").encode() + "\n"
        + AgentMessage.done(id: "b", status: .ok, exit: nil).encode() + "\n"
        + AgentMessage.chunk(id: "c", data: "third\n").encode() + "\n"
        + AgentMessage.done(id: "c", status: .ok, exit: nil).encode() + "\n"
    let r = run(stream)
    #expect(r.texts == ["first reply", "second", "reply", "third"])
}
