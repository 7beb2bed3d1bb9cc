// HealthMonitorTests: the monitor on real FIFOs with a python3 child as the agent: failures
// counted up to unhealthy and back, recovery recreating a deleted FIFO, unsafe modes, Docker
// through the fake Engine API server, the off-thread split, and health disabled.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// A stand-in agent: holds the in-FIFO open for reading and keeps reading across EOFs.
/// Returns once it is seen listening.
func startAgent(_ inPath: String) throws -> Child {
    let agent = try Child.python("""
    import os, sys, time
    fd = os.open(sys.argv[1], os.O_RDONLY)
    while True:
        if not os.read(fd, 4096):
            time.sleep(0.01)
    """, [inPath])
    let deadline = MonotonicClock.now() + 15
    while !PromptWriter().isListening(inPath) && MonotonicClock.now() < deadline { usleep(5000) }
    return agent
}

func healthSettings(interval: Double = 1, failures: Int = 3, delay: Double = 0.5, enabled: Bool = true) -> HealthSettings {
    var s = HealthSettings()
    s.checkInterval = interval
    s.maxConsecutiveFailures = failures
    s.recoveryDelay = delay
    s.enabled = enabled
    return s
}

/// A pipe_dir with `names` as FIFO pairs, and a monitor on it with no Docker on the host.
struct HealthFixture {
    let tmp = TempDir()
    var pipeDir: String { tmp.path + "/pipes" }

    init(_ names: [String]) throws {
        try FifoSafety.ensureDirectory(tmp.path + "/pipes")
        for name in names {
            try FifoSafety.create(pipeDir + "/\(name).in.fifo")
            try FifoSafety.create(pipeDir + "/\(name).out.fifo")
        }
    }

    func inPath(_ name: String) -> String { pipeDir + "/\(name).in.fifo" }
    func outPath(_ name: String) -> String { pipeDir + "/\(name).out.fifo" }

    func monitor(_ settings: HealthSettings, docker: (any DockerEngine)? = nil, managed: Set<String> = [],
                 policy: PipePolicy = .strict, reopen: @escaping (String) -> Void = { _ in }) -> HealthMonitor {
        HealthMonitor(settings: settings, pipeDirectory: pipeDir, policy: policy,
                      config: .loaded(BridgeConfig(), path: tmp.path + "/config.yaml"),
                      probes: HealthProbes(docker: docker ?? DockerClient(socketPath: tmp.path + "/no-docker.sock")),
                      managed: managed, reopen: reopen)
    }
}

@Suite(.serialized) struct HealthMonitorTests {
    @Test func stoppedAgentTurnsUnhealthyAfterMaxFailuresAndRecoversWhenBack() throws {
        let fx = try HealthFixture(["alpha"])
        var agent = try startAgent(fx.inPath("alpha"))
        let monitor = fx.monitor(healthSettings(interval: 0.05, failures: 3, delay: 0.05))
        var reports: [HealthReport] = []

        /// Drives the monitor as an event loop would: sleep until nextDue, tick.
        func run(until condition: (ComponentReport) -> Bool) -> Bool {
            let deadline = MonotonicClock.now() + 20
            while MonotonicClock.now() < deadline {
                if let due = monitor.nextDue(), due > MonotonicClock.now() { usleep(useconds_t(min(due - MonotonicClock.now(), 0.05) * 1e6)) }
                if let report = monitor.tick(now: MonotonicClock.now()) {
                    reports.append(report)
                    if let alpha = report.component("alpha"), condition(alpha) { return true }
                }
            }
            return false
        }

        #expect(run { $0.state == .healthy })
        #expect(monitor.lastReport?.component("alpha")?.checks.first { $0.name == "agent" }?.state == .healthy)

        agent.kill()
        let before = reports.count
        #expect(run { $0.state == .unhealthy })
        let failing = reports[before...].compactMap { $0.component("alpha") }.filter { $0.consecutiveFailures > 0 }
        #expect(failing.map(\.state) == [.degraded, .degraded, .unhealthy], "degraded until the third failed check")
        let last = try #require(failing.last)
        #expect(last.consecutiveFailures == 3)
        #expect(last.reason.contains("no agent is reading the in-FIFO"))
        #expect(last.trend.suffix(4) == [.healthy, .degraded, .degraded, .unhealthy])
        #expect(monitor.lastReport?.state == .unhealthy)

        agent = try startAgent(fx.inPath("alpha"))
        #expect(run { $0.state == .healthy })
        #expect(monitor.lastReport?.component("alpha")?.consecutiveFailures == 0)
        #expect(monitor.lastReport?.component("alpha")?.recoveryAttempts ?? 0 >= 1, "a recovery ran while it was down")
        agent.kill()
    }

