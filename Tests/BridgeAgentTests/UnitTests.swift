// Pure pieces of the agent, without processes or FIFOs: command splitting, the script format,
// restart backoff, UTF-8 chunking, the bounded output queue, input splitting and framing.

import Testing
@testable import BridgeAgent

@Suite struct CommandSplitterTests {
    @Test func splitsLikeAShellForSimpleQuoting() throws {
        #expect(try CommandSplitter.split("claude --print") == ["claude", "--print"])
        #expect(try CommandSplitter.split(#"sh -c 'echo "$1"; exit 2' sh"#) == ["sh", "-c", #"echo "$1"; exit 2"#, "sh"])
        #expect(try CommandSplitter.split(#"a "b c" d\ e "x\"y" ''"#) == ["a", "b c", "d e", #"x"y"#, ""])
        #expect(try CommandSplitter.split("  spaced   out  ") == ["spaced", "out"])
    }

    @Test func shellOperatorsAreJustWords() throws {
        #expect(try CommandSplitter.split("echo hi; rm -rf / | cat") == ["echo", "hi;", "rm", "-rf", "/", "|", "cat"])
    }

    @Test func rejectsBrokenQuoting() {
        #expect(throws: CommandSplitter.Failure.unterminatedQuote("'")) { try CommandSplitter.split("a 'b") }
        #expect(throws: CommandSplitter.Failure.unterminatedQuote("\"")) { try CommandSplitter.split("a \"b") }
        #expect(throws: CommandSplitter.Failure.trailingBackslash) { try CommandSplitter.split("a \\") }
        #expect(throws: CommandSplitter.Failure.empty) { try CommandSplitter.split("   ") }
    }
}

@Suite struct ScriptTests {
    @Test func parsesDirectivesAndReplies() throws {
        let script = try Script.parse("""
        # a comment
        say Hello {prompt}
        sleep 10
        ---
        color red
        print  two spaces\\e[0m
        spinner 2 5 Busy
        type 1 ab
        crash 3
        """)
        #expect(script.replies.count == 2)
        #expect(script.replies[0] == [.say("Hello {prompt}"), .sleep(milliseconds: 10)])
        #expect(script.replies[1] == [.color(sgr: "31"), .print(" two spaces\u{1B}[0m"),
                                      .spinner(frames: 2, milliseconds: 5, "Busy"), .type(milliseconds: 1, "ab"),
                                      .crash(code: 3)])
    }

    @Test func flattensIntoTimedWritesAndCycles() throws {
        let script = try Script.parse("say A {prompt}\nreply\nspinner 2 7 Busy\ntype 3 hi\n")
        #expect(script.actions(forPromptNumber: 0, prompt: "x") == [.write(Array("A x\n".utf8))])
        #expect(script.actions(forPromptNumber: 2, prompt: "y") == [.write(Array("A y\n".utf8))])
        #expect(script.actions(forPromptNumber: 1, prompt: "z") == [
            .write(Array("\r⠋ Busy".utf8)), .wait(milliseconds: 7),
            .write(Array("\r⠙ Busy".utf8)), .wait(milliseconds: 7),
            .write(Array("\r\u{1B}[2K".utf8)),
            .write(Array("h".utf8)), .wait(milliseconds: 3),
            .write(Array("i".utf8)), .wait(milliseconds: 3),
            .write(Array("\n".utf8)),
        ])
    }

    @Test func reportsTheLineOfAMistake() {
        #expect(throws: Script.ParseError(line: 2, message: "unknown directive 'shout'")) {
            try Script.parse("say ok\nshout no\n")
        }
        #expect(throws: Script.ParseError(line: 1, message: "expected milliseconds, found 'soon'")) {
            try Script.parse("sleep soon")
        }
        #expect(throws: Script.ParseError(line: 1, message: "unknown colour 'plaid'")) { try Script.parse("color plaid") }
        #expect(throws: Script.ParseError(line: 1, message: "the script has no replies")) { try Script.parse("# empty") }
    }

    @Test(arguments: ["chatty", "slow", "crashy"])
    func demoScriptsParse(name: String) throws {
        let script = try Script.parse(DemoScripts.all[name] ?? "")
        #expect(script.replies.count >= 2)
    }

    @Test func crashyCrashesOnTheThirdPrompt() throws {
        let script = try Script.parse(DemoScripts.crashy)
        #expect(script.replies.count == 3)
        #expect(script.replies[2].last == .crash(code: 3))
        #expect(!script.replies[0].contains(.crash(code: 3)))
    }
}

