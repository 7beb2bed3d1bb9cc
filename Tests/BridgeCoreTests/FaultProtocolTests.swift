// FaultProtocolTests: agent-supplied strings of the framed protocol that reach the UI outside
// the output pane (notices, the hello version) carry no control characters.

import Testing
@testable import BridgeCore

@Test func framedNoticeAndHelloVersionAreSanitized() {
    // Found by the output fuzz target: notice text went to the UI with its control bytes.
    var decoder = StreamDecoder(now: { 0 })
    var batch = OutputBatch()
    var events: [StreamEvent] = []
    let input = #"{"type":"hello","protocol":"ccb-jsonl/1","agent":"a","version":"1\u001b]0;x\u0007","pid":1}"# + "\n"
        + #"{"type":"notice","text":"restart\u001b[2J\u009b1m"}"# + "\n"
    decoder.feed(Array(input.utf8), into: &batch, events: &events)
    #expect(events.contains(.hello(pid: 1, version: "1?]0;x?")), "\(events)")
    #expect(events.contains(.notice("restart?[2J?1m")), "\(events)")
}
