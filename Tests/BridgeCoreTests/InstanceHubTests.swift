// InstanceHubTests: the engine on real FIFOs: instances found live, FIFOs replaced under it,
// prompts delivered in order in both protocols, and no stall when nobody listens.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// Collects what the hub reports.
final class HubRecorder {
    var instances: [InstanceInfo] = []
    var lines: [String] = []
    var streamEvents: [(String, StreamEvent)] = []
    var attachments: [(String, AttachmentState)] = []
    var delivered: [(String, String, SendError?)] = []
    var scrollback = Scrollback()

    func handle(_ event: EngineEvent) {
        switch event {
        case .instancesChanged(let list, _): instances = list
        case .output(_, let batch):
            scrollback.apply(batch)
            lines = (0..<scrollback.count).map { scrollback[$0].text }
        case .stream(let name, let event): streamEvents.append((name, event))
        case .attachment(let name, let state): attachments.append((name, state))
        case .delivered(let name, let id, let error): delivered.append((name, id, error))
        }
    }
}

@Suite struct InstanceHubTests {
    func makeHub(_ dir: String, _ loop: EventLoop, _ recorder: HubRecorder) -> InstanceHub {
        var options = InstanceHub.Options(directory: dir)
        options.rescanInterval = 0.05
        return InstanceHub(loop: loop, options: options) { recorder.handle($0) }
    }

    @Test func instancesAppearAndVanishWhileRunning() throws {
        let tmp = TempDir()
        let loop = try EventLoop()
        let recorder = HubRecorder()
        let hub = makeHub(tmp.path, loop, recorder)
        hub.start()
        #expect(recorder.instances.isEmpty)
        try FifoSafety.create(tmp.file("a.in.fifo"))
        try FifoSafety.create(tmp.file("a.out.fifo"))
        #expect(spin(loop, timeout: 10) { recorder.instances.map(\.name) == ["a"] })
        #expect(spin(loop, timeout: 10) { recorder.attachments.contains { $0.0 == "a" && $0.1 == .attached } })
        unlink(tmp.file("a.in.fifo"))
        #expect(spin(loop, timeout: 10) { recorder.instances.first?.brokenReason == "in-FIFO missing" })
        unlink(tmp.file("a.out.fifo"))
        #expect(spin(loop, timeout: 10) { recorder.instances.isEmpty })
    }