@Suite struct RestartBackoffTests {
    @Test func doublesFromOneSecondAndGivesUpAfterFive() {
        var backoff = RestartBackoff()
        let decisions = (0..<6).map { _ in backoff.childDied(uptime: 0.1) }
        #expect(decisions == [
            .restart(after: 1, attempt: 1), .restart(after: 2, attempt: 2), .restart(after: 4, attempt: 3),
            .restart(after: 8, attempt: 4), .restart(after: 16, attempt: 5), .giveUp(attempts: 5),
        ])
    }

    @Test func capsAtThirtySeconds() {
        var backoff = RestartBackoff()
        backoff.maximumAttempts = 10
        let delays = (0..<8).map { _ -> Double in
            if case .restart(let delay, _) = backoff.childDied(uptime: 0) { return delay }
            return -1
        }
        #expect(delays == [1, 2, 4, 8, 16, 30, 30, 30])
    }

    @Test func aChildThatStayedUpStartsAfresh() {
        var backoff = RestartBackoff()
        _ = backoff.childDied(uptime: 0)
        _ = backoff.childDied(uptime: 0)
        #expect(backoff.childDied(uptime: 60) == .restart(after: 1, attempt: 1))
    }
}

@Suite struct UTF8ChunkerTests {
    @Test func holdsBackASplitCharacter() {
        var chunker = UTF8Chunker()
        let bytes = Array("a❯b".utf8)  // ❯ is E2 9D AF
        #expect(chunker.feed(Array(bytes[0..<2])) == ["a"])
        #expect(chunker.feed(Array(bytes[2..<4])) == ["❯"])
        #expect(chunker.feed(Array(bytes[4...])) == ["b"])
        #expect(chunker.flush() == [])
    }

    @Test func invalidBytesBecomeReplacementCharacters() {
        var chunker = UTF8Chunker()
        #expect(chunker.feed([0xFF, 0x41, 0xC0, 0x80]) == ["\u{FFFD}A\u{FFFD}\u{FFFD}"])
        #expect(chunker.feed([0xE2, 0x9D]) == [])
        #expect(chunker.flush() == ["\u{FFFD}"])
    }

    @Test func splitsLongOutputAtCharacterBoundaries() {
        var chunker = UTF8Chunker(maxBytes: 8)
        let text = String(repeating: "é", count: 10)  // 20 bytes
        let pieces = chunker.feed(Array(text.utf8))
        #expect(pieces.joined() == text)
        #expect(pieces.allSatisfy { $0.utf8.count <= 8 })
        #expect(pieces.count == 3)
    }
}

@Suite struct OutputQueueTests {
    func frame(_ s: String, _ droppable: Bool = true) -> OutputFrame { OutputFrame(bytes: Array(s.utf8), droppable: droppable) }

