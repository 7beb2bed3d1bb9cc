// ServerRows: the `server-*` rows of issue 13, each on the path users run: the real
// `cc-bridge-tui serve --foreground` process (next to ccb-bench, a private state and runtime
// directory) and clients over its socket (IPCClient in this process), side by side with the
// in-process baseline of the same run.
//   server-ingest     a writer floods the out-FIFO; one client on the TUI's session feed decodes
//                     every event with the TUI's code (SessionWire.decode → Scrollback), and
//                     resyncs after a skip as the TUI does; vs `cat FIFO > /dev/null`; three
//                     rounds of cat and the server in turn (one in --quick), the median ratio's round
//   server-roundtrip  an echo agent; `send` over the socket → the reply line's output event; vs
//                     the in-process plain round trip (InstanceHub); and the machine's wake floor
//                     (WakeFloor: four wake-ups of a process sleeping in poll, no work)
//   server-fanout     50 subscribed clients, one flooding instance: the server's drain rate (writer
//                     start → writer done and the FIFO empty) vs the same with one client; every
//                     client must have every line, or a skip notice before each gap; three rounds
//                     (one in --quick), the median ratio's round
//   server-idle       1,000 instances (FIFO pairs, their in-FIFOs held open for reading here, as a
//                     silent agent would): server RSS and idle CPU; then the TUI started as users
//                     start it with the server running: exec → first frame, and server + TUI idle CPU

import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `cc-bridge-tui serve --foreground` for a fresh pipe directory, stopped at the end.
final class BenchServer {
    let scratch: Scratch
    let pipes: String
    let environment: [String: String]
    private(set) var pid: pid_t = 0

    init() throws {
        scratch = try Scratch()
        pipes = try scratch.dir("pipes")
        let runtime = try scratch.dir("run")
        _ = FileManager.default.createFile(atPath: scratch.file("config.yaml"), contents: Data())
        environment = ["HOME": scratch.path, "XDG_CONFIG_HOME": scratch.file("config"), "XDG_STATE_HOME": scratch.file("state"),
                       "XDG_RUNTIME_DIR": runtime, "CC_BRIDGE_CONFIG": scratch.file("config.yaml"), "TERM": "tmux-256color",
                       "DOCKER_HOST": "unix://" + scratch.file("no-docker.sock")]
    }

    var endpoint: IPCEndpoint { IPCEndpoint(pipeDirectory: pipes, environment: environment) }

    /// Starts the server and waits until it answers on its socket.
    func start() throws {
        pid = try Proc.spawn([Proc.binDir + "/cc-bridge-tui", "serve", "--foreground", "--pipe-dir", pipes],
                             stdout: scratch.file("server.log"), environment: environment)
        let deadline = MonotonicClock.now() + 30
        while true {
            if case .success = IPCClient.call("server.status", endpoint: endpoint, timeout: 2) { return }
            if waitpid(pid, nil, WNOHANG) == pid { throw BenchError("the server exited at start") }
            guard MonotonicClock.now() < deadline else { throw BenchError("the server did not answer within 30 s") }
            usleep(20_000)
        }
    }

    /// The instances the server lists (and how many it reads: a session is open for them).
    func listed() -> (count: Int, reading: Int) {
        guard case .success(let answer) = IPCClient.call("list", endpoint: endpoint, timeout: 20),
              let list = answer["instances"]?.arrayValue else { return (0, 0) }
        return (list.count, list.filter { $0["activity"]?.objectValue != nil }.count)
    }

    func waitListed(_ count: Int, timeout: Double = 60) throws {
        let deadline = MonotonicClock.now() + timeout
        while listed().reading < count {
            guard MonotonicClock.now() < deadline else { throw BenchError("the server reads \(listed()) of \(count) instances") }
            usleep(50_000)
        }
    }

    func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        if (try? Proc.wait(pid, timeout: 20)) == nil { kill(pid, SIGKILL) }
        pid = 0
    }

    deinit { stop() }
}

