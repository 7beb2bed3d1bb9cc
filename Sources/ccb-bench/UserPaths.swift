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
        let rate = try measureCatRate()
        measured.cat = rate
        return rate
    }

    /// `cat` on the ingest payload now (not the figure kept for the run's other rows).
    func measureCatRate() throws -> Double {
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
        return mib(ingestPayload.bytes) / (t1 - (try writerStart(stamp)))
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
        let bytes = ingestPayload.bytes
        log("tail: cc-bridge-tui tail --follow, \(Int(mib(bytes))) MiB")
        // Long enough for a path at a tenth of the engine's rate, twice over; a slower one is cut
        // off and its rate so far reported.
        let deadline = 10 + 2 * mib(bytes) / (0.1 * engine)
        let run = try tailRun(bytes: bytes, deadline: deadline)
        let rate = mib(run.bytes) / run.seconds
        let note = run.bytes < bytes ? "cut off after \(fmt(run.seconds)) s: \(Int(mib(run.bytes))) of \(Int(mib(bytes))) MiB"
            : "\(Int(mib(bytes))) MiB, cpu \(fmt(run.cpu)) s"
        return [
            Row(budget: "tail", metric: "tail --follow vs cat", value: rate, unit: "MiB/s", baseline: catRate,
                baselineName: "cat FIFO > /dev/null", limit: nil, pass: nil, note: note),
            Row(budget: "tail", metric: "tail --follow vs TUI path", value: rate, unit: "MiB/s", baseline: tuiRate,
                baselineName: "child-ingest hub, same run", limit: "≥ 0.8 × TUI path",
                pass: rate >= 0.8 * tuiRate, note: "stdout: /dev/null, as cat's"),
            guardRow("tail --follow", rate: rate, engine: engine),
        ]
    }

    /// Runs the real `cc-bridge-tui tail NAME --follow` (next to ccb-bench) on a fresh instance,
    /// its standard output /dev/null as `cat`'s is, and feeds it `bytes` of AgentText. Time:
    /// writer start → the writer has finished and the FIFO is empty (FIONREAD on a read end the
    /// harness opens once tail is attached and never reads), polled each millisecond; tail is then
    /// at most one read (256 KiB) from done. At the deadline, what it took so far: the writer's
    /// bytes written (/proc/PID/io) minus those still in the FIFO.
    func tailRun(bytes: Int, deadline: Double) throws -> (seconds: Double, bytes: Int, cpu: Double) {
        let scratch = try Scratch()
        let dir = try scratch.dir("pipes")
        try makeInstances(["tail"], in: dir)
        let tail = try Proc.spawn([Proc.binDir + "/cc-bridge-tui", "tail", "tail", "--follow", "--pipe-dir", dir],
                                  environment: tuiEnvironment(scratch, stats: scratch.file("stats")))
        defer { kill(tail, SIGTERM); _ = try? Proc.wait(tail, timeout: 10) }
        let stamp = scratch.file("stamp")
        let fifo = dir + "/tail" + InstanceScanner.outSuffix
        // The writer's open returns once tail has the FIFO open; it then writes the stamp.
        let writer = try Proc.spawn([Proc.selfExe, "child-write", String(bytes), fifo], environment: ["CCB_BENCH_STAMP": stamp])
        var writerDone = false
        defer { if !writerDone { kill(writer, SIGKILL); _ = try? Proc.wait(writer, timeout: 10) } }
        let start = MonotonicClock.now()
        while !FileManager.default.fileExists(atPath: stamp) {
            guard MonotonicClock.now() - start < 20 else { throw BenchError("tail did not open its FIFO") }
            usleep(1000)
        }
        let probe = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard probe >= 0 else { throw BenchError("cannot open \(fifo)") }
        defer { close(probe) }
        func queued() -> Int {
            var n: Int32 = 0
            return ioctl(probe, UInt(0x541B), &n) == 0 ? Int(n) : 0   // FIONREAD
        }
        var consumed = 0
        while true {
            usleep(1000)
            if !writerDone, waitpid(writer, nil, WNOHANG) == writer { writerDone = true }
            if writerDone && queued() == 0 { consumed = bytes; break }
            if MonotonicClock.now() - start >= deadline {
                consumed = max(0, (writerDone ? bytes : Self.bytesWritten(writer)) - queued())
                break
            }
            if waitpid(tail, nil, WNOHANG) == tail { throw BenchError("tail exited early") }
        }
        let t1 = MonotonicClock.now()
        let cpu = Double(Proc.cpuTicks(tail) ?? 0) / Proc.ticksPerSecond
        return (t1 - (try writerStart(stamp)), consumed, cpu)
    }

    /// `wchar` of /proc/PID/io: what a process has written so far.
    static func bytesWritten(_ pid: pid_t) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("wchar:") {
            return Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }

    /// The CLOCK_MONOTONIC time a child-write recorded when its FIFOs were open.
    func writerStart(_ stamp: String) throws -> Double {
        guard let t0 = (try? String(contentsOfFile: stamp, encoding: .utf8)).flatMap(Double.init) else {
            throw BenchError("the writer left no start time")
        }
        return t0
    }
}
