// Budgets: one function per budget of the performance issue. Each returns report rows.

import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct Sizes {
    var ingestBytes: Int
    var upstreamBytes: Int
    var roundTrips: Int
    var firehoseBytes: Int
    var memorySingleBytes: Int
    var memoryManyBytesEach: Int
    var idleSeconds: Double
    var keys: Int
    var searchLines: Int

    static let full = Sizes(ingestBytes: 256 << 20, upstreamBytes: 8 << 20, roundTrips: 1000, firehoseBytes: 200 << 20,
                            memorySingleBytes: 1 << 30, memoryManyBytesEach: 10 << 20, idleSeconds: 30, keys: 100,
                            searchLines: 1_000_000)
    static let quick = Sizes(ingestBytes: 16 << 20, upstreamBytes: 1 << 20, roundTrips: 200, firehoseBytes: 20 << 20,
                             memorySingleBytes: 64 << 20, memoryManyBytesEach: 1 << 20, idleSeconds: 3, keys: 20,
                             searchLines: 100_000)
}

func mib(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

/// The index of the median of `values` (the upper one of an even count): a row measured in
/// rounds reports the round with the median ratio.
func medianIndex(_ values: [Double]) -> Int {
    values.indices.sorted { values[$0] < values[$1] }[values.count / 2]
}

struct Bench {
    let sizes: Sizes
    let log: (String) -> Void
    let measured = RunMeasurements()

    /// Runs child-ingest in its own process and decodes its report.
    func childIngest(mode: String, bytesEach: Int, instances: Int) throws -> IngestResult {
        let scratch = try Scratch()
        let dir = try scratch.dir("pipes")
        let names = (0..<instances).map { String(format: "i%03d", $0) }
        try makeInstances(names, in: dir)
        let out = try Proc.output([Proc.selfExe, "child-ingest", mode, String(bytesEach), dir] + names, timeout: 900)
        guard out.status == 0, let line = out.text.split(separator: "\n").last,
              let result = try? JSONDecoder().decode(IngestResult.self, from: Data(line.utf8)) else {
            throw BenchError("child-ingest \(mode) failed (status \(out.status)): \(out.text)")
        }
        return result
    }

    // MARK: 1. Ingest

    func ingest() throws -> [Row] {
        let bytes = ingestPayload.bytes
        let catRate = try catRate()
        let ours = try tuiPath()
        let ourRate = mib(ours.bytes) / ours.seconds
        let engine = try engineRate()
        log("ingest: upstream reader algorithm, \(Int(mib(sizes.upstreamBytes))) MiB")
        let up = try childIngest(mode: "upstream", bytesEach: sizes.upstreamBytes, instances: 1)
        let upRate = mib(up.bytes) / up.seconds
        return [
            Row(budget: "ingest", metric: "throughput vs cat", value: ourRate, unit: "MiB/s",
                baseline: catRate, baselineName: "cat FIFO > /dev/null", limit: "≥ 0.5 × cat",
                pass: ourRate >= 0.5 * catRate, note: "\(Int(mib(bytes))) MiB, cpu \(fmt(ours.cpu)) s"),
            Row(budget: "ingest", metric: "throughput vs upstream reader", value: ourRate, unit: "MiB/s",
                baseline: upRate, baselineName: "4096-byte reads + 100 ms sleeps", limit: nil, pass: nil,
                note: "upstream on \(Int(mib(up.bytes))) MiB"),
            guardRow("TUI path", rate: ourRate, engine: engine),
        ]
    }

    // MARK: 2. Round trip

    /// Whether `needle` occurs in `haystack` (bytes).
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    /// `claude`: the agent in Claude stream-json mode with ccb-claude-standin (a scripted stand-in
    /// for Claude Code) as its child, instead of --echo: two more hops (agent → child → agent) and
    /// the stream-json decoding on the way back.
    func roundTrip(wire: String, claude: Bool = false) throws -> [Row] {
        let name = claude ? "\(wire) claude" : wire
        log("round trip: \(name), \(sizes.roundTrips) prompts")
        let scratch = try Scratch()
        let dir = try scratch.dir("pipes")
        let mode = claude ? ["--claude", "--claude-command", Proc.binDir + "/ccb-claude-standin"] : ["--echo"]
        let agent = try Proc.spawn([Proc.binDir + "/cc-bridge-agent", "serve", "--name", "rt", "--pipe-dir", dir,
                                    "--protocol", wire, "--heartbeat", "0"] + mode)
        defer { kill(agent, SIGTERM); _ = try? Proc.wait(agent, timeout: 10) }
        let start = MonotonicClock.now()
        while !(FileManager.default.fileExists(atPath: dir + "/rt.in.fifo")
                && FileManager.default.fileExists(atPath: dir + "/rt.out.fifo")) {
            guard MonotonicClock.now() - start < 20 else { throw BenchError("agent did not create its FIFOs") }
            usleep(2000)
        }
        let loop = try EventLoop()
        var options = InstanceHub.Options(directory: dir)
        options.rescanInterval = 3600
        var attached = false, framed = false
        var sentAt = 0.0, awaitingFirst = false, replyDone = false, expected = "", expectedBytes: [UInt8] = []

        var latencies: [Double] = []
        var failure: String?
        let hub = InstanceHub(loop: loop, options: options) { event in
            switch event {
            case .attachment(_, .attached): attached = true
            case .attachment(_, .failed(let why)): failure = why
            case .output(_, let batch):
                // A byte search of the packed text: Foundation's String.contains (CFStringFind) and
                // making the lines' Strings took most of the harness's own time per batch.
                if awaitingFirst && Self.contains(batch.text, expectedBytes) {
                    latencies.append(MonotonicClock.now() - sentAt)
                    awaitingFirst = false
                }
            case .stream(_, .modeChanged(.framed)): framed = true
            case .stream(_, .replyMarker), .stream(_, .done): replyDone = true
            case .delivered(_, _, let error?): failure = error.description
            default: break
            }
        }
        hub.start()
        func spin(until condition: () -> Bool, timeout: Double) throws {
            let deadline = MonotonicClock.now() + timeout
            while !condition() {
                if let failure { throw BenchError("round trip: \(failure)") }
                guard MonotonicClock.now() < deadline else { throw BenchError("round trip (\(name)): timed out") }
                loop.runOnce(timeout: 0.05)
            }
        }
        try spin(until: { attached && (wire == "plain" || framed) }, timeout: 20)
        // Warm-up prompts (not counted), then the measured ones, strictly one at a time.
        for i in 0..<(sizes.roundTrips + 20) {
            replyDone = false
            awaitingFirst = true
            expected = "prompt \(i) hello"
            expectedBytes = Array(expected.utf8)
            sentAt = MonotonicClock.now()
            hub.send(expected, to: "rt", promptID: "p\(i)")
            try spin(until: { replyDone && !awaitingFirst }, timeout: 10)
            if i == 19 { latencies.removeAll() }
        }
        hub.stop()
        let p50 = percentile(latencies, 50) * 1000, p99 = percentile(latencies, 99) * 1000
        return [
            Row(budget: "round trip \(name)", metric: "p50 send → first byte", value: p50, unit: "ms",
                baseline: 100, baselineName: "upstream client (documented)", limit: "≤ 0.3 ms", pass: p50 <= 0.3,
                note: "\(latencies.count) prompts"),
            Row(budget: "round trip \(name)", metric: "p99 send → first byte", value: p99, unit: "ms",
                baseline: 100, baselineName: "upstream client (documented)", limit: "≤ 2 ms", pass: p99 <= 2,
                note: "max \(fmt((latencies.max() ?? 0) * 1000)) ms"),
        ]
    }

    // MARK: TUI helpers

    func tuiEnvironment(_ scratch: Scratch, stats: String) -> [String: String] {
        // An empty config file: the defaults, whatever the user's own config says.
        FileManager.default.createFile(atPath: scratch.file("config.yaml"), contents: Data())
        return ["HOME": scratch.path, "XDG_CONFIG_HOME": scratch.file("config"), "XDG_STATE_HOME": scratch.file("state"),
         "CC_BRIDGE_CONFIG": scratch.file("config.yaml"), "TERM": "tmux-256color", "CCB_TUI_STATS": stats,
         // The in-process path these rows have always measured; `tui-server` measures the other.
         "CC_BRIDGE_NO_SERVER": "1"]
    }

    func readStats(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    func waitForStat(_ path: String, event: String, timeout: Double) throws -> [String: Any] {
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if let found = readStats(path).first(where: { $0["event"] as? String == event }) { return found }
            usleep(2000)
        }
        throw BenchError("the TUI wrote no \(event) to \(path)")
    }

    // MARK: 3. Firehose

    func firehose() throws -> [Row] {
        log("firehose: headless baseline, \(Int(mib(sizes.firehoseBytes))) MiB")
        let headless = try childIngest(mode: "hub", bytesEach: sizes.firehoseBytes, instances: 1)
        log("firehose: cc-bridge-tui in tmux")
        let scratch = try Scratch()
        let dir = try scratch.dir("pipes")
        try makeInstances(["flood"], in: dir)
        let stats = scratch.file("stats.jsonl")
        let tmux = try TmuxSession(socket: scratch.file("tmux.sock"), cols: 120, rows: 40,
                                   command: [Proc.binDir + "/cc-bridge-tui", "--pipe-dir", dir],
                                   environment: tuiEnvironment(scratch, stats: stats))
        defer { tmux.kill() }
        _ = try waitForStat(stats, event: "first_frame", timeout: 20)
        guard let pid = tmux.panePID, Proc.cpuTicks(pid) != nil else { throw BenchError("no TUI process") }
        try tmux.sendKeys(["Tab"])
        Proc.sleep(0.3)
        let ticks0 = Proc.cpuTicks(pid)!
        // Spread the keys over the flood: its expected length from the headless run, times two.
        let expected = headless.seconds * 2
        let spacing = min(0.02, max(0.003, expected / Double(sizes.keys)))
        let t0 = MonotonicClock.now()
        let writer = try Proc.spawn([Proc.selfExe, "child-write", String(sizes.firehoseBytes), dir + "/flood.out.fifo"])
        var keyProcs: [pid_t] = []
        for i in 0..<sizes.keys {
            let due = t0 + 0.01 + Double(i) * spacing
            Proc.sleep(due - MonotonicClock.now())
            keyProcs.append(try tmux.sendKeysAsync(["x"], literal: true))
        }
        let keysDone = MonotonicClock.now()
        try Proc.wait(writer)
        let writerDone = MonotonicClock.now()
        for p in keyProcs { try Proc.wait(p, timeout: 20) }
        // The TUI is done with the flood when its CPU time stops moving (three 100 ms samples).
        var last = Proc.cpuTicks(pid) ?? 0, lastChange = MonotonicClock.now(), still = 0
        while still < 3 {
            Proc.sleep(0.1)
            let now = Proc.cpuTicks(pid) ?? last
            if now != last { last = now; lastChange = MonotonicClock.now(); still = 0 } else { still += 1 }
            if MonotonicClock.now() - t0 > 600 { throw BenchError("firehose: TUI never settled") }
        }
        let floodSeconds = lastChange - t0
        let tuiCPU = Double(last - ticks0) / Proc.ticksPerSecond
        try tmux.sendKeys(["Escape"])
        Proc.sleep(0.2)
        try tmux.sendKeys(["q"])
        let exit = try waitForStat(stats, event: "exit", timeout: 20)
        let frames = exit["frames"] as? Int ?? 0
        var latencies = (exit["key_latencies"] as? [Double]) ?? []
        // The first is Tab, the last Escape (its latency includes the escape-sequence timeout).
        latencies = Array(latencies.dropFirst().dropLast())
        // The most frames the TUI presented within any one second (its own sliding window).
        let fps = Double(exit["peak_fps_1s"] as? Int ?? -1)
        let p99 = percentile(latencies, 99) * 1000
        let duringFlood = keysDone <= writerDone ? "all keys during the flood" : "flood ended before the last key"
        return [
            Row(budget: "firehose", metric: "TUI CPU vs headless ingest", value: tuiCPU, unit: "s",
                baseline: headless.cpu, baselineName: "headless InstanceHub ingest", limit: "≤ 2 × headless",
                pass: tuiCPU <= 2 * headless.cpu, note: "\(Int(mib(headless.bytes))) MiB in \(fmt(floodSeconds)) s"),
            Row(budget: "firehose", metric: "frames per second", value: fps, unit: "fps", baseline: nil, baselineName: nil,
                limit: "≤ ~60", pass: fps >= 0 && fps <= 66,
                note: "peak in any 1 s window; \(frames) frames in the TUI's whole run, the flood \(fmt(floodSeconds)) s of it"),
            Row(budget: "firehose", metric: "key → screen p99", value: p99, unit: "ms", baseline: nil, baselineName: nil,
                limit: "≤ 50 ms", pass: p99 <= 50,
                note: "\(latencies.count) key reads, p50 \(fmt(percentile(latencies, 50) * 1000)) ms; \(duringFlood)"),
        ]
    }

    // MARK: 4. Memory

    func memory() throws -> [Row] {
        log("memory: \(Int(mib(sizes.memorySingleBytes))) MiB into one instance")
        let single = try childIngest(mode: "hub", bytesEach: sizes.memorySingleBytes, instances: 1)
        log("memory: 100 instances × \(Int(mib(sizes.memoryManyBytesEach))) MiB")
        let many = try childIngest(mode: "hub", bytesEach: sizes.memoryManyBytesEach, instances: 100)
        let a = Double(single.vmhwmKB) / 1024, b = Double(many.vmhwmKB) / 1024
        return [
            Row(budget: "memory", metric: "peak RSS, 1 instance", value: a, unit: "MiB", baseline: nil, baselineName: nil,
                limit: "≤ 64 MiB", pass: a <= 64, note: "\(Int(mib(single.bytes))) MiB ingested at \(fmt(mib(single.bytes) / single.seconds)) MiB/s"),
            Row(budget: "memory", metric: "peak RSS, 100 instances", value: b, unit: "MiB", baseline: nil, baselineName: nil,
                limit: "≤ 128 MiB", pass: b <= 128, note: "\(Int(mib(many.bytes))) MiB ingested in total"),
        ]
    }

    // MARK: 5 and 6. Start-up and idle (the TUI directly on a pseudo-terminal)

    func startupAndIdle() throws -> [Row] {
        log("start-up and idle: 20 silent instances, TUI on a pty")
        let scratch = try Scratch()
        let dir = try scratch.dir("pipes")
        try makeInstances((0..<20).map { String(format: "idle%02d", $0) }, in: dir)
        let stats = scratch.file("stats.jsonl")
        let t0 = MonotonicClock.now()
        let tui = try PtyProcess([Proc.binDir + "/cc-bridge-tui", "--pipe-dir", dir], cols: 120, rows: 40,
                                 environment: tuiEnvironment(scratch, stats: stats))
        defer { kill(tui.pid, SIGKILL); _ = try? Proc.wait(tui.pid, timeout: 5) }
        let first = try waitForStat(stats, event: "first_frame", timeout: 20)
        let startup = ((first["monotonic"] as? Double) ?? .nan) - t0
        Proc.sleep(1)
        let ticks0 = Proc.cpuTicks(tui.pid) ?? 0
        let i0 = MonotonicClock.now()
        Proc.sleep(sizes.idleSeconds)
        let ticks1 = Proc.cpuTicks(tui.pid) ?? 0
        let idleSeconds = MonotonicClock.now() - i0
        let percent = Double(ticks1 - ticks0) / Proc.ticksPerSecond / idleSeconds * 100
        tui.type("q")
        _ = try? Proc.wait(tui.pid, timeout: 10)
        return [
            Row(budget: "idle", metric: "CPU, 20 silent instances", value: percent, unit: "% core", baseline: nil,
                baselineName: nil, limit: "< 0.5 %", pass: percent < 0.5,
                note: "\(ticks1 - ticks0) ticks in \(fmt(idleSeconds)) s"),
            Row(budget: "start-up", metric: "exec → first frame, 20 instances", value: startup * 1000, unit: "ms",
                baseline: nil, baselineName: nil, limit: "≤ 100 ms", pass: startup <= 0.1, note: "direct on a pty"),
        ]
    }
}

func fmt(_ x: Double) -> String {
    if x.isNaN { return "n/a" }
    if abs(x) >= 100 { return String(format: "%.0f", x) }
    if abs(x) >= 10 { return String(format: "%.1f", x) }
    if abs(x) >= 1 { return String(format: "%.2f", x) }
    return String(format: "%.3f", x)
}