/// One subscribed client: as the TUI follows its server (`session: true`: the `session.subscribe`
/// feed, each `session_output` decoded by the TUI's SessionWire.decode, styles included, and
/// applied to a Scrollback; after `skipped`, unsubscribe, wait for the answer, resume from the
/// next line, as ServerSessionSource does), or a plain `subscribe` whose `output` events are
/// decoded (`decode: true`) or only have their line ids checked (fan-out clients).
/// Tracks which finished lines arrived, and whether every gap came after a skip notice.
final class BenchSubscriber {
    let client: IPCClient
    let instance: String
    let decode: Bool
    let session: Bool
    var scrollback = Scrollback(maxLines: TUISettings().scrollbackLines, maxBytes: TUISettings().scrollbackBytes)
    var subscribed = false
    var failure: String?
    /// The finished line after the last one received (ids start at 1).
    var nextLine: UInt64 = 1
    var linesReceived = 0
    var skipNotices = 0
    var gaps = 0
    var unexplainedGaps = 0
    var noticeSinceLastGap = false
    var events = 0
    var onOutput: (IPCEvent) -> Void = { _ in }
    /// Subscribe again from the next line after a skip notice, as the TUI and `tail` do.
    let resync: Bool
    private var subscription: Int?
    /// After a skip: the line the new subscription's backlog starts at; until it comes, output
    /// still queued for the old subscription (past the gap) is ignored.
    private var awaitingBacklog: UInt64?

    /// Session feed: the TUI's resync after a skip notice.
    private lazy var sessionResync = SessionFeedResync(client: client) { [unowned self] in self.subscribe(from: self.nextLine) }

    init(loop: EventLoop, endpoint: IPCEndpoint, instance: String, decode: Bool, resync: Bool = false, session: Bool = false) {
        self.instance = instance
        self.decode = decode
        self.resync = resync
        self.session = session
        client = IPCClient(loop: loop, endpoint: endpoint, options: IPCClientOptions(requestTimeout: 60, reconnect: nil))
        client.onEvent = { [unowned self] event in self.take(event) }
        subscribe(from: nil)
        client.start()
    }

    private func subscribe(from line: UInt64?) {
        if session {
            var resume: [String: JSONValue] = [:]
            if let line { resume[instance] = ["from_line_id": .number(Double(line)), "last_mark": 0] }
            client.request("session.subscribe", params: ["resume": .object(resume), "fresh": .bool(line == nil)],
                           timeout: 60) { [unowned self] result in
                switch result {
                case .success(let answer):
                    self.subscribed = true
                    self.sessionResync.subscription = answer["subscription"]?.intValue
                case .failure(let error): self.failure = "session.subscribe: \(error)"
                }
            }
            return
        }
        var params: [String: JSONValue] = ["instance": .string(instance)]
        if let line { params["from_line_id"] = .number(Double(line)) }
        client.request("subscribe", params: .object(params)) { [unowned self] result in
            switch result {
            case .success(let answer):
                self.subscribed = true
                self.subscription = answer["subscription"]?.intValue
            case .failure(let error): self.failure = "subscribe: \(error)"
            }
        }
    }

    private func take(_ event: IPCEvent) {
        events += 1
        if session { return takeSession(event) }
        switch event.name {
        case IPCEventName.output:
            onOutput(event)
            let first: UInt64, count: Int, open: Bool
            if decode {
                guard let decoded = ServerWire.output(event, at: 0) else { failure = "an output event that does not decode"; return }
                var batch = decoded.batch
                first = decoded.firstLineID
                count = batch.count
                open = batch.endsWithOpenLine
                scrollback.apply(consuming: &batch)
            } else {
                guard let id = event.data["first_line_id"]?.doubleValue, let n = event.data["count"]?.intValue else {
                    failure = "an output event without ids"; return
                }
                first = UInt64(id)
                count = n
                open = event.data["ends_with_open_line"]?.boolValue ?? false
            }
            if let from = awaitingBacklog {
                guard first <= from else { return }
                awaitingBacklog = nil
            }
            self.count(first: first, finished: count - (open ? 1 : 0))
        case IPCEventName.skipped, "lines_skipped":
            skipNotices += 1
            noticeSinceLastGap = true
            if event.name == "lines_skipped" { awaitingBacklog = nil }
            if resync && event.name == IPCEventName.skipped {
                if let subscription { client.request("unsubscribe", params: ["subscription": .int(subscription)]) { _ in } }
                subscription = nil
                awaitingBacklog = nextLine
                subscribe(from: nextLine)
            }
        default:
            break
        }
    }

