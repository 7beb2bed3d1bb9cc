// FaultPasteTUITests: bracketed pastes into the real TUI in tmux (`paste-buffer -p`), with an
// agent's reader on the in-FIFO (Tests/Fixtures/scripted_reader.py). A paste containing 0x03 used
// to interrupt the agent's running reply; one over 1 MiB was cut to exactly 1 MiB and "sent".

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct FaultPasteTUITests {
    static func session() throws -> (TUISession, String) {
        let s = try TUISession(instances: ["bot"], agentOn: [], size: (120, 30))
        let received = s.scratch.file("received")
        s.agents.append(try Running("/usr/bin/env", ["python3", scriptedReader, s.pipes + "/bot.in.fifo", received,
                                                     String(1 << 30), "0", "0"]))
        #expect(try s.tmux.waitFor("bot"))
        return (s, received)
    }

    @Test func aPastedInterruptByteNeverReachesTheAgent() throws {
        let (s, received) = try Self.session()
        try s.tmux.tmux(["set-buffer", "-b", "p", "stop\u{03}here \u{1B}[31mred\u{1B}[0m\tnow"])
        try s.tmux.tmux(["paste-buffer", "-p", "-b", "p", "-t", s.tmux.session])
        #expect(try s.tmux.waitFor("stophere red now"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("removed 3 control"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("Enter")
        let data = { Array(FileManager.default.contents(atPath: received) ?? Data()) }
        #expect(eventually { data().last == 0x0A }, "the agent got: \(data())")
        #expect(String(decoding: data(), as: UTF8.self) == "stophere red now\n")
        #expect(!data().contains(0x03))
    }

    @Test func aPasteOverOneMebibyteIsRefusedWithBothSizes() throws {
        let (s, received) = try Self.session()
        let file = s.scratch.file("big-paste")
        try String(repeating: "q", count: 3 << 19).write(toFile: file, atomically: true, encoding: .utf8)   // 1,572,864 bytes
        try s.tmux.tmux(["load-buffer", "-b", "big", file])
        try s.tmux.tmux(["paste-buffer", "-p", "-b", "big", "-t", s.tmux.session])
        #expect(try s.tmux.waitFor("1,572,864", timeout: 60), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("1,048,576"))
        #expect(try !s.tmux.screen().contains("qqqqqqqqqq"), "nothing of the paste may be inserted")
        try s.tmux.send("Enter")
        usleep(500_000)
        #expect((FileManager.default.contents(atPath: received) ?? Data()).isEmpty, "nothing may be sent")
    }
}
