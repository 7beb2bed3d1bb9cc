// InboxDropTests: the drop directory with the real server, filled by a shell script the way the
// README shows (`printf ... > .tmp && mv .tmp NAME.json`). The server is killed with SIGKILL twice
// in the middle of the run and started again: every file ends in done/ (none lost, none left in
// processing/), and the agent, which logs each prompt it gets, got every one exactly once and in
// the order of the file names.

import BridgeCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct InboxDropTests {
    @Test func killNineInTheMiddleOfADropRunLosesNoFileAndSendsNoneTwice() throws {
        let s = try ServerScratch()
        let got = s.scratch.file("got.log")
        let job = s.scratch.file("job.sh")
        try "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '\(got)'\necho \"got $1\"\n".write(toFile: job, atomically: true, encoding: .utf8)
        chmod(job, 0o755)
        let agent = try Running(try Binaries.agent, ["serve", "--name", "bot", "--pipe-dir", s.pipes, "--heartbeat", "0",
                                                     "--protocol", "plain", "--exec", job])
        defer { agent.signal(SIGKILL) }
        var server = try s.startServer()
        #expect(try eventually(timeout: 30) { try s.tui(["list"]).stdout.contains("idle") }, "the server never read bot")
        let inbox = s.state + "/cc-bridge-tui/inbox/bot"
        guard eventually(timeout: 30, { FileManager.default.fileExists(atPath: inbox + "/done") }) else {
            Issue.record("no drop directory at \(inbox)")
            return
        }
        let count = 200
        let script = """
            cd '\(inbox)' || exit 1
            i=1
            while [ $i -le \(count) ]; do
              n=$(printf '%04d' $i)
              printf '{"text": "drop %s"}' "$n" > ".tmp-$n" && mv ".tmp-$n" "$n.json"
              i=$((i + 1))
            done
            """
        let writer = try run("/bin/sh", ["-c", script], timeout: 60)
        #expect(writer.status == 0, "the writer: \(writer.stderr)")
        func done() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: inbox + "/done")) ?? []).count { $0.hasSuffix(".json") }
        }
        for threshold in [40, 120] {
            guard eventually(timeout: 120, { done() >= threshold }) else {
                Issue.record("only \(done()) done")
                return
            }
            kill(server, SIGKILL)
            #expect(eventually(timeout: 10) { !ServerScratch.alive(server) })
            server = try s.startServer()
        }
        #expect(eventually(timeout: 180) { done() == count },
                "done \(done()), failed \((try? FileManager.default.contentsOfDirectory(atPath: inbox + "/failed")) ?? [])")
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: inbox)) ?? []).filter { $0.hasSuffix(".json") }
        let processing = (try? FileManager.default.contentsOfDirectory(atPath: inbox + "/processing")) ?? []
        #expect(left.isEmpty && processing.isEmpty, "left: \(left), processing: \(processing)")
        let expected = (1...count).map { String(format: "drop %04d", $0) }
        #expect(eventually { ((try? String(contentsOfFile: got, encoding: .utf8)) ?? "").split(separator: "\n").count >= count })
        let prompts = ((try? String(contentsOfFile: got, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        let twice = Dictionary(grouping: prompts, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(twice.isEmpty, "sent twice: \(twice)")
        #expect(prompts == expected, "missing: \(Set(expected).subtracting(prompts).sorted())")
        let history = try s.tui(["history", "bot", "--limit", "5"])
        #expect(history.stdout.contains("from inbox"), "history: \(history.stdout)")
    }
}