    /// Finished lines `first ..< first + finished` arrived.
    fileprivate func count(first: UInt64, finished: Int) {
        guard finished > 0 else { return }
        let end = first + UInt64(finished)   // one past the last finished line
        if first > nextLine {
            gaps += 1
            if !noticeSinceLastGap { unexplainedGaps += 1 }
            noticeSinceLastGap = false
        }
        if end > nextLine {
            linesReceived += Int(end - max(first, nextLine))
            nextLine = end
        }
    }
}

extension BenchSubscriber {
    /// The session feed, as ServerSessionSource takes it (its decode, its resync).
    private func takeSession(_ event: IPCEvent) {
        let item: SessionFeedItem
        switch sessionResync.take(event) {
        case .item(let decoded): item = decoded
        case .skipped:
            skipNotices += 1
            noticeSinceLastGap = true
            return
        case .undecodable:
            if event.name == SessionWire.output { failure = "a session_output event that does not decode" }
            return
        case .ignored:
            return
        }
        switch item {
        case .event(.output(let name, var batch), let first?, _) where name == instance:
            onOutput(event)
            let open = batch.endsWithOpenLine
            let finished = batch.count - (open ? 1 : 0)
            scrollback.apply(consuming: &batch)
            count(first: first, finished: finished)
        case .linesSkipped(let name, _, _) where name == instance:
            skipNotices += 1
            noticeSinceLastGap = true
        default:
            break
        }
    }
}

extension Bench {
    private func spin(_ loop: EventLoop, timeout: Double, what: String, until condition: () -> Bool) throws {
        let deadline = MonotonicClock.now() + timeout
        while !condition() {
            guard MonotonicClock.now() < deadline else { throw BenchError("\(what): timed out after \(Int(timeout)) s") }
            loop.runOnce(timeout: 0.05)
        }
    }

    // MARK: server-ingest

    /// Rounds of the server-ingest row, each `cat` and the server on the same data back to back
    /// (which goes first alternates): the row reports the round with the median ratio (a single pair on a shared machine
    /// moved `cat` alone 560–1,740 MiB/s between runs minutes apart).
    var ingestRounds: Int { sizes.ingestBytes >= 64 << 20 ? 3 : 1 }

    func serverIngest() throws -> [Row] {
        let engine = try engineRate()
        var rounds: [(cat: Double, run: ServerIngestRun)] = []
        for round in 1...ingestRounds {
            // cat first in odd rounds, the server first in even ones: a drift favours neither.
            log("server-ingest: round \(round) of \(ingestRounds)")
            if round % 2 == 1 {
                let cat = try measureCatRate()
                rounds.append((cat, try serverIngestRun()))
            } else {
                let run = try serverIngestRun()
                rounds.append((try measureCatRate(), run))
            }
        }
        let ratios = rounds.map { $0.run.rate / $0.cat }
        let (catRate, run) = rounds[medianIndex(ratios)]
        let everyLine = rounds.allSatisfy(\.run.whole)
        let roundsNote = rounds.count == 1 ? "" : "; median of \(rounds.count) rounds (cat and the server in turn), ratios "
            + ratios.map { fmt($0) + "×" }.joined(separator: ", ")
        let note = everyLine
            ? "\(Int(mib(ingestPayload.bytes))) MiB, every line\(rounds.count == 1 ? "" : " in every round"); server cpu \(fmt(run.cpu)) s, \(run.faults) page faults, peak RSS \(fmt(run.peakRSS)) MiB\(run.resyncs)\(roundsNote)"
            : rounds.indices.compactMap { index in rounds[index].run.lost.map { "round \(index + 1): \($0)" } }.joined(separator: "; ") + roundsNote
        return [
            Row(budget: "server-ingest", metric: "serve + one client decoding as the TUI vs cat", value: run.rate, unit: "MiB/s",
                baseline: catRate, baselineName: "cat FIFO > /dev/null", limit: "≥ 0.5 × cat",
                pass: everyLine && run.rate >= 0.5 * catRate, note: note),
            guardRow("server ingest", rate: run.rate, engine: engine),
        ]
    }

    struct ServerIngestRun {
        var rate: Double
        var cpu: Double
        var faults: Int
        var peakRSS: Double
        var whole: Bool
        /// What was lost, when a line was.
        var lost: String?
        var resyncs: String
    }

