// TUIThroughServer: the TUI's start-up as a client of a running server (issue 13's budget: 1,000
// silent instances, first frame ≤ 200 ms after start), against the same TUI reading the same
// pipe directory in-process (`--no-server`) in the same run, and the TUI's idle CPU while
// attached to the server. A private state and runtime directory; the server is stopped at the end.

import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Bench {
    func tuiThroughServer() throws -> [Row] {
        let count = 1000
        log("tui-server: \(count) silent instances, TUI on a pty through a running server vs --no-server")
        let scratch = try Scratch()
        let dir = try scratch.dir("pipes")
        try makeInstances((0..<count).map { String(format: "quiet%04d", $0) }, in: dir)
        let runtime = try scratch.dir("run")
        chmod(runtime, 0o700)
        var environment = tuiEnvironment(scratch, stats: scratch.file("unused.jsonl"))
        environment["XDG_RUNTIME_DIR"] = runtime
        environment["CC_BRIDGE_NO_SERVER"] = ""
        let tui = Proc.binDir + "/cc-bridge-tui"

        // The baseline first, while no server holds the reader locks.
        let local = try firstFrame(arguments: ["--no-server"], dir: dir, scratch: scratch, run: "local", environment: environment)
        let serve = try Proc.spawn([tui, "serve", "--pipe-dir", dir], environment: environment)
        guard try Proc.wait(serve, timeout: 120) == 0 else { throw BenchError("serve did not start") }
        defer {
            if let stop = try? Proc.spawn([tui, "server", "stop", "--pipe-dir", dir], environment: environment) {
                _ = try? Proc.wait(stop, timeout: 30)
            }
        }
        // Until the server has opened every instance (its list says so), or a start-up would
        // measure the server's own scan.
        let deadline = MonotonicClock.now() + 120
        let endpoint = IPCEndpoint(pipeDirectory: dir, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        while MonotonicClock.now() < deadline {
            if case .success(let answer) = IPCClient.call("list", endpoint: endpoint, timeout: 30),
               let instances = answer["instances"]?.arrayValue,
               instances.count >= count, instances.allSatisfy({ $0["activity"] != nil && $0["activity"] != .null }) { break }
            Proc.sleep(0.2)
        }
        let served = try firstFrame(arguments: [], dir: dir, scratch: scratch, run: "server", environment: environment)
        return [
            Row(budget: "tui-server", metric: "exec → first frame, \(count) instances, through a running server",
                value: served.seconds * 1000, unit: "ms", baseline: local.seconds * 1000,
                baselineName: "--no-server, same instances", limit: "≤ 200 ms", pass: served.seconds <= 0.2,
                note: "TUI on a pty; snapshot of \(count) instances over the socket"),
            Row(budget: "tui-server", metric: "TUI idle CPU through the server, \(count) silent instances",
                value: served.idlePercent, unit: "% core", baseline: local.idlePercent, baselineName: "--no-server",
                limit: "< 0.5 %", pass: served.idlePercent < 0.5, note: "the server's own idle CPU is srvperf's row"),
        ]
    }

    /// Starts the TUI on a pty, waits for its first frame, measures its idle CPU, quits it.
    private func firstFrame(arguments: [String], dir: String, scratch: Scratch, run: String,
                            environment: [String: String]) throws -> (seconds: Double, idlePercent: Double) {
        let stats = scratch.file("stats-\(run).jsonl")
        var environment = environment
        environment["CCB_TUI_STATS"] = stats
        let t0 = MonotonicClock.now()
        let tui = try PtyProcess([Proc.binDir + "/cc-bridge-tui"] + arguments + ["--pipe-dir", dir], cols: 120, rows: 40,
                                 environment: environment)
        defer { kill(tui.pid, SIGKILL); _ = try? Proc.wait(tui.pid, timeout: 5) }
        let first = try waitForStat(stats, event: "first_frame", timeout: 120)
        let seconds = ((first["monotonic"] as? Double) ?? .nan) - t0
        Proc.sleep(1)
        let ticks0 = Proc.cpuTicks(tui.pid) ?? 0
        let i0 = MonotonicClock.now()
        Proc.sleep(sizes.idleSeconds)
        let ticks1 = Proc.cpuTicks(tui.pid) ?? 0
        let percent = Double(ticks1 - ticks0) / Proc.ticksPerSecond / (MonotonicClock.now() - i0) * 100
        tui.type("q")
        _ = try? Proc.wait(tui.pid, timeout: 10)
        return (seconds, percent)
    }
}
