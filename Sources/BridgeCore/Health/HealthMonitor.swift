// HealthMonitor: runs the health checks (on demand or every check_interval), remembers
// consecutive failures, a short trend and first-seen times, and recovers what the host can fix.
//
// A run is probe (I/O, may block up to the Docker timeout) then apply (pure bookkeeping):
//   synchronous:  monitor.tick(now:) or monitor.runChecks(now:)      (commands, tests)
//   event loop:   if let inputs = monitor.startCheck(now:) { background { obs = HealthProbe.observe(inputs, probes)
//                 loop.post { report = monitor.apply(obs); monitor.recoverIfDue(now:) } } }
//                 with a timer at monitor.nextDue().
// An instance whose checks fail is `degraded` until it fails max_consecutive_failures checks in a
// row, then `unhealthy` (global checks are reported as seen, and their failures counted). At that point (and every max_consecutive_failures failures after) a
// recovery is scheduled recovery_delay later: FIFOs of managed instances are recreated
// (FifoSafety.create, 0660) and `reopen(instance)` is called so the owner reopens its channels.
// Not thread-safe: one owner thread.

import Foundation

public final class HealthMonitor {
    public static let trendLength = 20

    public var settings: HealthSettings
    public var pipeDirectory: String
    public var policy: PipePolicy
    public var config: ConfigStatus
    /// Instances whose FIFOs this host creates (and so may recreate).
    public var managed: Set<String>
    public var probes: HealthProbes
    public var heartbeatTimeout: Double = HealthRules.defaultHeartbeatTimeout
    /// Called on the owner's thread when recovery wants an instance's pipes reopened.
    public var reopen: (String) -> Void

    public private(set) var lastReport: HealthReport?
    public private(set) var runs = 0
    public private(set) var checkInFlight = false

    private var activity: [String: InstanceActivity] = [:]
    private var memory: [String: ComponentMemory] = [:]
    private var nextCheck: Double?
    private var recoveryDue: [String: Double] = [:]

    struct ComponentMemory {
        var firstSeen: Double
        var consecutiveFailures = 0
        /// Failed checks in a row that really ran (`consecutiveFailures` may be pre-loaded by an
        /// exit the session hub saw); what the reason text counts.
        var failedChecks = 0
        var recoveryAttempts = 0
        var lastRecovery: String?
        var trend: [HealthState] = []
    }

    public init(settings: HealthSettings, pipeDirectory: String, policy: PipePolicy = .strict, config: ConfigStatus,
                probes: HealthProbes, managed: Set<String> = [], reopen: @escaping (String) -> Void = { _ in }) {
        self.settings = settings
        self.pipeDirectory = pipeDirectory
        self.policy = policy
        self.config = config
        self.probes = probes
        self.managed = managed
        self.reopen = reopen
    }

    /// Built from a loaded config (pipe_dir and docker.health).
    public convenience init(config: BridgeConfig, configPath: String, policy: PipePolicy = .strict, docker: (any DockerEngine)?,
                            managed: Set<String> = [], reopen: @escaping (String) -> Void = { _ in }) {
        self.init(settings: config.docker.health, pipeDirectory: config.pipeDirectory, policy: policy,
                  config: .loaded(config, path: configPath), probes: HealthProbes(docker: docker), managed: managed, reopen: reopen)
    }

    // MARK: inputs from the stream (owner's thread)

    public func noteOutput(instance: String, at time: Double) {
        activity[instance, default: InstanceActivity()].lastOutput = time
    }

    public func noteHeartbeat(instance: String, at time: Double) {
        activity[instance, default: InstanceActivity()].framing = .framed
        activity[instance, default: InstanceActivity()].lastHeartbeat = time
    }

    public func updateSession(instance: String, summary: SessionSummary, framing: StreamFraming) {
        activity[instance, default: InstanceActivity()].session = summary
        activity[instance, default: InstanceActivity()].framing = framing
        if let hb = summary.lastHeartbeat { activity[instance, default: InstanceActivity()].lastHeartbeat = hb }
    }