    /// One flood through a fresh server into one subscribed client decoding as the TUI does.
    private func serverIngestRun() throws -> ServerIngestRun {
        let (bytes, lines) = ingestPayload
        log("server-ingest: cc-bridge-tui serve + one subscribed client, \(Int(mib(bytes))) MiB")
        let server = try BenchServer()
        try makeInstances(["flood"], in: server.pipes)
        try server.start()
        try server.waitListed(1)
        let loop = try EventLoop()
        let client = BenchSubscriber(loop: loop, endpoint: server.endpoint, instance: "flood", decode: true, resync: true, session: true)
        defer { client.client.stop() }
        try spin(loop, timeout: 30, what: "server-ingest subscribe") { client.subscribed || client.failure != nil }
        if let failure = client.failure { throw BenchError("server-ingest: \(failure)") }
        let stamp = server.scratch.file("stamp")
        let cpu0 = Double(Proc.cpuTicks(server.pid) ?? 0) / Proc.ticksPerSecond
        let faults0 = Proc.minorFaults(server.pid) ?? 0
        let writer = try Proc.spawn([Proc.selfExe, "child-write", String(sizes.ingestBytes), server.pipes + "/flood.out.fifo"],
                                    environment: ["CCB_BENCH_STAMP": stamp])
        // Done when the last line arrived, or (a client that lost lines) when the writer is done
        // and nothing came for 2 s.
        var lastEvent = MonotonicClock.now(), seen = 0
        var writerDone = false
        try spin(loop, timeout: 900, what: "server-ingest") {
            if client.events != seen { seen = client.events; lastEvent = MonotonicClock.now() }
            if !writerDone { writerDone = waitpid(writer, nil, WNOHANG) == writer }
            return client.nextLine > UInt64(lines) || client.failure != nil
                || (writerDone && MonotonicClock.now() - lastEvent > 2)
        }
        let t1 = MonotonicClock.now()
        if !writerDone { try Proc.wait(writer) }
        if let failure = client.failure { throw BenchError("server-ingest: \(failure)") }
        let cpu = Double(Proc.cpuTicks(server.pid) ?? 0) / Proc.ticksPerSecond - cpu0
        let faults = (Proc.minorFaults(server.pid) ?? 0) - faults0
        let peakRSS = Double(Self.statusKB(server.pid, "VmHWM")) / 1024
        let seconds = t1 - (try writerStart(stamp))
        let whole = client.linesReceived == lines
        let resyncs = client.skipNotices == 0 ? "" : ", \(client.skipNotices) skip notices (resubscribed)"
        return ServerIngestRun(rate: mib(bytes) / seconds, cpu: cpu, faults: faults, peakRSS: peakRSS, whole: whole,
                               lost: whole ? nil : "LOST \(lines - client.linesReceived) of \(lines) lines\(resyncs)",
                               resyncs: resyncs)
    }

    // MARK: server-roundtrip

