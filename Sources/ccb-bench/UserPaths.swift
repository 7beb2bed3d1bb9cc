// UserPaths: the measurements the rows for a user's paths share (`cat`, the TUI's ingest path,
// the engine's own decode rate), each taken once per run on the same data; the `tail` row (the
// real `cc-bridge-tui tail --follow` draining that data); and the guard: a user path below a
// tenth of the engine's own rate in the same build fails the run (exit 1), so a 100× slowdown
// like tail's String-per-line batches cannot land silently.

import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Measurements several rows of one run share, taken on first use.
final class RunMeasurements {
    var cat: Double?
    var tuiPath: IngestResult?
    var engine: Double?
}

extension Bench {
    /// The bytes every ingest-like row moves: whole AgentText blocks covering `sizes.ingestBytes`.
    var ingestPayload: (bytes: Int, lines: Int) {
        let (block, lines) = AgentText.block()
        let blocks = AgentText.blocks(for: sizes.ingestBytes, blockSize: block.count)
        return (blocks * block.count, blocks * lines)
    }

    /// `cat FIFO > /dev/null`, MiB/s (writer start → cat exit).
    func catRate() throws -> Double {
        if let rate = measured.cat { return rate }
        log("ingest: cat baseline, \(Int(mib(ingestPayload.bytes))) MiB")
        let scratch = try Scratch()
        let dir = try scratch.dir("pipes")
        try makeInstances(["cat"], in: dir)
        let fifo = dir + "/cat" + InstanceScanner.outSuffix
        let stamp = scratch.file("stamp")
        let cat = try Proc.spawn(["/bin/cat", fifo])
        let writer = try Proc.spawn([Proc.selfExe, "child-write", String(sizes.ingestBytes), fifo],
                                    environment: ["CCB_BENCH_STAMP": stamp])
        try Proc.wait(cat)
        let t1 = MonotonicClock.now()
        try Proc.wait(writer)
        let rate = mib(ingestPayload.bytes) / (t1 - (try writerStart(stamp)))
        measured.cat = rate
        return rate
    }

    /// The TUI's path (`child-ingest hub`: InstanceHub events through the TUI's reducer).
    func tuiPath() throws -> IngestResult {
        if let result = measured.tuiPath { return result }
        log("ingest: the TUI's path (InstanceHub → reducer → scrollback)")
        let result = try childIngest(mode: "hub", bytesEach: sizes.ingestBytes, instances: 1)
        measured.tuiPath = result
        return result
    }

    /// The engine's own rate: `child-feed`'s decode time alone (StreamDecoder → OutputProcessor →
    /// OutputBatch in one process, no pipe, no scrollback), MiB/s.
    func engineRate() throws -> Double {
        if let rate = measured.engine { return rate }
        log("ingest: the engine's own decode rate (child-feed)")
        let out = try Proc.output([Proc.selfExe, "child-feed", String(sizes.ingestBytes)], timeout: 300)
        // "decode 1.234 ns/byte, apply ..."
        guard out.status == 0, let field = out.text.split(separator: " ").dropFirst().first,
              let nsPerByte = Double(field), nsPerByte > 0 else {
            throw BenchError("child-feed failed (status \(out.status)): \(out.text)")
        }
        let rate = 1e9 / nsPerByte / 1_048_576
        measured.engine = rate
        return rate
    }

    /// The guard row: `rate` of a user path against a tenth of the engine's own rate.
    func guardRow(_ path: String, rate: Double, engine: Double) -> Row {
        Row(budget: "guard", metric: "\(path) vs engine decode", value: rate, unit: "MiB/s", baseline: engine,
            baselineName: "child-feed decode, same build", limit: "≥ 0.1 × engine (fails the run)",
            pass: rate >= 0.1 * engine, note: "CI guard")
    }

    // MARK: tail