    /// The session hub saw the agent exit: the first failed check is already unhealthy (no grace
    /// period), and the first check after it is back is healthy.
    @Test func exitedAgentIsUnhealthyAtTheFirstCheckAndHealthyWhenBack() throws {
        let fx = try HealthFixture(["alpha"])
        var agent = try startAgent(fx.inPath("alpha"))
        let monitor = fx.monitor(healthSettings(interval: 60, failures: 3))
        #expect(monitor.runChecks(now: 1).component("alpha")?.state == .healthy)
        agent.kill()
        monitor.noteAgent(instance: "alpha", down: true, at: 2)
        let down = monitor.runChecks(now: 3).component("alpha")
        #expect(down?.state == .unhealthy, "reason: \(down?.reason ?? "")")
        agent = try startAgent(fx.inPath("alpha"))
        monitor.noteAgent(instance: "alpha", down: false, at: 4)
        #expect(monitor.runChecks(now: 5).component("alpha")?.state == .healthy)
        agent.kill()
    }

    /// Seen in the demo: an agent gone for one check read "(failed 3 checks in a row)": the
    /// count the exit pre-loads (to skip the grace period) is not a number of checks.
    @Test func exitedAgentsReasonCountsOnlyTheChecksThatRan() throws {
        let fx = try HealthFixture(["alpha"])
        var agent = try startAgent(fx.inPath("alpha"))
        let monitor = fx.monitor(healthSettings(interval: 60, failures: 3))
        #expect(monitor.runChecks(now: 1).component("alpha")?.state == .healthy)
        agent.kill()
        monitor.noteAgent(instance: "alpha", down: true, at: 2)
        let first = try #require(monitor.runChecks(now: 3).component("alpha"))
        #expect(first.state == .unhealthy)
        #expect(!first.reason.contains("checks in a row"), "reason: \(first.reason)")
        let second = try #require(monitor.runChecks(now: 4).component("alpha"))
        #expect(second.reason.hasSuffix("(failed 2 checks in a row)"), "reason: \(second.reason)")
        agent = try startAgent(fx.inPath("alpha"))
        #expect(monitor.runChecks(now: 5).component("alpha")?.state == .healthy)
        agent.kill()
    }

    @Test func recoveryRecreatesADeletedFifoOfAManagedInstance() throws {
        let fx = try HealthFixture(["alpha"])
        var reopened: [String] = []
        let monitor = fx.monitor(healthSettings(interval: 1, failures: 2, delay: 0.5), managed: ["alpha"]) { reopened.append($0) }
        try FifoSafety.remove(fx.outPath("alpha"))

        let first = try #require(monitor.tick(now: 100))
        let a1 = try #require(first.component("alpha"))
        #expect(a1.state == .degraded)
        #expect(a1.reason.contains("out-FIFO missing"))
        #expect(a1.managed)
        #expect(monitor.tick(now: 100.5) == nil, "not due before check_interval")
        let second = try #require(monitor.tick(now: 101))
        #expect(second.component("alpha")?.state == .unhealthy)
        #expect(monitor.nextDue() == 101.5, "recovery waits recovery_delay")
        #expect(FifoSafety.inspect(fx.outPath("alpha")) == .missing, "nothing recreated before the delay")

        let third = try #require(monitor.tick(now: 101.5), "recovery runs, then checks at once")
        guard case .fifo(let mode, _, _, _) = FifoSafety.inspect(fx.outPath("alpha")) else {
            Issue.record("out-FIFO not recreated"); return
        }
        #expect(mode == 0o660)
        #expect(reopened == ["alpha"])
        let a3 = try #require(third.component("alpha"))
        #expect(a3.recoveryAttempts == 1)
        #expect(a3.lastRecovery?.contains("recreated alpha.out.fifo") == true)
        #expect(a3.checks.first { $0.name == "pipes" }?.state == .healthy)
        #expect(a3.checks.first { $0.name == "agent" }?.state == .unhealthy, "no agent, which the host cannot fix")
    }

