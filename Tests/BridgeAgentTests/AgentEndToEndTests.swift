// End-to-end tests of the cc-bridge-agent binary: real FIFOs in a private directory, real child
// processes. One serialized suite, so timing-sensitive cases do not compete with each other.

import Foundation
import Testing
@testable import BridgeAgent
import BridgeCore

@Suite(.serialized) struct AgentEndToEnd {}

// MARK: - Echo round trips

extension AgentEndToEnd {
    @Suite struct Echo {
        @Test func plainRoundTripIsExactlyThePromptThenTheMarker() throws {
            let f = try AgentFixture(["--echo"])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("hello world  \r")
            try reader.read(untilSuffix: marker)
            #expect(reader.received == Array("hello world".utf8) + [0x0A, 0xE2, 0x9D, 0xAF, 0x20])
        }

        @Test func jsonlRoundTripSaysHelloThenChunkThenDone() throws {
            let f = try AgentFixture(["--echo", "--protocol", "jsonl"])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine(#"{"id":"q1","type":"prompt","text":"two\nlines ✨"}"#)
            try reader.read(untilContains: #""type":"done""#)
            try reader.read(untilSuffix: "\n")
            let messages = reader.jsonLines()
            #expect(messages.count == 3, "\(reader.text)")
            #expect(messages.first?["type"] as? String == "hello")
            #expect(messages.first?["protocol"] as? String == "ccb-jsonl/1")
            #expect(messages.first?["pid"] as? Int == Int(f.agent.pid))
            #expect(messages.dropFirst().first?["data"] as? String == "two\nlines ✨")
            #expect(messages.dropFirst().first?["id"] as? String == "q1")
            #expect(messages.last?["status"] as? String == "ok")
            #expect(messages.last?["exit"] as? Int == 0)
        }

        @Test func jsonlTakesAPlainLineAsAPromptWithAGeneratedId() throws {
            let f = try AgentFixture(["--echo", "--protocol", "jsonl"])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("no json here")
            try reader.read(untilContains: #""type":"done""#)
            #expect(reader.text.contains(#"{"id":"line-1","type":"chunk","data":"no json here"}"#))
        }

        @Test func jsonlWithHeartbeatsOffSleepsWhileAttached() throws {
            // `--heartbeat 0` once left a past heartbeat deadline in the poll timeout: a busy loop.
            let f = try AgentFixture(["--echo", "--protocol", "jsonl", "--heartbeat", "0"])
            let reader = try f.pipes.reader()
            try reader.read(untilContains: #""type":"hello""#)
            func ticks() -> Int {
                let stat = (try? String(contentsOfFile: "/proc/\(f.agent.pid)/stat", encoding: .utf8)) ?? ""
                let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
                return fields.count > 13 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
            }
            let before = ticks()
            usleep(1_000_000)
            #expect(ticks() - before < 10, "the agent should sleep in poll, not spin")
        }

        @Test func jsonlHelloOnEachAttachAndHeartbeatsWhileAttached() throws {
            let f = try AgentFixture(["--echo", "--protocol", "jsonl", "--heartbeat", "0.3"])
            for round in 0..<2 {
                // The agent learns that a reader left from POLLERR on its write end; a reader that
                // reopens within the agent's wake-up latency finds it still attached (no new
                // hello, see docs/protocol.md). Leave it a moment, as a reconnecting host would.
                if round > 0 { usleep(300_000) }
                let reader = try f.pipes.reader()
                try reader.read { bytes in
                    String(decoding: bytes, as: UTF8.self).components(separatedBy: #""type":"heartbeat""#).count >= 3
                }
                #expect(reader.lines.first?.contains(#""type":"hello""#) == true)
                #expect(reader.lines.filter { $0.contains("hello") }.count == 1)
            }
        }
    }
}

// MARK: - Delivery: ordering, reopening, no reader

extension AgentEndToEnd {
    @Suite struct Delivery {
        static func expected(_ prompts: [String]) -> [UInt8] {
            prompts.flatMap { Array(($0 + "\n" + marker).utf8) }
        }

        @Test func thousandPromptsOpenClosePerPromptArriveInOrder() throws {
            let f = try AgentFixture(["--echo"])
            let reader = try f.pipes.reader()
            let prompts = (0..<1000).map { "prompt-\($0)" }
            for prompt in prompts { try f.pipes.sendLine(prompt) }
            let want = Self.expected(prompts)
            try reader.read(timeout: 60) { $0.count >= want.count }
            #expect(reader.received == want)
        }

        @Test func thousandPromptsThroughAKeptOpenWriteEndArriveInOrder() throws {
            let f = try AgentFixture(["--echo"])
            let reader = try f.pipes.reader()
            let writer = try InWriter(path: f.pipes.inPath)
            let prompts = (0..<1000).map { "kept-\($0)" }
            for prompt in prompts { try writer.write(Array((prompt + "\n").utf8)) }
            let want = Self.expected(prompts)
            try reader.read(timeout: 60) { $0.count >= want.count }
            #expect(reader.received == want)
        }

        @Test func hostNonBlockingOpenOfTheInFifoAlwaysSucceedsWhileTheAgentLives() throws {
            let f = try AgentFixture(["--exec", AgentEndToEnd.Children.sleeper])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("busy")  // even while a reply runs and nobody else has it open
            try reader.read(untilContains: "started")
            for _ in 0..<200 {
                let fd = open(f.pipes.inPath, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
                #expect(fd >= 0, "open: \(String(cString: strerror(errno)))")
                if fd >= 0 { close(fd) }
            }
            // Once the agent is gone the same open reports ENXIO (or ENOENT: its FIFO was removed).
            f.agent.stop()
            let fd = open(f.pipes.inPath, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            let code = errno
            #expect(fd < 0 && (code == ENXIO || code == ENOENT))
            if fd >= 0 { close(fd) }
        }

        @Test func survivesTheHostClosingAndReopeningBothFifos100Times() throws {
            let f = try AgentFixture(["--echo"])
            for i in 0..<100 {
                try f.pipes.sendLine("round \(i)")
                let reader = try f.pipes.reader()
                try reader.read(untilSuffix: "round \(i)\n" + marker)
                #expect(reader.text == "round \(i)\n" + marker)
            }
            #expect(Harness.processAlive(f.agent.pid))
        }

        @Test func withNoReaderPromptsNeverBlockAndOnlyTheOldestOutputIsDropped() throws {
            let limit = 4096
            let f = try AgentFixture(["--echo", "--buffer-limit", String(limit)])
            let padding = String(repeating: "x", count: 50)
            let prompts = (0..<300).map { "msg-\($0)-\(padding)" }
            // 3 s without a reader while ~20 KB of replies pile up behind a 4 KiB limit.
            let start = MonotonicClock.now()
            for prompt in prompts {
                try f.pipes.send(prompt + "\n", timeout: 5)
                usleep(10_000)
            }
            let remaining = 3 - (MonotonicClock.now() - start)
            if remaining > 0 { usleep(UInt32(remaining * 1e6)) }

            let reader = try f.pipes.reader()
            try reader.read(untilSuffix: prompts.last! + "\n" + marker)
            let text = reader.text
            let prefix = "[cc-bridge-agent] dropped "
            #expect(text.hasPrefix(prefix), "\(text.prefix(200))")
            let firstLine = text.prefix { $0 != "\n" }
            let dropped = Int(firstLine.dropFirst(prefix.count).prefix { $0.isNumber }) ?? -1
            #expect(firstLine == "\(prefix)\(dropped) bytes of output while no reader was attached")
            let delivered = Array(reader.received.dropFirst(firstLine.utf8.count + 1))
            let all = Self.expected(prompts)
            #expect(delivered.count <= limit)
            #expect(dropped + delivered.count == all.count)
            #expect(delivered == Array(all.suffix(delivered.count)))
            // And the agent still answers at once.
            reader.reset()
            try f.pipes.sendLine("still here")
            try reader.read(untilSuffix: "still here\n" + marker)
        }
    }
}

// MARK: - Child processes

extension AgentEndToEnd {
    @Suite struct Children {
        static let sleeper = #"sh -c 'echo started $$; exec sleep 30' sh"#

        static func pid(in text: String) -> pid_t? {
            guard let range = text.range(of: "started ") else { return nil }
            return pid_t(text[range.upperBound...].prefix { $0.isNumber })
        }

        @Test func execStreamsStdoutAndStderrAndTakesThePromptAsOneArgument() throws {
            let f = try AgentFixture(["--exec", #"sh -c 'echo "out:$1"; echo "err:$#" >&2' sh"#])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("a b; $(touch /tmp/ccb-injected) `x`")
            try reader.read(untilSuffix: marker)
            #expect(reader.text == "out:a b; $(touch /tmp/ccb-injected) `x`\nerr:1\n" + marker)
            #expect(!Harness.exists("/tmp/ccb-injected"))
        }

        @Test func interruptByteStopsARunningExecChild() throws {
            let f = try AgentFixture(["--exec", Self.sleeper])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine("go")
            try reader.read(untilContains: "\n")
            let child = try #require(Self.pid(in: reader.text))
            #expect(Harness.processAlive(child))
            try f.pipes.send("\u{03}")
            try reader.read(timeout: 10, untilSuffix: marker)
            #expect(Harness.waitUntil(timeout: 5) { !Harness.processAlive(child) })
            // The interrupt byte is not a prompt: the next prompt runs normally.
            reader.reset()
            try f.pipes.sendLine("again")
            try reader.read(untilContains: "started")
            try f.pipes.send("\u{03}")
            try reader.read(timeout: 10, untilSuffix: marker)
        }

        @Test func jsonlInterruptEndsTheTurnAsInterrupted() throws {
            let f = try AgentFixture(["--protocol", "jsonl", "--exec", Self.sleeper])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine(#"{"id":"long","type":"prompt","text":"x"}"#)
            try reader.read(untilContains: "started")
            try f.pipes.sendLine(#"{"id":"long","type":"interrupt"}"#)
            try reader.read(timeout: 10, untilContains: #"{"id":"long","type":"done","status":"interrupted","exit":130}"#)
        }

        @Test func promptsArrivingDuringAReplyRunInOrder() throws {
            let f = try AgentFixture(["--exec", #"sh -c 'sleep 0.2; echo "$1"' sh"#])
            let reader = try f.pipes.reader()
            for word in ["first", "second", "third"] { try f.pipes.sendLine(word) }
            try reader.read(timeout: 30) { String(decoding: $0, as: UTF8.self).components(separatedBy: marker).count == 4 }
            #expect(reader.text == "first\n\(marker)second\n\(marker)third\n\(marker)")
        }

        @Test func execChildOutputThatIsNotUTF8BecomesReplacementCharacters() throws {
            let f = try AgentFixture(["--protocol", "jsonl", "--exec", #"printf '\377ok%s'"#])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine(#"{"id":"u","type":"prompt","text":"!"}"#)
            try reader.read(untilContains: #""type":"done""#)
            let data = reader.jsonLines().filter { $0["type"] as? String == "chunk" }.compactMap { $0["data"] as? String }.joined()
            #expect(data == "\u{FFFD}ok!")
        }

        @Test func persistentChildIsRestartedWithBackoff() throws {
            let f = try AgentFixture(["--persistent", #"sh -c 'echo up; exit 1'"#])
            let reader = try f.pipes.reader()
            var seen: [Int: Double] = [:]
            try reader.read(timeout: 30) { bytes in
                let text = String(decoding: bytes, as: UTF8.self)
                for attempt in 1...3 where seen[attempt] == nil
                    && text.contains("(attempt \(attempt)/5)") { seen[attempt] = MonotonicClock.now() }
                return seen.count == 3
            }
            let text = reader.text
            #expect(text.contains("up\n[cc-bridge-agent] child exited with status 1; restarting in 1 s (attempt 1/5)\n"))
            #expect(text.contains("up\n[cc-bridge-agent] child exited with status 1; restarting in 2 s (attempt 2/5)\n"))
            #expect(text.contains("[cc-bridge-agent] child exited with status 1; restarting in 4 s (attempt 3/5)\n"))
            let gap1 = try #require(seen[2]) - #require(seen[1])
            let gap2 = try #require(seen[3]) - #require(seen[2])
            // Lower bounds are the backoff itself; upper bounds leave room for a slow machine.
            #expect(gap1 >= 0.9 && gap1 < 4, "gap \(gap1)")
            #expect(gap2 >= 1.9 && gap2 < 5, "gap \(gap2)")
        }

        @Test func persistentChildGetsEachPromptOnStdinAndJsonlTextMayHaveNewlines() throws {
            let f = try AgentFixture(["--protocol", "jsonl", "--persistent", "cat", "--turn-quiet", "0.5"])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine(#"{"id":"m","type":"prompt","text":"line one\nline two"}"#)
            try reader.read(untilContains: #"{"id":"m","type":"done","status":"ok","exit":0}"#)
            let data = reader.jsonLines().filter { $0["type"] as? String == "chunk" }.compactMap { $0["data"] as? String }.joined()
            #expect(data == "line one\nline two\n")
        }

        @Test func persistentJsonlReportsTheRestartAsANotice() throws {
            let f = try AgentFixture(["--protocol", "jsonl", "--persistent", #"sh -c 'read x; exit 4'"#])
            let reader = try f.pipes.reader()
            try f.pipes.sendLine(#"{"id":"d","type":"prompt","text":"bye"}"#)
            try reader.read(untilContains: "attempt 1/5")
            #expect(reader.text.contains(#"{"id":"d","type":"done","status":"error","exit":4}"#))
            #expect(reader.text.contains(#"{"type":"notice","text":"child exited with status 4; restarting in 1 s (attempt 1/5)"}"#))
        }
    }
}
