// ccb-bench: measures the performance budgets of cc-bridge-tui on this machine (see
// docs/performance.md). `ccb-bench [--json] [--quick] [--only NAME,...]`. Exits 0 unless the harness
// itself failed or a guard row failed (a user path below a tenth of the engine's own rate); rows
// that miss their budget are marked MISS.

import ArgumentParser
import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct Row: Encodable {
    var budget: String
    var metric: String
    var value: Double
    var unit: String
    var baseline: Double?
    var baselineName: String?
    var limit: String?
    var pass: Bool?
    var note: String
    var ratio: Double? { baseline.map { value / $0 } }

    enum CodingKeys: String, CodingKey { case budget, metric, value, unit, baseline, baselineName = "baseline_name", limit, pass, note, ratio }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(budget, forKey: .budget)
        try c.encode(metric, forKey: .metric)
        try c.encode(value.isFinite ? value : -1, forKey: .value)
        try c.encode(unit, forKey: .unit)
        try c.encodeIfPresent(baseline, forKey: .baseline)
        try c.encodeIfPresent(baselineName, forKey: .baselineName)
        try c.encodeIfPresent(ratio.flatMap { $0.isFinite ? $0 : nil }, forKey: .ratio)
        try c.encodeIfPresent(limit, forKey: .limit)
        try c.encodeIfPresent(pass, forKey: .pass)
        try c.encode(note, forKey: .note)
    }
}

struct CCBBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ccb-bench", abstract: "Measures cc-bridge-tui's performance budgets on this machine.")

    @Flag(help: "Print the rows as a JSON array (one object per budget row).") var json = false
    @Flag(help: "Small sizes: a smoke test that finishes quickly, also in debug builds.") var quick = false
    @Option(help: "Only these budgets: ingest, tail, roundtrip, roundtrip-claude, firehose, memory, startup, history-load, tui-server, search, ipc-encoding, ipc-roundtrip, server-ingest, server-roundtrip, server-fanout, server-idle, remote-ssh, http-roundtrip (comma separated).")
    var only: String?

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let sizes = quick ? Sizes.quick : Sizes.full
        let bench = Bench(sizes: sizes) { message in
            FileHandle.standardError.write(Data("ccb-bench: \(message)\n".utf8))
        }
        let selected = only.map { Set($0.split(separator: ",").map(String.init)) }
        func want(_ name: String) -> Bool { selected?.contains(name) ?? true }
        var rows: [Row] = []
        var failures: [String] = []
        func section(_ name: String, _ body: () throws -> [Row]) {
            guard want(name) else { return }
            do { rows += try body() } catch { failures.append("\(name): \(error)") }
        }
        section("ingest") { try bench.ingest() }
        section("tail") { try bench.tail() }
        section("roundtrip") { try bench.roundTrip(wire: "plain") + bench.roundTrip(wire: "jsonl") }
        section("roundtrip-claude") { try bench.roundTrip(wire: "jsonl", claude: true) }
        section("firehose") { try bench.firehose() }
        section("memory") { try bench.memory() }
        section("startup") { try bench.startupAndIdle() }
        section("history-load") { try bench.historyLoad() }
        section("tui-server") { try bench.tuiThroughServer() }
        section("search") { try bench.searchScan() }
        section("ipc-encoding") { try bench.ipcEncoding() }
        section("ipc-roundtrip") { try bench.ipcRoundTrip() }
        section("server-ingest") { try bench.serverIngest() }
        section("server-roundtrip") { try bench.serverRoundTrip() }
        section("server-fanout") { try bench.serverFanout() }
        section("server-idle") { try bench.serverIdle() }
        section("remote-ssh") { try bench.remoteSSH() }
        section("http-roundtrip") { try bench.httpRoundTrip() }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            printTable(rows, quick: quick)
        }
        for failure in failures { FileHandle.standardError.write(Data("ccb-bench: FAILED \(failure)\n".utf8)) }
        for row in rows where row.budget == "guard" && row.pass == false {
            failures.append("guard: \(row.metric): \(fmt(row.value)) MiB/s is below a tenth of the engine's own "
                            + "\(fmt(row.baseline ?? 0)) MiB/s in this build")
            FileHandle.standardError.write(Data("ccb-bench: FAILED \(failures.last!)\n".utf8))
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    func printTable(_ rows: [Row], quick: Bool) {
        let header = ["budget", "metric", "value", "baseline", "ratio", "limit", "result", "note"]
        let cells: [[String]] = rows.map { (r: Row) -> [String] in
            let value: String = fmt(r.value) + " " + r.unit
            var baseline = ""
            if let b = r.baseline { baseline = fmt(b) + " " + r.unit }
            var ratio = ""
            if let q = r.ratio { ratio = fmt(q) + "×" }
            var result = ""
            if let p = r.pass { result = p ? "PASS" : "MISS" }
            return [r.budget, r.metric, value, baseline, ratio, r.limit ?? "", result, r.note]
        }
        let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ c: [String]) -> String {
            c.indices.map { c[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        print("ccb-bench \(quick ? "(quick: small sizes, figures indicative only)" : "(full)")")
        print(line(header))
        print(line(widths.map { String(repeating: "-", count: $0) }))
        for c in cells { print(line(c)) }
    }
}

// Hidden children first (not ArgumentParser commands: they are internal plumbing).
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "child-write": try ChildWrite.run(Array(arguments.dropFirst()))
    case "child-ingest": try ChildIngest.run(Array(arguments.dropFirst()))
    case "child-feed": try ChildFeed.run(Array(arguments.dropFirst()))
    default: CCBBench.main()
    }
} catch {
    FileHandle.standardError.write(Data("ccb-bench: \(error)\n".utf8))
    exit(1)
}
