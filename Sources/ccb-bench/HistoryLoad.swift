// HistoryLoad: the `history-load` budget. A history file of 1 GiB (quick: 64 MiB, the memory
// budget's sizes) of realistic records (a pending and a finished version of each turn, ~2 KiB
// replies, one typed input per turn) sits in the state directory of the one instance; the real
// TUI starts on a pseudo-terminal as in the start-up budget. Measured: exec → first frame and the
// TUI's peak RSS (VmHWM) once the first frame is up; baselines from the same run on the same
// file: `wc -l` (reading the file once) and the TUI started with no history at all. The note
// also gives the next start, on the file as the first one compacted it.

import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Bench {
    func historyLoad() throws -> [Row] {
        let target = sizes.memorySingleBytes
        let scratch = try Scratch()
        let dir = try scratch.dir("pipes")
        try makeInstances(["hist"], in: dir)
        let history = scratch.file("state") + "/cc-bridge-tui/history/hist.jsonl"
        try FileManager.default.createDirectory(atPath: (history as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        log("history-load: writing a \(Int(mib(target))) MiB history file, loading it in process")
        _ = try writeHistory(history, bytes: target)
        // The store's own part, in this process: what the TUI runs before its first frame.
        let store = HistoryStore(instance: try InstanceName(validating: "hist"), stateDirectory: scratch.file("state") + "/cc-bridge-tui")
        let l0 = MonotonicClock.now()
        store.load()
        let loadSeconds = MonotonicClock.now() - l0
        let loadedTurns = store.turns.count, loadedInputs = store.inputs.count
        store.releaseLock()
        log("history-load: writing the \(Int(mib(target))) MiB history file again")
        let written = try writeHistory(history, bytes: target)

        let t0 = MonotonicClock.now()
        let wc = try Proc.output(["/usr/bin/env", "wc", "-l", history], timeout: 600)
        let wcSeconds = MonotonicClock.now() - t0
        guard wc.status == 0 else { throw BenchError("wc -l failed: \(wc.text)") }

        log("history-load: the TUI with no history (baseline)")
        let empty = try startTUI(pipes: dir, scratch: try Scratch(), run: "empty")
        log("history-load: the TUI on the \(Int(mib(written))) MiB history")
        let loaded = try startTUI(pipes: dir, scratch: scratch, run: "first")
        let after = (try? FileManager.default.attributesOfItem(atPath: history)[.size] as? NSNumber)?.intValue ?? -1
        log("history-load: the TUI again, on the compacted file")
        let again = try startTUI(pipes: dir, scratch: scratch, run: "again")
        return [
            Row(budget: "history-load", metric: "exec → first frame, \(Int(mib(written))) MiB history", value: loaded.firstFrame * 1000,
                unit: "ms", baseline: wcSeconds * 1000, baselineName: "wc -l on the same file", limit: "≤ 100 ms",
                pass: loaded.firstFrame <= 0.1,
                note: "no history: \(fmt(empty.firstFrame * 1000)) ms; compacted to \(after >> 10) KiB; "
                    + "next start on it: \(fmt(again.firstFrame * 1000)) ms"),
            Row(budget: "history-load", metric: "HistoryStore.load (read from the end + compaction)", value: loadSeconds * 1000,
                unit: "ms", baseline: wcSeconds * 1000, baselineName: "wc -l on the same file", limit: nil, pass: nil,
                note: "in process; \(loadedTurns) turns, \(loadedInputs) inputs kept"),
            Row(budget: "history-load", metric: "peak RSS at first frame", value: Double(loaded.vmhwmKB) / 1024, unit: "MiB",
                baseline: Double(empty.vmhwmKB) / 1024, baselineName: "the TUI with no history", limit: "≤ 64 MiB",
                pass: Double(loaded.vmhwmKB) / 1024 <= 64, note: "VmHWM of the TUI 0.3 s after its first frame"),
        ]
    }

    /// Repeats a ~1 MiB block of records up to `bytes`; returns the size written.
    private func writeHistory(_ path: String, bytes: Int) throws -> Int {
        var block: [UInt8] = []
        let reply = String(AgentText.block().0.prefix(2000).map { $0 < 0x20 || $0 > 0x7E ? "." : Character(UnicodeScalar($0)) })
        var i = 0
        while block.count < 1 << 20 {
            let sent = 1_700_000_000 + Double(i) * 30
            var turn = Turn(id: "bench-\(i)", prompt: "question number \(i): what does this repository do?", sentAt: sent)
            block += HistoryRecord.input(InputEntry(text: turn.prompt, at: sent)).encodedLine() + [0x0A]
            block += HistoryRecord.turn(turn).encodedLine() + [0x0A]
            turn.response = reply
            turn.status = .completed
            turn.firstByteAt = sent + 0.8
            turn.doneAt = sent + 12
            block += HistoryRecord.turn(turn).encodedLine() + [0x0A]
            i += 1
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BenchError("cannot create \(path)") }
        defer { close(fd) }
        var total = 0
        while total < bytes {
            let n = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n == block.count else { throw BenchError("writing \(path) failed") }
            total += n
        }
        return total
    }

    /// Starts the TUI on a pty, waits for its first frame, reads its peak RSS, quits it.
    private func startTUI(pipes: String, scratch: Scratch, run: String) throws -> (firstFrame: Double, vmhwmKB: Int) {
        let stats = scratch.file("stats-\(run).jsonl")
        let t0 = MonotonicClock.now()
        let tui = try PtyProcess([Proc.binDir + "/cc-bridge-tui", "--pipe-dir", pipes], cols: 120, rows: 40,
                                 environment: tuiEnvironment(scratch, stats: stats))
        defer { kill(tui.pid, SIGKILL); _ = try? Proc.wait(tui.pid, timeout: 5) }
        let first = try waitForStat(stats, event: "first_frame", timeout: 120)
        let firstFrame = ((first["monotonic"] as? Double) ?? .nan) - t0
        Proc.sleep(0.3)
        var hwm = 0
        if let text = try? String(contentsOfFile: "/proc/\(tui.pid)/status", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                hwm = Int(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
            }
        }
        tui.type("q")
        _ = try? Proc.wait(tui.pid, timeout: 10)
        return (firstFrame, hwm)
    }
}