    func serverRoundTrip() throws -> [Row] {
        let inProcess = try roundTrip(wire: "plain")
        let baseP50 = inProcess[0].value, baseP99 = inProcess[1].value
        log("server-roundtrip: send over the socket → reply line event, \(sizes.roundTrips) prompts")
        let server = try BenchServer()
        let agent = try Proc.spawn([Proc.binDir + "/cc-bridge-agent", "serve", "--name", "rt", "--pipe-dir", server.pipes,
                                    "--protocol", "plain", "--heartbeat", "0", "--echo"])
        defer { kill(agent, SIGTERM); _ = try? Proc.wait(agent, timeout: 10) }
        try server.start()
        try server.waitListed(1)
        let loop = try EventLoop()
        let client = BenchSubscriber(loop: loop, endpoint: server.endpoint, instance: "rt", decode: false)
        defer { client.client.stop() }
        var expected: [UInt8] = [], awaiting = false, sentAt = 0.0
        var latencies: [Double] = []
        client.onOutput = { event in
            if awaiting && Self.contains(event.attachment, expected) {
                latencies.append(MonotonicClock.now() - sentAt)
                awaiting = false
            }
        }
        try spin(loop, timeout: 30, what: "server-roundtrip subscribe") { client.subscribed || client.failure != nil }
        var answered = false
        var failure: String?
        for i in 0..<(sizes.roundTrips + 20) {
            let text = "prompt \(i) hello"
            expected = Array(text.utf8)
            awaiting = true
            answered = false
            sentAt = MonotonicClock.now()
            client.client.request("send", params: ["instance": "rt", "text": .string(text)]) { result in
                answered = true
                if case .success(let value) = result, value["result"]?.stringValue == "delivered" { return }
                failure = "send \(i): \(result)"
            }
            try spin(loop, timeout: 10, what: "server-roundtrip prompt \(i)") { (!awaiting && answered) || failure != nil }
            if let failure { throw BenchError("server-roundtrip: \(failure)") }
            if i == 19 { latencies.removeAll() }
        }
        let p50 = percentile(latencies, 50) * 1000, p99 = percentile(latencies, 99) * 1000
        // The wake floor: the two threads on two CPUs (where there are two), then on one.
        var floors: [(placement: String, p50: Double, p99: Double)] = []
        if sysconf(Int32(_SC_NPROCESSORS_ONLN)) > 1 {
            let floor = try wakeFloor(exchanges: sizes.roundTrips * 5, cpus: (0, 1))
            floors.append(("two CPUs", floor.p50, floor.p99))
        }
        let together = try wakeFloor(exchanges: sizes.roundTrips * 5, cpus: (0, 0))
        floors.append(("one CPU", together.p50, together.p99))
        return [
            Row(budget: "server-roundtrip", metric: "p50 send over the socket → reply line event", value: p50, unit: "ms",
                baseline: baseP50, baselineName: "in-process round trip plain, same run", limit: "≤ 0.1 ms", pass: p50 <= 0.1,
                note: "\(latencies.count) prompts, echo agent"),
            Row(budget: "server-roundtrip", metric: "p99 send over the socket → reply line event", value: p99, unit: "ms",
                baseline: baseP99, baselineName: "in-process round trip plain, same run", limit: "≤ 1 ms", pass: p99 <= 1,
                note: "max \(fmt((latencies.max() ?? 0) * 1000)) ms"),
        ] + floors.map { floor in
            // No budget: what the machine itself charges for the four wake-ups of a prompt.
            Row(budget: "server-roundtrip", metric: "wake floor, \(floor.placement): 4 wake-ups (2 × pipe ping-pong p50)", value: 2 * floor.p50,
                unit: "ms", baseline: p50, baselineName: "server round trip p50, same run",
                note: "two pinned threads, poll(2) between messages; one exchange p50 \(fmt(floor.p50)) ms, p99 \(fmt(floor.p99)) ms"
                    + IdleDriver.description)
        }
    }

    // MARK: server-fanout

    var fanoutClients: Int { 50 }

    /// Rounds of the fan-out row, each one client then `fanoutClients` on the same flood: the row
    /// reports the round with the median ratio, as server-ingest does.
    var fanoutRounds: Int { sizes.firehoseBytes >= 64 << 20 ? 3 : 1 }

    func serverFanout() throws -> [Row] {
        let bytes = sizes.firehoseBytes
        typealias Run = (seconds: Double, bytes: Int, lines: Int, cpu: Double, subscribers: [BenchSubscriber])
        var rounds: [(one: Run, many: Run)] = []
        for round in 1...fanoutRounds {
            log("server-fanout: round \(round) of \(fanoutRounds), one client, \(Int(mib(bytes))) MiB")
            let one = try fanoutRun(clients: 1, bytes: bytes)
            log("server-fanout: round \(round) of \(fanoutRounds), \(fanoutClients) clients, \(Int(mib(bytes))) MiB")
            rounds.append((one, try fanoutRun(clients: fanoutClients, bytes: bytes)))
        }
        func rate(_ run: Run) -> Double { mib(run.bytes) / run.seconds }
        let ratios = rounds.map { rate($0.many) / rate($0.one) }
        let (one, many) = rounds[medianIndex(ratios)]
        let oneRate = rate(one), manyRate = rate(many)
        // Every round's clients are judged; the figures are the median round's.
        func whole(_ run: Run) -> Int { run.subscribers.filter { $0.linesReceived == run.lines }.count }
        func skipped(_ run: Run) -> Int { run.subscribers.filter { $0.linesReceived < run.lines && $0.skipNotices > 0 }.count }
        func unexplained(_ run: Run) -> Int {
            run.subscribers.filter { $0.unexplainedGaps > 0 || ($0.linesReceived < run.lines && $0.skipNotices == 0) }.count
        }
        let everyRoundAccounted = rounds.allSatisfy { unexplained($0.many) == 0 && whole($0.many) + skipped($0.many) == fanoutClients }
        let roundsNote = rounds.count == 1 ? "" : "; median of \(rounds.count) rounds (one client, then \(fanoutClients)), ratios "
            + ratios.map { fmt($0) + "×" }.joined(separator: ", ")
        return [
            Row(budget: "server-fanout", metric: "drain, \(fanoutClients) clients vs one", value: manyRate, unit: "MiB/s",
                baseline: oneRate, baselineName: "the same flood, one client", limit: "≥ 0.5 × one client",
                pass: manyRate >= 0.5 * oneRate,
                note: "\(Int(mib(bytes))) MiB; server cpu \(fmt(many.cpu)) s (one client: \(fmt(one.cpu)) s)\(roundsNote)"),
            Row(budget: "server-fanout", metric: "clients with every line or a skip notice", value: Double(whole(many) + skipped(many)),
                unit: "clients", baseline: nil, baselineName: nil, limit: "all \(fanoutClients)",
                pass: everyRoundAccounted,
                note: "\(whole(many)) every line, \(skipped(many)) told what they skipped, \(unexplained(many)) gaps without a notice"
                    + (rounds.count == 1 ? "" : everyRoundAccounted ? "; all accounted for in every round"
                        : "; NOT in every round: " + rounds.map {
                            "\(whole($0.many) + skipped($0.many)) of \(fanoutClients) accounted for, \(unexplained($0.many)) gaps without a notice"
                        }.joined(separator: "; "))),
        ]
    }