    func tail() throws -> [Row] {
        let catRate = try catRate()
        let tui = try tuiPath()
        let tuiRate = mib(tui.bytes) / tui.seconds
        let engine = try engineRate()
        let (bytes, lines) = ingestPayload
        log("tail: cc-bridge-tui tail --follow, \(Int(mib(bytes))) MiB")
        // Long enough for a path at a tenth of the engine's rate, twice over; a slower one is cut
        // off and its rate so far reported.
        let deadline = 10 + 2 * mib(bytes) / (0.1 * engine)
        let run = try tailRun(bytes: bytes, expectedLines: lines, deadline: deadline)
        let rate = mib(bytes) * Double(run.lines) / Double(lines) / run.seconds
        let note = run.lines < lines ? "cut off after \(fmt(run.seconds)) s: \(run.lines) of \(lines) lines"
            : "\(Int(mib(bytes))) MiB, cpu \(fmt(run.cpu)) s"
        return [
            Row(budget: "tail", metric: "tail --follow vs cat", value: rate, unit: "MiB/s", baseline: catRate,
                baselineName: "cat FIFO > /dev/null", limit: nil, pass: nil, note: note),
            Row(budget: "tail", metric: "tail --follow vs TUI path", value: rate, unit: "MiB/s", baseline: tuiRate,
                baselineName: "child-ingest hub, same run", limit: "≥ 0.8 × TUI path",
                pass: rate >= 0.8 * tuiRate, note: "stdout: a file on tmpfs"),
            guardRow("tail --follow", rate: rate, engine: engine),
        ]
    }

    /// Runs the real `cc-bridge-tui tail NAME --follow` (next to ccb-bench) on a fresh instance,
    /// its standard output a file in /dev/shm (tmpfs; no extra process copies the output, as none
    /// does on the TUI path), and feeds it `bytes` of AgentText. Time: writer start → the file
    /// holds every line (its size polled each millisecond), or the deadline.
    func tailRun(bytes: Int, expectedLines: Int, deadline: Double) throws -> (seconds: Double, lines: Int, cpu: Double) {
        let scratch = try Scratch()
        let dir = try scratch.dir("pipes")
        try makeInstances(["tail"], in: dir)
        let output = FileManager.default.fileExists(atPath: "/dev/shm")
            ? "/dev/shm/ccb-bench-tail.\(getpid())" : scratch.file("tail.out")
        defer { unlink(output) }
        let (perBlock, blockLines) = Self.sanitizedBlock()
        let expected = perBlock * (expectedLines / blockLines)
        let tail = try Proc.spawn([Proc.binDir + "/cc-bridge-tui", "tail", "tail", "--follow", "--pipe-dir", dir],
                                  stdout: output, environment: tuiEnvironment(scratch, stats: scratch.file("stats")))
        let stamp = scratch.file("stamp")
        let fifo = dir + "/tail" + InstanceScanner.outSuffix
        let writer = try Proc.spawn([Proc.selfExe, "child-write", String(bytes), fifo], environment: ["CCB_BENCH_STAMP": stamp])
        let start = MonotonicClock.now()
        var size = 0
        var st = stat()
        while size < expected && MonotonicClock.now() - start < deadline {
            usleep(1000)
            if stat(output, &st) == 0 { size = Int(st.st_size) }
            if waitpid(tail, nil, WNOHANG) == tail { throw BenchError("tail exited early") }
        }
        let t1 = MonotonicClock.now()
        let cpu = Double(Proc.cpuTicks(tail) ?? 0) / Proc.ticksPerSecond
        kill(tail, SIGTERM)
        _ = try? Proc.wait(tail, timeout: 10)
        if size < expected { kill(writer, SIGKILL) }
        _ = try? Proc.wait(writer, timeout: 10)
        guard size > 0 else { throw BenchError("tail printed nothing within \(fmt(deadline)) s") }
        guard size <= expected else { throw BenchError("tail printed \(size) bytes, expected \(expected)") }
        // Lines printed, as a share of the expected output (every line is of the same blocks).
        let lines = size == expected ? expectedLines : Int(Double(expectedLines) * Double(size) / Double(expected))
        return (t1 - (try writerStart(stamp)), lines, cpu)
    }

    /// What tail prints for one AgentText block (sanitized lines, each with its newline), and the
    /// block's line count. Blocks end on a line boundary with no style open, so every block
    /// prints the same.
    static func sanitizedBlock() -> (bytes: Int, lines: Int) {
        let (block, lines) = AgentText.block()
        var decoder = StreamDecoder(maxLineBytes: TUISettings().maxLineBytes)
        var batch = OutputBatch()
        var events: [StreamEvent] = []
        block.withUnsafeBytes { decoder.feed($0, into: &batch, events: &events) }
        return (batch.finishedTextByteCount, lines)
    }

    /// The CLOCK_MONOTONIC time a child-write recorded when its FIFOs were open.
    func writerStart(_ stamp: String) throws -> Double {
        guard let t0 = (try? String(contentsOfFile: stamp, encoding: .utf8)).flatMap(Double.init) else {
            throw BenchError("the writer left no start time")
        }
        return t0
    }
}