    @Test func unmanagedInstancesAreNotRecreatedButReopenIsAsked() throws {
        let fx = try HealthFixture(["beta"])
        var reopened: [String] = []
        let monitor = fx.monitor(healthSettings(interval: 1, failures: 1, delay: 0), managed: []) { reopened.append($0) }
        try FifoSafety.remove(fx.inPath("beta"))
        monitor.tick(now: 0)
        monitor.tick(now: 0)  // recovery due at once
        #expect(reopened == ["beta"])
        #expect(FifoSafety.inspect(fx.inPath("beta")) == .missing)
    }

    @Test func unsafeFifoModeIsFlagged() throws {
        let fx = try HealthFixture(["alpha", "beta"])
        chmod(fx.inPath("alpha"), 0o666)
        let strict = fx.monitor(healthSettings()).runChecks(now: 0)
        let pipes = try #require(strict.component("fifo_pipes"))
        #expect(pipes.state == .degraded)
        #expect(pipes.reason.contains("1 unsafe FIFO: alpha.in.fifo (mode 666)"), "\(pipes.reason)")
        let alpha = try #require(strict.component("alpha"))
        let pipeCheck = try #require(alpha.checks.first { $0.name == "pipes" })
        #expect(pipeCheck.state == .unhealthy)
        #expect(pipeCheck.reason.contains("in-FIFO mode 666 is writable by other users (refused"))
        #expect(alpha.checks.first { $0.name == "agent" }?.state == .unknown, "a refused pipe is not opened")
        #expect(strict.component("beta")?.checks.first { $0.name == "pipes" }?.state == .healthy)

        let lenient = fx.monitor(healthSettings(), policy: PipePolicy(allowUnsafe: true)).runChecks(now: 0)
        let lenientPipes = try #require(lenient.component("alpha")?.checks.first { $0.name == "pipes" })
        #expect(lenientPipes.state == .degraded)
        #expect(lenientPipes.reason.contains("allowed by --allow-unsafe-pipes"))
    }

    @Test func healthDisabled() throws {
        let fx = try HealthFixture(["alpha"])
        let monitor = fx.monitor(healthSettings(enabled: false))
        #expect(monitor.nextDue() == nil)
        #expect(monitor.tick(now: 0) == nil)
        let report = monitor.runChecks(now: 0)
        #expect(!report.enabled)
        #expect(report.state == .unknown)
        #expect(report.components.isEmpty)
        #expect(report.reason.contains("disabled"))
    }