    /// One flood into one instance with `clients` subscribers; the drain time is writer start →
    /// the writer finished and the FIFO is empty (FIONREAD on a read end opened here and never read).
    func fanoutRun(clients: Int, bytes: Int) throws -> (seconds: Double, bytes: Int, lines: Int, cpu: Double, subscribers: [BenchSubscriber]) {
        let (block, linesPerBlock) = AgentText.block()
        let blocks = AgentText.blocks(for: bytes, blockSize: block.count)
        let total = blocks * block.count, lines = blocks * linesPerBlock
        let server = try BenchServer()
        try makeInstances(["flood"], in: server.pipes)
        try server.start()
        try server.waitListed(1)
        let loop = try EventLoop()
        let subscribers = (0..<clients).map { _ in
            BenchSubscriber(loop: loop, endpoint: server.endpoint, instance: "flood", decode: false)
        }
        defer { for s in subscribers { s.client.stop() } }
        try spin(loop, timeout: 60, what: "server-fanout subscribe") {
            subscribers.allSatisfy { $0.subscribed || $0.failure != nil }
        }
        if let failure = subscribers.compactMap(\.failure).first { throw BenchError("server-fanout: \(failure)") }
        let fifo = server.pipes + "/flood.out.fifo"
        let probe = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard probe >= 0 else { throw BenchError("cannot open \(fifo)") }
        defer { close(probe) }
        func queued() -> Int {
            var n: Int32 = 0
            return ioctl(probe, UInt(0x541B), &n) == 0 ? Int(n) : 0   // FIONREAD
        }
        let stamp = server.scratch.file("stamp")
        let cpu0 = Double(Proc.cpuTicks(server.pid) ?? 0) / Proc.ticksPerSecond
        let writer = try Proc.spawn([Proc.selfExe, "child-write", String(bytes), fifo], environment: ["CCB_BENCH_STAMP": stamp])
        var writerDone = false
        var drainedAt: Double?
        try spin(loop, timeout: 900, what: "server-fanout drain") {
            if !writerDone { writerDone = waitpid(writer, nil, WNOHANG) == writer }
            if drainedAt == nil && writerDone && queued() == 0 { drainedAt = MonotonicClock.now() }
            return drainedAt != nil
        }
        let cpu = Double(Proc.cpuTicks(server.pid) ?? 0) / Proc.ticksPerSecond - cpu0
        // Then every client takes what is still queued for it (until nothing came for 2 s).
        var lastEvent = MonotonicClock.now(), seen = -1
        try spin(loop, timeout: 300, what: "server-fanout clients") {
            let now = subscribers.reduce(0) { $0 + $1.events }
            if now != seen { seen = now; lastEvent = MonotonicClock.now() }
            return subscribers.allSatisfy { $0.nextLine > UInt64(lines) } || MonotonicClock.now() - lastEvent > 2
        }
        return (drainedAt! - (try writerStart(stamp)), total, lines, cpu, subscribers)
    }

