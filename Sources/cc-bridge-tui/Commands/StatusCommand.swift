// `cc-bridge-tui status <instance>`: one instance as `cc-bridge docker status` shows it: its
// pipes, whether an agent listens, its container, and the session summary: the live session from
// the server when one runs (it writes the history), else from the history file.
// Exit 0 when the pipes are usable and an agent listens, 1 otherwise.

import ArgumentParser
import BridgeCore
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show an instance's pipes, agent, container and session.")

    @OptionGroup var options: CommonOptions
    @Argument(help: "Instance name, or HOST/NAME for one on a remote host.") var instance: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let config = try options.loadConfig()
        if let (server, name) = try options.remoteTarget(instance, config: config) {
            return try showRemote(server, name)
        }
        let name = try options.instanceName(instance)
        try options.requireInstance(name, config: config, historyDirectory: StatePaths.directory())
        let now = Date().timeIntervalSince1970
        let probes = HealthProbes(docker: DockerClient())
        let docker = HealthProbe.observeDocker(probes.docker)
        let observation = HealthProbe.observeInstance(name.rawValue, pipeDirectory: config.pipeDirectory,
                                                      policy: options.policy, docker: docker, probes: probes)
        let stateDirectory = StatePaths.directory()
        let history = HealthText.session(instance: name.rawValue, config: config, stateDirectory: stateDirectory, now: now)
        var summary = history?.0.summary()
        var lastTurn = history?.0.turns.last
        var outboxWaiting = history?.1.outbox.filter { $0.state == .queued }.count ?? 0
        var historyPath = history?.1.path ?? HistoryStore.historyPath(instance: name.rawValue, stateDirectory: stateDirectory)
        if let server = ServerClient.running(config) {
            let answer = try server.call("status", ["instance": .string(name.rawValue)])
            summary = try answer["summary"].flatMap { $0.isNull ? nil : try ServerClient.decode(SessionSummary.self, $0) }
            lastTurn = try answer["last_turn"].flatMap { $0.isNull ? nil : try ServerClient.decode(Turn.self, $0) }
            outboxWaiting = answer["outbox"]?.arrayValue?.count ?? 0
            historyPath = answer["history_path"]?.stringValue ?? historyPath
        }
        let pipes = HealthRules.pipes(observation, policy: options.policy, uid: UInt32(geteuid()))
        let agent = HealthRules.agent(observation)
        let container = HealthRules.container(observation.container, instance: name.rawValue, docker: docker)
        let session = HealthRules.session(summary)
        let document = StatusDocument(
            instance: name.rawValue, pipeDir: config.pipeDirectory,
            inPath: name.inFifoPath(in: config.pipeDirectory), outPath: name.outFifoPath(in: config.pipeDirectory),
            pipes: pipes, agentListening: observation.listening, agent: agent, container: container,
            containerInfo: { if case .found(let c, _) = observation.container { return c } else { return nil } }(),
            session: summary, sessionCheck: session, lastTurn: lastTurn, outboxWaiting: outboxWaiting, historyPath: historyPath,
            historyWarnings: history?.1.warnings ?? [])
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(document), as: UTF8.self))
        } else {
            printText(document)
        }
        if pipes.state == .unhealthy || observation.listening != true { throw ExitCode(1) }
    }

    /// HOST/NAME: what that host's server says (its pipes and container are checked there).
    func showRemote(_ server: ServerClient, _ name: InstanceName) throws {
        let answer = try server.call("status", ["instance": .string(name.rawValue)], timeout: 20)
        let host = server.host?.name ?? "?"
        if json {
            var document = answer.objectValue ?? [:]
            document["host"] = .string(host)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(JSONValue.object(document)), as: UTF8.self))
        } else {
            let instance = answer["instance"]
            let activity = instance?["activity"]?["state"]?.stringValue ?? "unknown"
            var rows: [(String, String)] = [
                ("instance", "\(host)/\(name.rawValue)"),
                ("pipes", instance?["status"]?.stringValue.map { $0 == "ready" ? "ready" : "broken: \(instance?["reason"]?.stringValue ?? "")" } ?? "unknown"),
                ("activity", activity),
                ("mode", instance?["mode"]?.stringValue ?? "unknown"),
                ("health", instance?["health"]?.stringValue ?? "unknown"),
            ]
            if let summary = try answer["summary"].flatMap({ $0.isNull ? nil : try ServerClient.decode(SessionSummary.self, $0) }) {
                rows.append(("turns", "\(summary.requests) requests: \(summary.completed) completed, \(summary.failed) failed"))
            }
            if let turn = try answer["last_turn"].flatMap({ $0.isNull ? nil : try ServerClient.decode(Turn.self, $0) }) {
                rows.append(("last turn", "\(HealthText.timestamp(turn.sentAt)) \(turn.status.rawValue): \(HistoryCommand.preview(turn.prompt, 60))"))
            }
            let waiting = answer["outbox"]?.arrayValue?.count ?? 0
            if waiting > 0 { rows.append(("outbox", "\(waiting) prompt(s) waiting for the agent")) }
            rows.append(("history", "\(host):\(answer["history_path"]?.stringValue ?? "?")"))
            for (key, value) in rows { print(HealthText.pad(key, 10) + " " + value) }
        }
        if answer["instance"]?["status"]?.stringValue != "ready" { throw ExitCode(1) }
    }

    func printText(_ d: StatusDocument) {
        let rows: [(String, String)] = [
            ("instance", d.instance),
            ("pipes", "\(d.pipes.state.rawValue): \(d.pipes.reason)"),
            ("in-FIFO", d.inPath),
            ("out-FIFO", d.outPath),
            ("agent", "\(d.agent.state.rawValue): \(d.agent.reason)"),
            ("container", "\(d.container.state.rawValue): \(d.container.reason)"),
            ("session", "\(d.sessionCheck.state.rawValue): \(d.sessionCheck.reason)"),
        ]
        for (key, value) in rows { print(HealthText.pad(key, 10) + " " + value) }
        if let s = d.session {
            print(HealthText.pad("turns", 10) + " \(s.requests) requests: \(s.completed) completed, \(s.failed) failed, "
                  + "\(s.timedOut) timed out, \(s.interrupted) interrupted; median first byte \(HealthText.seconds(s.medianTTFB)), "
                  + "median turn \(HealthText.seconds(s.medianDuration))")
        }
        if let t = d.lastTurn {
            print(HealthText.pad("last turn", 10) + " \(HealthText.timestamp(t.sentAt)) \(t.status.rawValue), first byte "
                  + "\(HealthText.seconds(t.ttfb)), took \(HealthText.seconds(t.duration)): \(HistoryCommand.preview(t.prompt, 60))")
        }
        if d.outboxWaiting > 0 { print(HealthText.pad("outbox", 10) + " \(d.outboxWaiting) prompt(s) waiting for the agent") }
        print(HealthText.pad("history", 10) + " " + d.historyPath)
        for warning in d.historyWarnings { FileHandle.standardErrorWrite("warning: \(warning)") }
    }
}

struct StatusDocument: Encodable {
    var instance: String
    var pipeDir: String
    var inPath: String
    var outPath: String
    var pipes: CheckResult
    var agentListening: Bool?
    var agent: CheckResult
    var container: CheckResult
    var containerInfo: DockerContainer?
    var session: SessionSummary?
    var sessionCheck: CheckResult
    var lastTurn: Turn?
    var outboxWaiting: Int
    var historyPath: String
    var historyWarnings: [String]

    enum CodingKeys: String, CodingKey {
        case instance, pipes, agent, container, session
        case pipeDir = "pipe_dir", inPath = "in_path", outPath = "out_path", agentListening = "agent_listening"
        case containerInfo = "container_info", sessionCheck = "session_check", lastTurn = "last_turn"
        case outboxWaiting = "outbox_waiting", historyPath = "history_path", historyWarnings = "history_warnings"
    }
}