    @Test func noDockerIsUnknownWithAReason() throws {
        let fx = try HealthFixture(["alpha"])
        let report = fx.monitor(healthSettings()).runChecks(now: 0)
        let docker = try #require(report.component("docker_daemon"))
        #expect(docker.state == .unknown)
        #expect(docker.reason.hasPrefix("unavailable: "))
        #expect(docker.reason.contains("does not exist"))
        let container = try #require(report.component("alpha")?.checks.first { $0.name == "container" })
        #expect(container.state == .unknown)
        #expect(container.reason.contains("Docker unavailable"))
        for component in report.components {
            #expect(!component.reason.isEmpty, "\(component.name) has no reason")
            for check in component.checks { #expect(!check.reason.isEmpty, "\(component.name).\(check.name) has no reason") }
        }
    }

    @Test func containerStateComesFromTheEngineAPI() throws {
        let fx = try HealthFixture(["alpha", "beta"])
        let server = try FakeDockerServer(path: fx.tmp.path + "/d.sock") { line in
            if line.hasPrefix("GET /_ping") { return FakeDockerServer.ping }
            let body: String
            if line.contains("%3Dalpha") {
                body = "[" + FakeDockerServer.containerJSON(id: "a1", name: "cc-alpha", state: "running", status: "Up 3 hours",
                                                             labels: ["cc-bridge.instance": "alpha"]) + "]"
            } else if line.contains("%3Dbeta") {
                body = "[" + FakeDockerServer.containerJSON(id: "b1", name: "cc-beta", state: "exited", status: "Exited (137) 5 seconds ago",
                                                             labels: ["cc-bridge.instance": "beta"]) + "]"
            } else {
                body = "[]"
            }
            return FakeDockerServer.response("200 OK", contentType: "application/json", body: body, chunked: [64])
        }
        defer { server.stop() }
        let report = fx.monitor(healthSettings(), docker: DockerClient(socketPath: server.path)).runChecks(now: 0)
        #expect(report.component("docker_daemon")?.state == .healthy)
        let alpha = try #require(report.component("alpha")?.checks.first { $0.name == "container" })
        #expect(alpha.state == .healthy)
        #expect(alpha.reason == "container cc-alpha running (Up 3 hours)")
        #expect(alpha.details["matched_by"] == "label cc-bridge.instance=alpha")
        let beta = try #require(report.component("beta")?.checks.first { $0.name == "container" })
        #expect(beta.state == .unhealthy)
        #expect(beta.reason.contains("exited (Exited (137) 5 seconds ago)"))
    }

    @Test func dockerErrorsDegradeButNeverThrow() throws {
        let fx = try HealthFixture([])
        let server = try FakeDockerServer(path: fx.tmp.path + "/d.sock") { _ in
            FakeDockerServer.response("500 Internal Server Error", contentType: "application/json", body: #"{"message":"boom"}"#)
        }
        defer { server.stop() }
        let report = fx.monitor(healthSettings(), docker: DockerClient(socketPath: server.path)).runChecks(now: 0)
        let docker = try #require(report.component("docker_daemon"))
        #expect(docker.state == .degraded)
        #expect(docker.reason.contains("500"))
        #expect(docker.reason.contains("boom"))
    }

    @Test func activityAndSessionInputsFeedTheInstanceChecks() throws {
        let fx = try HealthFixture(["alpha"])
        let agent = try startAgent(fx.inPath("alpha"))
        defer { agent.kill() }
        let monitor = fx.monitor(healthSettings())
        monitor.heartbeatTimeout = 30
        var tracker = SessionTracker(settings: SessionSettings(), framing: .framed)
        tracker.promptSent(id: "a", text: "p", at: 990)
        tracker.output(text: "x", at: 991.5)
        tracker.framedDone(id: "a", status: .ok, exit: 0, at: 994)
        tracker.heartbeat(at: 995)
        monitor.noteOutput(instance: "alpha", at: 991.5)
        monitor.updateSession(instance: "alpha", summary: tracker.summary(), framing: .framed)

        let fresh = try #require(monitor.runChecks(now: 1000).component("alpha"))
        let activity = try #require(fresh.checks.first { $0.name == "activity" })
        #expect(activity.state == .healthy)
        #expect(activity.details["last_heartbeat_age"] == "5.0 s")
        let session = try #require(fresh.checks.first { $0.name == "session" })
        #expect(session.state == .healthy)
        #expect(session.reason == "active; 1 request, 100% succeeded; last first byte after 1.5 s, last turn 4.0 s")
        #expect(fresh.state == .healthy)

        let stale = try #require(monitor.runChecks(now: 1040).component("alpha"))
        #expect(stale.checks.first { $0.name == "activity" }?.state == .degraded)
        #expect(stale.state == .degraded)
        #expect(stale.reason.contains("no heartbeat for 45 s"))
    }

    /// The session check's rate is of finished turns: a turn the agent's crash cut off is
    /// named, not counted as a success ("3 requests, 100% succeeded" was shown after a crash).
    @Test func aSessionWithAnInterruptedTurnSaysSoBesideItsRate() throws {
        var tracker = SessionTracker(settings: SessionSettings(), framing: .framed)
        for (n, id) in ["a", "b"].enumerated() {
            let at = Double(n * 10)
            tracker.promptSent(id: id, text: "p", at: at)
            tracker.output(text: "x", at: at + 1)
            tracker.framedDone(id: id, status: .ok, exit: 0, at: at + 2)
        }
        let allFinished = HealthRules.session(tracker.summary())
        #expect(allFinished.reason.contains("; 2 requests, 100% succeeded;"))
        #expect(!allFinished.reason.contains("interrupted"))

        tracker.promptSent(id: "c", text: "p", at: 30)
        tracker.output(text: "thinking", at: 30.5)
        tracker.agentExited(at: 31)
        let afterCrash = HealthRules.session(tracker.summary())
        #expect(afterCrash.reason.contains("3 requests, 100% of the 2 finished succeeded, 1 interrupted;"))
        #expect(!afterCrash.reason.contains("3 requests, 100% succeeded"))
        #expect(afterCrash.details["interrupted"] == "1" && afterCrash.details["success_rate"] == "1.00")
        #expect(allFinished.details["interrupted"] == nil)
    }

    @Test func pipeDirProblems() throws {
        let tmp = TempDir()
        let missing = HealthMonitor(settings: healthSettings(), pipeDirectory: tmp.path + "/nope",
                                    config: .loaded(BridgeConfig(), path: "x"), probes: HealthProbes(docker: nil)).runChecks(now: 0)
        #expect(missing.component("fifo_pipes")?.state == .unhealthy)
        #expect(missing.component("fifo_pipes")?.reason == "pipe_dir \(tmp.path)/nope does not exist")
        #expect(missing.component("docker_daemon")?.state == .unknown)

        chmod(tmp.path, 0o777)
        let open = HealthMonitor(settings: healthSettings(), pipeDirectory: tmp.path,
                                 config: .loaded(BridgeConfig(), path: "x"), probes: HealthProbes(docker: nil)).runChecks(now: 0)
        #expect(open.component("fifo_pipes")?.state == .degraded)
        #expect(open.component("fifo_pipes")?.reason.contains("world-writable without the sticky bit") == true)
    }

    @Test func configCheckNamesTheFileAndItsWarnings() {
        var config = BridgeConfig()
        #expect(HealthRules.config(.loaded(config, path: "/c.yaml")).reason == "no config file at /c.yaml; using defaults")
        config.sourcePath = "/c.yaml"
        #expect(HealthRules.config(.loaded(config, path: "/c.yaml")) == CheckResult("config", .healthy, "loaded from /c.yaml", details: ["path": "/c.yaml"]))
        config.warnings = ["/c.yaml:4: docker.session.idle_timout: unknown key, ignored"]
        let warned = HealthRules.config(.loaded(config, path: "/c.yaml"))
        #expect(warned.state == .degraded)
        #expect(warned.reason.contains("1 warning: /c.yaml:4: docker.session.idle_timout"))
        let failed = HealthRules.config(.failed(ConfigError(file: "/c.yaml", line: 7, keyPath: "docker.pipe_dir", message: "expected a string")))
        #expect(failed.state == .unhealthy)
        #expect(failed.reason == "/c.yaml:7: docker.pipe_dir: expected a string")
    }

    @Test func checksCanRunOffTheOwnersThread() async throws {
        let fx = try HealthFixture(["alpha"])
        let monitor = fx.monitor(healthSettings(interval: 10))
        let inputs = try #require(monitor.startCheck(now: 5))
        #expect(monitor.startCheck(now: 5) == nil, "one run at a time")
        let probes = monitor.probes
        let observation = await Task.detached { HealthProbe.observe(inputs, probes: probes) }.value
        let report = monitor.apply(observation)
        #expect(report.component("alpha") != nil)
        #expect(monitor.nextDue() == 15)
        #expect(monitor.startCheck(now: 14) == nil)
        #expect(monitor.startCheck(now: 15) != nil)
    }

    @Test func trendIsBoundedAndUptimeCountsFromFirstSeen() throws {
        let fx = try HealthFixture(["alpha"])
        let monitor = fx.monitor(healthSettings(interval: 1, failures: 1000))
        for t in 0..<30 { monitor.tick(now: 100 + Double(t)) }
        let alpha = try #require(monitor.lastReport?.component("alpha"))
        #expect(alpha.trend.count == HealthMonitor.trendLength)
        #expect(alpha.firstSeen == 100)
        #expect(alpha.uptime == 29)
        #expect(alpha.consecutiveFailures == 30)
    }

    @Test func reportEncodesAsDocumented() throws {
        let fx = try HealthFixture(["alpha"])
        let report = fx.monitor(healthSettings()).runChecks(now: 1_700_000_000)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self)
        for key in ["\"checked_at\":1700000000", "\"consecutive_failures\":", "\"recovery_attempts\":", "\"first_seen\":",
                    "\"trend\":[", "\"kind\":\"instance\"", "\"name\":\"docker_daemon\"", "\"name\":\"fifo_pipes\"", "\"name\":\"config\""] {
            #expect(json.contains(key), "missing \(key)")
        }
        #expect(try JSONDecoder().decode(HealthReport.self, from: Data(json.utf8)) == report)
    }
}