    /// Above `quickRescanAbove` instances the periodic rescan looks at the directory's stat
    /// alone: a change to the directory (a new instance) is still seen at the next rescan, well
    /// before the next full scan; a FIFO made unsafe by chmod (the directory does not change) at
    /// the next full scan.
    @Test func withManyInstancesTheQuickRescanStillSeesEveryChange() throws {
        let tmp = TempDir()
        let (loop, recorder, hub) = try eightInstances(in: tmp) {
            $0.fullRescanTicks = 100   // 5 s between full scans
            $0.useEvents = false       // the timer alone (below: with inotify)
        }
        defer { hub.stop() }
        #expect(spin(loop, timeout: 10) { recorder.instances.count == 8 })
        // Past the second in which a directory change is too recent to trust.
        _ = spin(loop, timeout: 1.5) { false }
        try FifoSafety.create(tmp.file("new.in.fifo"))
        try FifoSafety.create(tmp.file("new.out.fifo"))
        #expect(spin(loop, timeout: 2.5) { recorder.instances.contains { $0.name == "new" && $0.isReady } },
                "a new instance must be seen at the next rescan, not the next full scan")
        _ = spin(loop, timeout: 1.5) { false }
        #expect(chmod(tmp.file("i3.out.fifo"), 0o666) == 0)
        #expect(spin(loop, timeout: 15) { recorder.instances.contains { $0.name == "i3" && !$0.isReady } },
                "a FIFO made unsafe must be seen at the next full scan")
    }

    /// With pipe_dir watched (inotify), the rescan timer scans only after an event: a new
    /// instance, a FIFO made unsafe by chmod (the directory does not change) and a removed one are
    /// each seen at the next rescan, with no full scan on the timer for minutes.
    @Test func withTheDirectoryWatchedEveryChangeIsSeenAtTheNextRescan() throws {
        let tmp = TempDir()
        let (loop, recorder, hub) = try eightInstances(in: tmp) { $0.fullRescanTicks = 100_000 }
        defer { hub.stop() }
        #expect(spin(loop, timeout: 10) { recorder.instances.count == 8 })
        _ = spin(loop, timeout: 1.5) { false }
        #expect(chmod(tmp.file("i3.out.fifo"), 0o666) == 0)
        #expect(spin(loop, timeout: 3) { recorder.instances.contains { $0.name == "i3" && !$0.isReady } },
                "a FIFO made unsafe must be seen at the next rescan")
        try FifoSafety.create(tmp.file("new.in.fifo"))
        try FifoSafety.create(tmp.file("new.out.fifo"))
        #expect(spin(loop, timeout: 3) { recorder.instances.contains { $0.name == "new" && $0.isReady } })
        unlink(tmp.file("i5.in.fifo"))
        unlink(tmp.file("i5.out.fifo"))
        #expect(spin(loop, timeout: 3) { !recorder.instances.contains { $0.name == "i5" } })
        #expect(spin(loop, timeout: 3) { recorder.attachments.contains { $0.0 == "i5" && $0.1 != .attached } })
    }

    /// Eight instances i0…i7 in `tmp` and a started hub above `quickRescanAbove` (4) that
    /// rescans every 0.05 s, its other options as `configure` sets them.
    func eightInstances(in tmp: TempDir, _ configure: (inout InstanceHub.Options) -> Void) throws -> (EventLoop, HubRecorder, InstanceHub) {
        for i in 0..<8 {
            try FifoSafety.create(tmp.file("i\(i).in.fifo"))
            try FifoSafety.create(tmp.file("i\(i).out.fifo"))
        }
        let loop = try EventLoop()
        let recorder = HubRecorder()
        var options = InstanceHub.Options(directory: tmp.path)
        options.rescanInterval = 0.05
        options.quickRescanAbove = 4
        configure(&options)
        let hub = InstanceHub(loop: loop, options: options) { recorder.handle($0) }
        hub.start()
        return (loop, recorder, hub)
    }

    @Test func replacedOutFifoIsReattachedAndOutputContinues() throws {
        let tmp = TempDir()
        try FifoSafety.create(tmp.file("a.in.fifo"))
        try FifoSafety.create(tmp.file("a.out.fifo"))
        let loop = try EventLoop()
        let recorder = HubRecorder()
        let hub = makeHub(tmp.path, loop, recorder)
        hub.start()
        func write(_ text: String) throws {
            let fd = try FifoSafety.open(tmp.file("a.out.fifo"), flags: O_WRONLY)
            _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
            close(fd)
        }
        try write("before\n")
        #expect(spin(loop, timeout: 10) { recorder.lines.contains("before") })
        // A container restart: the FIFO is deleted and made anew.
        unlink(tmp.file("a.out.fifo"))
        try FifoSafety.create(tmp.file("a.out.fifo"))
        #expect(spin(loop, timeout: 10) {
            recorder.attachments.contains { if case .reattaching = $0.1 { return true } else { return false } }
        })
        #expect(spin(loop, timeout: 10) { recorder.attachments.filter { $0.1 == .attached }.count >= 2 })
        try write("after\n")
        #expect(spin(loop, timeout: 10) { recorder.lines.contains("after") })
    }

    @Test func outFifoReplacedByASymlinkIsRefused() throws {
        let tmp = TempDir()
        try FifoSafety.create(tmp.file("a.in.fifo"))
        try FifoSafety.create(tmp.file("a.out.fifo"))
        let loop = try EventLoop()
        let recorder = HubRecorder()
        let hub = makeHub(tmp.path, loop, recorder)
        hub.start()
        let victim = tmp.file("victim.txt")
        try "untouched".write(toFile: victim, atomically: true, encoding: .utf8)
        unlink(tmp.file("a.out.fifo"))
        #expect(symlink(victim, tmp.file("a.out.fifo")) == 0)
        #expect(spin(loop, timeout: 10) { recorder.instances.first?.brokenReason == "out-FIFO is a symlink" })
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "untouched")
    }

    @Test func promptsAreDeliveredInOrderAndFailWhenNobodyListens() throws {
        let tmp = TempDir()
        try FifoSafety.create(tmp.file("a.in.fifo"))
        try FifoSafety.create(tmp.file("a.out.fifo"))
        let loop = try EventLoop()
        let recorder = HubRecorder()
        let hub = makeHub(tmp.path, loop, recorder)
        hub.start()
        hub.send("nobody home", to: "a", promptID: "p0", timeout: 0.2)
        #expect(spin(loop, timeout: 10) { recorder.delivered.count == 1 })
        if case .agentNotListening = recorder.delivered.first?.2 {} else {
            Issue.record("expected agentNotListening, got \(String(describing: recorder.delivered.first?.2))")
        }
        // An upstream-style reader that closes and reopens after every line.
        let reader = try Child.python("""
        import sys
        got = []
        while len(got) < 200:
            with open(sys.argv[1], "rb") as f:
                for line in f:
                    got.append(line.decode().strip())
        print("|".join(got))
        """, [tmp.file("a.in.fifo")])
        for i in 1...200 { hub.send("prompt \(i)\nline two", to: "a", promptID: "p\(i)", timeout: 20) }
        #expect(spin(loop, timeout: 60) { recorder.delivered.count == 201 })
        #expect(recorder.delivered.dropFirst().allSatisfy { $0.2 == nil })
        #expect(recorder.delivered.dropFirst().map(\.1) == (1...200).map { "p\($0)" })
        // The reader leaves at EOF, which comes when the loop lets go of the last write end.
        #expect(spin(loop, timeout: 20) { !reader.process.isRunning })
        let got = reader.output()
        #expect(got.trimmingCharacters(in: .newlines) == (1...200).map { "prompt \($0) line two" }.joined(separator: "|"))
    }

    @Test func framedAgentGetsJSONPrompts() throws {
        let tmp = TempDir()
        try FifoSafety.create(tmp.file("a.in.fifo"))
        try FifoSafety.create(tmp.file("a.out.fifo"))
        let loop = try EventLoop()
        let recorder = HubRecorder()
        let hub = makeHub(tmp.path, loop, recorder)
        hub.start()
        // The agent announces the framed protocol, then echoes the first in-FIFO line it reads.
        let agent = try Child.python("""
        import os, sys, json
        d = sys.argv[1]
        out = os.open(d + "/a.out.fifo", os.O_WRONLY)
        os.write(out, b'{"type":"hello","protocol":"ccb-jsonl/1","agent":"t","version":"1","pid":1}\\n')
        with open(d + "/a.in.fifo", "rb") as f:
            line = f.readline()
        msg = json.loads(line)
        os.write(out, (json.dumps({"id": msg["id"], "type": "chunk", "data": "got: " + msg["text"] + "\\n"}) + "\\n").encode())
        os.write(out, (json.dumps({"id": msg["id"], "type": "done", "status": "ok", "exit": 0}) + "\\n").encode())
        """, [tmp.path])
        #expect(spin(loop, timeout: 20) { hub.mode(of: "a") == .framed })
        hub.send("two\nlines", to: "a", promptID: "turn-1", timeout: 10)
        #expect(spin(loop, timeout: 20) { recorder.lines.contains("lines") })
        #expect(recorder.lines.suffix(2) == ["got: two", "lines"])
        // The done frame is a separate write: it may come in a later read than the chunk.
        #expect(spin(loop, timeout: 20) { recorder.streamEvents.contains { $0.1 == .done(id: "turn-1", status: .ok, exit: 0) } })
        #expect(agent.waitForExit(timeout: 10))
    }

    @Test func floodIsReadInBudgetedTurns() throws {
        let tmp = TempDir()
        try FifoSafety.create(tmp.file("a.in.fifo"))
        try FifoSafety.create(tmp.file("a.out.fifo"))
        let loop = try EventLoop()
        let recorder = HubRecorder()
        var options = InstanceHub.Options(directory: tmp.path)
        options.readBudget = 64 << 10
        var batches = 0
        var largestBatch = 0
        let hub = InstanceHub(loop: loop, options: options) { event in
            if case .output(_, let batch) = event {
                batches += 1
                largestBatch = max(largestBatch, batch.lines.count)
            }
            recorder.handle(event)
        }
        hub.start()
        let writer = try Child.python("""
        import os, sys
        fd = os.open(sys.argv[1], os.O_WRONLY)
        line = b"x" * 99 + b"\\n"
        for _ in range(40000): os.write(fd, line)
        """, [tmp.file("a.out.fifo")])
        #expect(spin(loop, timeout: 60) { recorder.scrollback.endLineNumber >= 40000 })
        #expect(writer.waitForExit(timeout: 10))
        // 4 MB at 64 KiB per turn: the loop came back to poll (and so to the keyboard) many times.
        #expect(batches >= 4_000_000 / (64 << 10))
        #expect(largestBatch <= (64 << 10) / 100 + 2)
    }
}
