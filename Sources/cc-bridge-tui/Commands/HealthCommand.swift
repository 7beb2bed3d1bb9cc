// `cc-bridge-tui health`: the checks `cc-bridge health` runs (docker_daemon, fifo_pipes, config,
// and each instance), once or every check_interval with --watch. Exit 0 when healthy, 1 when not.
// When a server runs, its latest report (it checks continuously and sees the agents come and go).

import ArgumentParser
import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Check Docker, the pipe directory, the config and every instance.")

    @OptionGroup var options: CommonOptions
    @Option(help: "Only this component: docker_daemon, fifo_pipes, config, or an instance name; HOST/COMPONENT asks a remote host's server.") var component: String?
    @Flag(help: "Print JSON (one document per check with --watch).") var json = false
    @Flag(help: "Check again every docker.health.check_interval seconds until interrupted (Ctrl-C).") var watch = false

    mutating func run() throws {
        let config = try options.loadConfig()
        var remote: ServerClient?
        if let component, let (server, name) = try options.remoteTarget(component, config: config) {
            remote = server
            self.component = name.rawValue
        }
        let located = ConfigLoader.locate(override: options.config)
        var settings = config.docker.health
        // A single run reports what it sees; the grace of max_consecutive_failures is for --watch.
        if !watch { settings.maxConsecutiveFailures = 1 }
        let monitor = HealthMonitor(settings: settings, pipeDirectory: config.pipeDirectory, policy: options.policy,
                                    config: .loaded(config, path: located.path), probes: HealthProbes(docker: DockerClient()))
        let stateDirectory = StatePaths.directory()
        let server = remote ?? ServerClient.running(config)
        while true {
            let now = Date().timeIntervalSince1970
            let report: HealthReport
            if let server {
                let answer = try server.call("health", timeout: 30)
                if answer["enabled"]?.boolValue == false {
                    print("health: unknown - \(answer["reason"]?.stringValue ?? "health checks are disabled")")
                    return
                }
                report = try ServerClient.decode(HealthReport.self, answer)
            } else {
                HealthText.feedSessions(monitor, config: config, stateDirectory: stateDirectory, now: now)
                report = monitor.runChecks(now: now)
            }
            let healthy = try show(report, pipeDirectory: config.pipeDirectory)
            guard watch, report.enabled else {
                if !healthy { throw ExitCode(1) }
                return
            }
            HealthText.sleep(seconds: settings.checkInterval)
        }
    }

    /// Prints the report (or the one component); returns whether what was printed is healthy.
    func show(_ report: HealthReport, pipeDirectory: String) throws -> Bool {
        var selected: ComponentReport?
        if let component, report.enabled {
            guard let found = report.component(component) else {
                // Any name that is not a component is taken for an instance: the same "no such
                // instance" as every other command, then what could have been meant.
                let names = report.components.map(\.name).joined(separator: ", ")
                FileHandle.standardErrorWrite(CommonOptions.noSuchInstance(component, directory: pipeDirectory))
                FileHandle.standardErrorWrite("components: \(names)")
                throw ExitCode(CommonOptions.noSuchInstanceStatus)
            }
            selected = found
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = watch ? [.sortedKeys, .withoutEscapingSlashes] : [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try selected.map { try encoder.encode($0) } ?? encoder.encode(report)
            print(String(decoding: data, as: UTF8.self))
        } else {
            if watch { print("--- \(HealthText.timestamp(report.checkedAt))") }
            if let selected {
                HealthText.printComponent(selected)
            } else {
                print("health: \(report.state.rawValue) - \(report.reason)")
                for c in report.components { HealthText.printComponent(c) }
            }
        }
        fflush(nil)  // all streams: print() buffers when stdout is a pipe
        if !report.enabled { return true }
        return (selected?.state ?? report.state) == .healthy
    }
}

/// Text helpers shared by health, status and history.
enum HealthText {
    static func printComponent(_ c: ComponentReport) {
        var line = "  " + pad(InstanceScanner.displayName(c.name), 14) + " " + pad(c.state.rawValue, 10) + " " + c.reason
        if c.recoveryAttempts > 0 { line += " [recoveries: \(c.recoveryAttempts)]" }
        print(line)
        for check in c.checks where c.kind == .instance {
            print("      " + pad(check.name, 10) + " " + pad(check.state.rawValue, 10) + " " + check.reason)
        }
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    static func timestamp(_ seconds: Double) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    static func seconds(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value < 10 ? String(format: "%.2f s", value) : String(format: "%.0f s", value)
    }

    /// Session summaries from the history files, so health and status show the last turns.
    static func feedSessions(_ monitor: HealthMonitor, config: BridgeConfig, stateDirectory: String, now: Double) {
        for info in InstanceScanner.scan(config.pipeDirectory).instances where InstanceName.problem(in: info.name) == nil {
            if let (tracker, _) = session(instance: info.name, config: config, stateDirectory: stateDirectory, now: now) {
                monitor.updateSession(instance: info.name, summary: tracker.summary(), framing: tracker.framing)
            }
        }
    }

    /// The instance's history, read without writing, replayed into a tracker. nil without history.
    static func session(instance: String, config: BridgeConfig, stateDirectory: String, now: Double)
        -> (SessionTracker, HistoryStore.Contents)? {
        guard let name = try? InstanceName(validating: instance) else { return nil }
        let snapshot = SessionSnapshot.read(instance: name, settings: config.docker.session, stateDirectory: stateDirectory, now: now)
        return snapshot.isEmpty ? nil : (snapshot.tracker, snapshot.contents)
    }

    static func sleep(seconds: Double) {
        var left = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var rest = timespec()
        while nanosleep(&left, &rest) != 0 && errno == EINTR { left = rest }
    }
}