    // MARK: server-idle

    var idleInstances: Int { 1000 }

    func serverIdle() throws -> [Row] {
        let count = idleInstances
        log("server-idle: \(count) silent instances, cc-bridge-tui serve")
        let server = try BenchServer()
        let names = (0..<count).map { String(format: "idle%04d", $0) }
        try makeInstances(names, in: server.pipes)
        // A silent agent: its in-FIFO open for reading (the server sees it listening), nothing written.
        let holders = names.map { open(server.pipes + "/" + $0 + InstanceScanner.inSuffix, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
        defer { for fd in holders where fd >= 0 { close(fd) } }
        guard !holders.contains(where: { $0 < 0 }) else { throw BenchError("server-idle: cannot hold the in-FIFOs open (\(errno))") }
        let t0 = MonotonicClock.now()
        try server.start()
        try server.waitListed(count, timeout: 120)
        let ready = MonotonicClock.now() - t0
        Proc.sleep(2)
        let window = max(sizes.idleSeconds, 3)
        let (serverCPU, _) = idleCPU([server.pid], seconds: window)
        let rss = Double(Self.statusKB(server.pid, "VmRSS")) / 1024
        let hwm = Double(Self.statusKB(server.pid, "VmHWM")) / 1024

        log("server-idle: the TUI started with the server running")
        let stats = server.scratch.file("stats.jsonl")
        var env = server.environment
        env["CCB_TUI_STATS"] = stats
        let start = MonotonicClock.now()
        let tui = try PtyProcess([Proc.binDir + "/cc-bridge-tui", "--pipe-dir", server.pipes], cols: 120, rows: 40, environment: env)
        defer { kill(tui.pid, SIGKILL); _ = try? Proc.wait(tui.pid, timeout: 5) }
        let first = try waitForStat(stats, event: "first_frame", timeout: 60)
        let firstFrame = ((first["monotonic"] as? Double) ?? .nan) - start
        Proc.sleep(2)
        let (bothCPU, each) = idleCPU([server.pid, tui.pid], seconds: window)
        tui.type("q")
        _ = try? Proc.wait(tui.pid, timeout: 10)
        server.stop()
        return [
            Row(budget: "server-idle", metric: "server RSS, \(count) instances", value: rss, unit: "MiB", baseline: nil,
                baselineName: nil, limit: "≤ 256 MiB", pass: rss <= 256,
                note: "peak \(fmt(hwm)) MiB; all read \(fmt(ready)) s after exec"),
            Row(budget: "server-idle", metric: "server idle CPU, \(count) instances", value: serverCPU, unit: "% core", baseline: nil,
                baselineName: nil, limit: "< 0.5 %", pass: serverCPU < 0.5, note: "\(fmt(window)) s window, /proc/PID/stat"),
            Row(budget: "server-idle", metric: "TUI exec → first frame, server running", value: firstFrame * 1000, unit: "ms",
                baseline: nil, baselineName: nil, limit: "≤ 200 ms", pass: firstFrame <= 0.2,
                note: "the TUI binary as users start it: a client of the running server"),
            Row(budget: "server-idle", metric: "server + TUI idle CPU", value: bothCPU, unit: "% core", baseline: nil,
                baselineName: nil, limit: "< 0.5 %", pass: bothCPU < 0.5,
                note: "server \(fmt(each[0])) %, TUI \(fmt(each[1])) %"),
        ]
    }

    /// CPU of `pids` over `seconds`, in % of one core: the sum, and each.
    func idleCPU(_ pids: [pid_t], seconds: Double) -> (total: Double, each: [Double]) {
        let before = pids.map { Proc.cpuTicks($0) ?? 0 }
        let t0 = MonotonicClock.now()
        Proc.sleep(seconds)
        let after = pids.map { Proc.cpuTicks($0) ?? 0 }
        let elapsed = MonotonicClock.now() - t0
        let each = zip(before, after).map { Double($1 - $0) / Proc.ticksPerSecond / elapsed * 100 }
        return (each.reduce(0, +), each)
    }

    /// A field of /proc/PID/status in kB.
    static func statusKB(_ pid: pid_t, _ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
        }
        return 0
    }
}