    /// The session hub saw the agent go (an exited agent is unhealthy at the next check, with no
    /// grace period) or come back.
    public func noteAgent(instance: String, down: Bool, at time: Double) {
        activity[instance, default: InstanceActivity()].agentDownSince = down ? time : nil
        if down {
            memory[instance, default: ComponentMemory(firstSeen: time)].consecutiveFailures = max(settings.maxConsecutiveFailures, 1) - 1
        }
    }

    public func forget(instance: String) {
        activity[instance] = nil
        memory[instance] = nil
        recoveryDue[instance] = nil
    }

    // MARK: scheduling

    /// When the owner should call `tick` (or start a check) next; nil while disabled.
    public func nextDue() -> Double? {
        guard settings.enabled else { return nil }
        let due = [nextCheck ?? -Double.infinity] + Array(recoveryDue.values)
        return due.min()
    }

    /// Synchronous driver: runs due recoveries, then the checks if they are due. Returns the new
    /// report when checks ran. Blocks for the Docker calls (up to the client's timeout each).
    @discardableResult
    public func tick(now: Double) -> HealthReport? {
        guard settings.enabled else { return nil }
        recoverIfDue(now: now)
        guard let inputs = startCheck(now: now) else { return nil }
        return apply(HealthProbe.observe(inputs, probes: probes))
    }

    /// Runs all checks now, whatever the schedule. Blocks like `tick`.
    @discardableResult
    public func runChecks(now: Double) -> HealthReport {
        guard settings.enabled else { return disabledReport(now: now) }
        checkInFlight = true
        return apply(HealthProbe.observe(inputs(now: now), probes: probes))
    }

    /// For an event loop: the inputs of a check run if one is due and none is running, marking
    /// one as running. Hand them to `HealthProbe.observe` on another thread, then `apply`.
    public func startCheck(now: Double) -> HealthInputs? {
        guard settings.enabled, !checkInFlight, now >= (nextCheck ?? -Double.infinity) else { return nil }
        checkInFlight = true
        return inputs(now: now)
    }

    public func inputs(now: Double) -> HealthInputs {
        HealthInputs(now: now, pipeDirectory: pipeDirectory, policy: policy, config: config, managed: managed, activity: activity)
    }

    // MARK: judging

    /// Turns an observation into a report and updates failures, trends and the recovery schedule.
    @discardableResult
    public func apply(_ observation: HealthObservation) -> HealthReport {
        let now = observation.inputs.now
        checkInFlight = false
        runs += 1
        nextCheck = now + settings.checkInterval
        guard settings.enabled else { return disabledReport(now: now) }

        var components: [ComponentReport] = []
        let broken = observation.instances.filter { $0.invalidName != nil || $0.inPipe == .missing || $0.outPipe == .missing }
            .map { InstanceScanner.displayName($0.name) }
        let globals = [
            HealthRules.docker(observation.docker),
            HealthRules.pipes(observation.directory, brokenInstances: broken),
            HealthRules.config(observation.inputs.config),
        ]
        for check in globals {
            components.append(account(name: check.name, kind: .global, raw: check.state, reason: check.reason,
                                      checks: [check], now: now))
        }
        var seen = Set<String>()
        for o in observation.instances {
            seen.insert(o.name)
            let checks = HealthRules.instance(o, activity: observation.inputs.activity[o.name], dockerObservation: observation.docker,
                                              policy: observation.inputs.policy, uid: observation.uid, now: now,
                                              heartbeatTimeout: heartbeatTimeout)
            let raw = HealthState.worst(checks.map(\.state))
            let failing = checks.filter { $0.state == raw && raw != .healthy && raw != .unknown }.map { "\($0.name): \($0.reason)" }
            let reason = failing.isEmpty
                ? (raw == .unknown ? "nothing known yet" : "all checks healthy")
                : failing.joined(separator: "; ")
            var report = account(name: o.name, kind: .instance, raw: raw, reason: reason, checks: checks, now: now)
            report.managed = observation.inputs.managed.contains(o.name)
            components.append(report)
        }
        // Instances that vanished (and are not managed) are forgotten.
        for name in memory.keys where !seen.contains(name) && !["docker_daemon", "fifo_pipes", "config"].contains(name) {
            memory[name] = nil
            recoveryDue[name] = nil
        }
        let overall = HealthState.worst(components.map(\.state))
        let bad = components.filter { $0.state == .unhealthy || $0.state == .degraded }
        let reason = bad.isEmpty
            ? (overall == .unknown ? "nothing could be checked" : "all \(components.count) components healthy or unknown")
            : "\(bad.count) of \(components.count) components not healthy: "
                + bad.map { "\($0.name) \($0.state.rawValue) (\($0.reason))" }.joined(separator: "; ")
        let report = HealthReport(enabled: true, state: overall, reason: reason, checkedAt: now, run: runs, components: components)
        lastReport = report
        return report
    }