    func drainAll(_ queue: inout OutputQueue) -> String {
        var out: [UInt8] = []
        while let chunk = queue.withHeadBytes({ Array($0) }) {
            out += chunk
            queue.consume(chunk.count)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A frame written whole lets its bytes go at once (written frames were held until 1,024 had
    /// piled up, or the queue emptied: up to 1,024 frames of a flood after they left).
    @Test func aWrittenFrameLetsItsBytesGoAtOnce() {
        func address(_ bytes: [UInt8]) -> UnsafePointer<UInt8>? { bytes.withUnsafeBufferPointer { $0.baseAddress } }
        var queue = OutputQueue(limit: 1 << 20, byteStream: false)
        var written = [UInt8](repeating: UInt8(ascii: "x"), count: 8192)
        queue.append(OutputFrame(bytes: written, droppable: true))
        queue.append(frame("still queued"))
        #expect(queue.withHeadBytes { $0.baseAddress } == UnsafeRawPointer(address(written)), "the queue shares the frame's bytes")
        queue.consume(8192)
        #expect(queue.frameCount == 1)
        // Emptying our copy keeps its storage only if the queue no longer holds it.
        let before = address(written)
        written.removeAll(keepingCapacity: true)
        #expect(address(written) == before, "the queue still holds a written frame's bytes")
    }

    @Test func plainDropsExactlyTheOldestBytes() {
        var queue = OutputQueue(limit: 10, byteStream: true)
        queue.append(frame("0123456789"))
        queue.append(frame("abcde"))
        queue.enforceLimit()
        #expect(queue.byteCount <= 10)
        let dropped = queue.takeDroppedCount()
        let rest = drainAll(&queue)
        #expect(dropped + rest.utf8.count == 15)
        #expect(("0123456789abcde").hasSuffix(rest))
    }

    @Test func jsonlKeepsTurnEndsWhileDroppingChunks() {
        var queue = OutputQueue(limit: 12, byteStream: false)
        queue.append(frame("chunk-1---"))
        queue.append(frame("DONE1", false))
        queue.append(frame("chunk-2---"))
        queue.append(frame("DONE2", false))
        queue.enforceLimit()
        #expect(drainAll(&queue) == "DONE1DONE2")
        #expect(queue.takeDroppedCount() == 20)
    }

    @Test func aReaderLeavingMidFrameMakesJsonlResendTheWholeFrame() {
        var queue = OutputQueue(limit: 100, byteStream: false)
        queue.append(frame("{\"a\":1}\n"))
        queue.consume(3)
        queue.restartHeadFrame()
        queue.prepend([frame("HELLO\n", false)])
        #expect(drainAll(&queue) == "HELLO\n{\"a\":1}\n")
    }

    @Test func anAttachedReaderNeverGetsAFrameCutInTheMiddle() {
        var queue = OutputQueue(limit: 10, byteStream: false)
        queue.append(frame("{head-frame}"))
        queue.consume(4)
        queue.append(frame("{old-chunk}"))
        queue.append(frame("{new}"))
        queue.enforceLimit(keepingPartialHead: true)
        #expect(drainAll(&queue) == "d-frame}")
        #expect(queue.takeDroppedCount() == 16)
    }

    /// A plain reply and its `❯ ` marker are one write(2) (the host wakes once for the reply);
    /// notices and jsonl frames stay frames of their own.
    @Test func aPlainReplyAndItsMarkerLeaveInOneWrite() {
        var queue = OutputQueue(limit: 1 << 20, byteStream: true)
        queue.append(frame("hello\n"))
        queue.append(frame("❯ "))
        #expect(queue.withHeadBytes { String(decoding: Array($0), as: UTF8.self) } == "hello\n❯ ")
        queue.append(frame("[notice]\n", false))
        #expect(queue.frameCount == 2)
        var jsonl = OutputQueue(limit: 1 << 20, byteStream: false)
        jsonl.append(frame("{\"a\":1}\n"))
        jsonl.append(frame("{\"b\":2}\n"))
        #expect(jsonl.frameCount == 2)
        #expect(drainAll(&queue) == "hello\n❯ [notice]\n")
    }

    @Test func plainContinuesWhereTheLastReaderStopped() {
        var queue = OutputQueue(limit: 100, byteStream: true)
        queue.append(frame("abcdef"))
        queue.consume(2)
        queue.restartHeadFrame()
        queue.prepend([frame("[note]")])
        #expect(drainAll(&queue) == "[note]cdef")
    }
}

@Suite struct InputSplitterTests {
    @Test func linesInterruptsAndBlankLines() {
        var splitter = InputSplitter()
        #expect(splitter.feed(Array("one\r\n  \n\ttwo  \nthr".utf8)) == [.line("one"), .line("\ttwo")])
        #expect(splitter.feed([0x03] + Array("ee\u{03}\n".utf8)) == [.interrupt, .interrupt, .line("three")])
    }

    @Test func anOverlongLineIsDiscardedWhole() {
        var splitter = InputSplitter(maxLineBytes: 4)
        #expect(splitter.feed(Array("abcdefgh\nok\n".utf8)) == [.overlong(8), .line("ok")])
    }
}

@Suite struct FramingTests {
    func text(_ frames: [OutputFrame]) -> String { String(decoding: frames.flatMap(\.bytes), as: UTF8.self) }

    @Test func plainEchoReplyBytes() {
        var framer = WireFramer(wire: .plain, plainMarkers: true)
        let bytes = framer.frames(for: .output(turn: "1", bytes: Array("hello".utf8)))
            + framer.frames(for: .done(turn: "1", status: .ok, exit: 0))
        #expect(bytes.flatMap(\.bytes) == Array("hello".utf8) + [0x0A, 0xE2, 0x9D, 0xAF, 0x20])
    }

    @Test func plainNoticesAreLinesOfTheirOwn() {
        var framer = WireFramer(wire: .plain, plainMarkers: false)
        let out = framer.frames(for: .output(turn: nil, bytes: Array("partial".utf8)))
            + framer.frames(for: .notice("child exited"))
            + framer.frames(for: .done(turn: "x", status: .ok, exit: 0))
        #expect(text(out) == "partial\n[cc-bridge-agent] child exited\n")
    }

    @Test func jsonlMessages() {
        var framer = WireFramer(wire: .jsonl, plainMarkers: true)
        let out = framer.frames(for: .output(turn: "a", bytes: [0x68, 0x22, 0x0A, 0xFF]))
            + framer.frames(for: .done(turn: "a", status: .interrupted, exit: 130))
            + framer.frames(for: .notice("n"))
        #expect(text(out) == #"""
        {"id":"a","type":"chunk","data":"h\"\n\ufffd"}
        {"id":"a","type":"done","status":"interrupted","exit":130}
        {"type":"notice","text":"n"}

        """#)
        #expect(text([framer.hello(pid: 42)]) == #"{"type":"hello","protocol":"ccb-jsonl/1","agent":"cc-bridge-agent","version":"0.1.0","pid":42}"# + "\n")
        #expect(text([framer.heartbeat(ts: 1.5)]) == #"{"type":"heartbeat","ts":1.5}"# + "\n")
    }

    @Test func hostRequests() {
        #expect(HostRequest.decode(line: #"{"id":"7","type":"prompt","text":"a\nb"}"#) == .prompt(id: "7", text: "a\nb"))
        #expect(HostRequest.decode(line: #"{"id":"7","type":"interrupt"}"#) == .interrupt(id: "7"))
        #expect(HostRequest.decode(line: "just words") == .prompt(id: nil, text: "just words"))
        #expect(HostRequest.decode(line: "{not json") == .prompt(id: nil, text: "{not json"))
        #expect(HostRequest.decode(line: #"{"type":"dance"}"#) == .unknown(type: "dance"))
        #expect(HostRequest.decode(line: #"{"type":"prompt","text":"no id"}"#) == .malformed("missingField(\"id\")"))
    }
}
