// ServerSessionFeedTests: the `session` subscription a TUI reads (ServerCore+Session, SessionWire)
// on a real EventLoop, real FIFOs and the real cc-bridge-agent. A late subscriber's snapshot
// puts each accepted prompt before its reply, as a viewer that was there saw it; one that leaves
// and resumes from its line id and last mark gets every line and every prompt once; and every
// kind of event survives the trip through the wire (style runs, Claude frames, history).

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// What one session subscriber saw: output lines by id, prompts, in order.
final class SessionFollower {
    var lines: [UInt64: String] = [:]
    /// "line:<text>" and "prompt:<text>" in the order they came.
    var order: [String] = []
    var repeatedLines: [UInt64] = []
    var lastFinished: UInt64 = 0
    var lastMark: UInt64 = 0
    var marks: [UInt64] = []
    var first: SessionEvent?

    func take(_ item: SessionFeedItem) {
        guard case .event(let event, let firstLineID, let mark) = item else { return }
        if first == nil { first = event }
        if let mark {
            marks.append(mark)
            lastMark = max(lastMark, mark)
        }
        switch event {
        case .output(_, let batch):
            guard let start = firstLineID else { return }
            for index in 0..<batch.count where !(index == batch.count - 1 && batch.endsWithOpenLine) {
                let id = start + UInt64(index)
                if lines[id] != nil { repeatedLines.append(id) }
                lines[id] = batch[index].text
                order.append("line:" + batch[index].text)
                lastFinished = max(lastFinished, id)
            }
        case .promptAccepted(_, _, let text, _, _):
            order.append("prompt:" + text)
        default:
            break
        }
    }
}

@Suite(.serialized) struct ServerSessionFeedTests {
    @Test func aLateSubscriberSeesPromptsBeforeTheirRepliesAndAResumingOneGetsEverythingOnce() throws {
        let s = try ServerFixture()
        let agent = try s.agent(["--protocol", "plain", "--echo"])
        defer { agent.kill9() }
        let always = SessionFollower(), leaving = SessionFollower()
        s.core.subscribeSession { always.take($0) }
        var subscription = s.core.subscribeSession { leaving.take($0) }
        func prompt(_ text: String) {
            var result: ServerSendResult?
            _ = try? s.core.send(text, to: "a", origin: .cli) { result = $0 }
            #expect(s.spin { result != nil && always.order.contains("line:" + text) }, "no echo of \(text): \(always.order)")
        }
        prompt("first")
        s.core.unsubscribeSession(subscription)
        prompt("second")
        prompt("third")
        subscription = s.core.subscribeSession(resume: ["a": SessionResume(fromLineID: leaving.lastFinished + 1,
                                                                          lastMark: leaving.lastMark)]) { leaving.take($0) }
        prompt("fourth")
        #expect(s.spin { leaving.order.contains("line:fourth") })
        #expect(leaving.order == always.order, "resumed:\n\(leaving.order)\nalways:\n\(always.order)")
        #expect(leaving.repeatedLines.isEmpty && always.repeatedLines.isEmpty)
        #expect(Set(leaving.marks).count == leaving.marks.count, "a mark came twice: \(leaving.marks)")
        for text in ["first", "second", "third", "fourth"] {
            let p = always.order.firstIndex(of: "prompt:" + text), l = always.order.firstIndex(of: "line:" + text)
            #expect(p != nil && l != nil && p! < l!, "\(text): \(always.order)")
        }

        // A viewer that comes now: the instance list first, then the same prompts and lines in
        // the same order.
        let late = SessionFollower()
        s.core.subscribeSession { late.take($0) }
        guard case .instancesChanged(let list, _)? = late.first else {
            Issue.record("the snapshot did not start with the instances: \(String(describing: late.first))")
            return
        }
        #expect(list.map(\.name) == ["a"])
        #expect(late.order == always.order, "late:\n\(late.order)\nalways:\n\(always.order)")
    }

    @Test func everyKindOfSessionEventSurvivesTheWire() throws {
        func roundTrip(_ item: SessionFeedItem) throws -> SessionFeedItem? {
            let frame = IPCMessage.event(SessionWire.encode(item)).frame()
            var decoder = IPCFrameDecoder()
            decoder.append(frame.encoded())
            guard let back = try decoder.next(), case .success(.event(let event)) = IPCMessage.decode(back) else {
                return nil
            }
            return SessionWire.decode(event)
        }
        let red = TextStyle(foreground: .rgb(200, 10, 10), bold: true)
        let batch = OutputBatch(lines: [OutputLine(text: "plain", timestamp: 5),
                                        OutputLine(text: "red word", runs: [StyleRun(start: 4, count: 4, style: red)], timestamp: 5),
                                        OutputLine(text: "open", timestamp: 5)],
                                replacesOpenLine: true, endsWithOpenLine: true)
        guard case .event(.output(let name, let back), let first, _)? = try roundTrip(.event(.output(instance: "a", batch: batch),
                                                                                               firstLineID: 41, mark: nil)) else {
            Issue.record("output did not come back")
            return
        }
        #expect(name == "a" && first == 41)
        #expect(back == batch, "\(back.lines) vs \(batch.lines)")
        let turn = Turn(id: "p1", prompt: "hi", sentAt: 1, status: .completed, origin: .cli)
        let events: [SessionEvent] = [
            .stream(instance: "a", event: .claude(.permission(id: "t1", PermissionRequestInfo(
                requestID: "r1", tool: "Bash", summary: "ls", input: "{}")))),
            .stream(instance: "a", event: .claude(.result(id: "t1", TurnResultInfo(
                subtype: "success", isError: false, durationMs: 12, inputTokens: 1, outputTokens: 2,
                cacheReadTokens: 3, cacheWriteTokens: 4, costUSD: 0.5, sessionCostUSD: 1.25)))),
            .historyRestored(instance: "a", turns: [turn], inputs: ["hi"], queue: []),
            .promptAccepted(instance: "a", promptID: "p2", text: "next", at: 2, origin: .http),
            .activityChanged(instance: "a", activity: .waitingForApproval(2)),
            .lifecycle(instance: "a", change: .exited(interrupted: turn, why: .noReader)),
            .notice(instance: "a", notice: .readerRefused("already read by process 7")),
            .instancesChanged([InstanceInfo(name: "a", inPath: "/p/a.in.fifo", outPath: "/p/a.out.fifo", status: .broken("half"))],
                              directoryError: nil),
        ]
        for event in events {
            guard case .event(let decoded, _, let mark)? = try roundTrip(.event(event, firstLineID: nil, mark: 9)) else {
                Issue.record("\(event) did not come back")
                continue
            }
            #expect(mark == 9)
            #expect(String(describing: decoded) == String(describing: event))
        }
    }

