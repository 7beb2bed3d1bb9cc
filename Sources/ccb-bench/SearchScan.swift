// SearchScan: the `search` budget. The TUI's real scrollback is filled with `searchLines` lines
// (1,000,000; quick: 100,000) of agent-like output through the reducer's own `.output` action (the
// OutputProcessor makes the batches, as from a FIFO), then the `/` search runs through the
// reducer as keys would run it (search, the query typed, confirmInput) and its match count is
// taken. The baseline is `grep -F -c` on a file holding the same bytes (the scrollback's lines,
// exported). The query has capitals, so smart case makes it case-sensitive, as grep -F is. Best of
// three runs each; the counts must agree.

import BridgeCore
import BridgeTUI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Bench {
    static let searchQuery = "FIFO line"

    func searchScan() throws -> [Row] {
        let lines = sizes.searchLines
        log("search: filling the TUI's scrollback with \(lines) lines")
        var settings = TUISettings()
        settings.scrollbackLines = lines + 1
        settings.scrollbackBytes = 1 << 30
        settings.scrollbackTotalBytes = 1 << 30
        let info = InstanceInfo(name: "big", inPath: "/nonexistent/big.in.fifo", outPath: "/nonexistent/big.out.fifo", status: .ready)
        var state = AppState(settings: settings, size: Size(rows: 40, cols: 120), instances: [info])
        let (block, perBlock) = AgentText.block()
        var processor = OutputProcessor()
        var fed = 0
        while fed < lines {
            var batch = OutputBatch()
            if lines - fed >= perBlock {
                processor.feed(block, into: &batch)
                fed += perBlock
            } else {
                // The last lines: whole lines of the block, up to the count.
                var end = 0, taken = 0
                while taken < lines - fed, let nl = block[end...].firstIndex(of: 0x0A) { end = nl + 1; taken += 1 }
                processor.feed(Array(block[..<end]), into: &batch)
                fed += taken
            }
            _ = reduce(state: &state, action: .output(instance: "big", batch: batch))
        }
        guard let held = state.activeInstance?.scrollback, held.count == lines else {
            throw BenchError("search: the scrollback holds \(state.activeInstance?.scrollback.count ?? 0) lines, not \(lines)")
        }
        // The same bytes for grep: each line's text and its newline.
        let scratch = try Scratch()
        let path = scratch.file("scrollback.txt")
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw BenchError("search: cannot write \(path)") }
        var chunk: [UInt8] = []
        var bytes = 0
        for n in held.firstLineNumber..<held.endLineNumber {
            held.withLine(at: n) { text, _, _ in chunk.append(contentsOf: text) }
            chunk.append(0x0A)
            if chunk.count >= 1 << 20 { handle.write(Data(chunk)); bytes += chunk.count; chunk.removeAll(keepingCapacity: true) }
        }
        handle.write(Data(chunk)); bytes += chunk.count
        try handle.close()

        var tuiBest = Double.infinity, grepBest = Double.infinity
        var tuiCount = -1, grepCount = -1
        for _ in 0..<3 {
            _ = reduce(state: &state, action: .command(.search))
            for c in Bench.searchQuery { _ = reduce(state: &state, action: .key(.char(c))) }
            let t0 = MonotonicClock.now()
            _ = reduce(state: &state, action: .command(.confirmInput))
            tuiBest = min(tuiBest, MonotonicClock.now() - t0)
            tuiCount = state.activeInstance?.search.matches.count ?? -1
            let g0 = MonotonicClock.now()
            let grep = try Proc.output(["/usr/bin/env", "grep", "-F", "-c", Bench.searchQuery, path], timeout: 600)
            grepBest = min(grepBest, MonotonicClock.now() - g0)
            guard grep.status == 0, let count = Int(grep.text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw BenchError("search: grep -F -c failed (status \(grep.status)): \(grep.text)")
            }
            grepCount = count
        }
        guard tuiCount == grepCount else {
            throw BenchError("search: the TUI counted \(tuiCount) matching lines, grep -F -c \(grepCount)")
        }
        let ratio = tuiBest / grepBest
        return [
            Row(budget: "search", metric: "`/` over \(lines) lines, count matches", value: tuiBest * 1000, unit: "ms",
                baseline: grepBest * 1000, baselineName: "grep -F -c, same bytes", limit: "≤ 3 × grep",
                pass: ratio <= 3, note: "\(tuiCount) matching lines, \(fmt(mib(bytes))) MiB, best of 3"),
        ]
    }
}