    /// Counts failures and keeps the trend for one component; schedules recovery.
    private func account(name: String, kind: ComponentKind, raw: HealthState, reason: String,
                         checks: [CheckResult], now: Double) -> ComponentReport {
        var m = memory[name] ?? ComponentMemory(firstSeen: now)
        let threshold = max(settings.maxConsecutiveFailures, 1)
        var state = raw
        var text = reason
        if raw == .unhealthy {
            m.consecutiveFailures += 1
            m.failedChecks += 1
            // Instances get a grace period (an agent reopening its FIFO is briefly absent);
            // global checks report what they see at once.
            if kind == .instance && m.consecutiveFailures < threshold {
                state = .degraded
                text = reason + " (failed \(m.consecutiveFailures) of \(threshold) checks before unhealthy)"
            } else if kind == .instance {
                text = reason + (m.failedChecks == 1 ? "" : " (failed \(m.failedChecks) checks in a row)")
                if (m.consecutiveFailures - threshold) % threshold == 0 {
                    recoveryDue[name] = now + settings.recoveryDelay
                }
            }
        } else {
            m.consecutiveFailures = 0
            m.failedChecks = 0
            recoveryDue[name] = nil
        }
        m.trend.append(state)
        if m.trend.count > Self.trendLength { m.trend.removeFirst(m.trend.count - Self.trendLength) }
        memory[name] = m
        return ComponentReport(name: name, kind: kind, state: state, reason: text, checks: checks,
                               consecutiveFailures: m.consecutiveFailures, recoveryAttempts: m.recoveryAttempts,
                               lastRecovery: m.lastRecovery, managed: false, firstSeen: m.firstSeen,
                               uptime: now - m.firstSeen, trend: m.trend)
    }

    // MARK: recovery

    public struct RecoveryRecord: Equatable, Sendable {
        public var instance: String
        public var actions: [String]
    }

    /// Runs the recoveries whose delay has passed. Call on the owner's thread (it calls `reopen`).
    @discardableResult
    public func recoverIfDue(now: Double) -> [RecoveryRecord] {
        var records: [RecoveryRecord] = []
        for (name, due) in recoveryDue.sorted(by: { $0.key < $1.key }) where due <= now {
            recoveryDue[name] = nil
            records.append(recover(instance: name))
        }
        if !records.isEmpty { nextCheck = now }  // show the effect at once
        return records
    }

    /// Recreates a managed instance's missing FIFOs and asks the owner to reopen its pipes.
    public func recover(instance name: String) -> RecoveryRecord {
        var actions: [String] = []
        if managed.contains(name), let valid = try? InstanceName(validating: name) {
            do {
                try FifoSafety.ensureDirectory(pipeDirectory)
                for path in [valid.inFifoPath(in: pipeDirectory), valid.outFifoPath(in: pipeDirectory)] {
                    if try FifoSafety.create(path, policy: policy) {
                        actions.append("recreated \((path as NSString).lastPathComponent)")
                    }
                }
            } catch {
                actions.append("could not recreate FIFOs: \(error)")
            }
        }
        reopen(name)
        actions.append("asked to reopen the pipes")
        memory[name, default: ComponentMemory(firstSeen: lastReport?.checkedAt ?? 0)].recoveryAttempts += 1
        memory[name]?.lastRecovery = actions.joined(separator: "; ")
        return RecoveryRecord(instance: name, actions: actions)
    }

    private func disabledReport(now: Double) -> HealthReport {
        let report = HealthReport(enabled: false, state: .unknown,
                                  reason: "health checks are disabled (docker.health.enabled: false)",
                                  checkedAt: now, run: runs, components: [])
        lastReport = report
        checkInFlight = false
        return report
    }
}