    /// Style runs are written and read by hand (StyleRunWire), in exactly the Codable form, so a
    /// client or server built either way reads the other.
    @Test func styleRunsOnTheWireAreTheirCodableForm() throws {
        let styles: [TextStyle] = [
            .plain, TextStyle(bold: true), TextStyle(foreground: .ansi(3), dim: true, italic: true),
            TextStyle(foreground: .palette(200), background: .rgb(1, 2, 255), underline: true, reverse: true),
            TextStyle(background: .ansi(15), bold: true, dim: true, italic: true, underline: true, reverse: true),
        ]
        let runs = styles.enumerated().map { StyleRun(start: $0.offset * 3, count: $0.offset + 1, style: $0.element) }
        #expect(StyleRunWire.encode(runs) == ServerWire.encode(runs))
        #expect(StyleRunWire.decode(ServerWire.encode(runs)) == runs)
        #expect(try StyleRunWire.encode(runs).decode([StyleRun].self) == runs)
        // Packed (session_output's style_runs): the same runs by line, every colour kind; garbage is nil.
        let batch = OutputBatch(lines: [OutputLine(text: "0123456789abcdefghij", runs: runs), OutputLine(text: "plain"),
                                        OutputLine(text: "x", runs: [StyleRun(start: 0, count: 1, style: styles[3])])])
        #expect(StyleRunWire.unpack(StyleRunWire.packed(batch)) == [0: runs, 2: [StyleRun(start: 0, count: 1, style: styles[3])]])
        #expect(StyleRunWire.unpack("") == [:])
        // The exact text (digits written by hand): line, start, count, attributes, colours.
        let wide = OutputBatch(lines: [OutputLine(text: "a"), OutputLine(text: String(repeating: "x", count: 70_000), runs: [
            StyleRun(start: 0, count: 10, style: TextStyle(bold: true)),
            StyleRun(start: 65_535, count: 4_465, style: styles[3]),
        ])])
        #expect(StyleRunWire.packed(wide) == "1,0,10,1,0,0 1,65535,4465,24,456,16843519")
        for bad in ["1,2", "1,2,3,4,5,6,7", "1,2,3,4,5,600", "a", "1,2,3,4,5,6 ", "1,,3,4,5,6", "99999999999999999,1,1,1,1,1"] {
            #expect(StyleRunWire.unpack(bad) == nil, "\(bad)")
        }
        // Not runs: nil (the client shows the line plain), never a trap.
        for bad: JSONValue in [.null, ["start": 1], [["start": 1, "count": 2, "style": ["bold": 3]]],
                               [["start": 1, "count": 2, "style": ["foreground": ["rgb": ["_0": 1]]]]],
                               [["start": 1, "count": 2, "style": ["foreground": ["ansi": ["_0": 300]]]]]] {
            #expect(StyleRunWire.decode(bad) == nil)
        }
    }

    /// A session_output event's bytes become the batch (no copy): lines, runs and flags as sent;
    /// runs that do not fit their line are dropped, bytes that are not UTF-8 refuse the event.
    @Test func sessionOutputDecodesIntoTheSameBatch() throws {
        let red = TextStyle(foreground: .rgb(200, 10, 10), bold: true)
        var lines: [OutputLine] = []
        for i in 0..<700 {
            let text = i % 7 == 3 ? "● styled line \(i) é ❯" : "plain line \(i) with some words"
            let runs = i % 7 == 3 ? [StyleRun(start: 0, count: 3, style: red), StyleRun(start: 4, count: 6, style: .init(dim: true))] : []
            lines.append(OutputLine(text: text, runs: runs, timestamp: 7))
        }
        let batch = OutputBatch(lines: lines, replacesOpenLine: false, endsWithOpenLine: true)
        let event = SessionWire.encode(.event(.output(instance: "a", batch: batch), firstLineID: 3, mark: nil))
        guard case .event(.output(_, let back), let first, _)? = SessionWire.decode(event) else {
            Issue.record("did not decode")
            return
        }
        #expect(first == 3 && back == batch)
        #expect(back.text == batch.text)
        var outside = event
        outside.data = ["instance": "a", "first_line_id": 1, "count": 1, "at": 7,
                        "styles": [["line": 0, "runs": StyleRunWire.encode([StyleRun(start: 2, count: 9, style: red)])]]]
        outside.attachment = Array("short\n".utf8)
        guard case .event(.output(_, let plain), _, _)? = SessionWire.decode(outside) else {
            Issue.record("a run outside its line refused the event")
            return
        }
        #expect(plain.lines == [OutputLine(text: "short", timestamp: 7)])
        outside.attachment = [0x61, 0xFF, 0x0A]
        #expect(SessionWire.decode(outside) == nil)
    }
}
