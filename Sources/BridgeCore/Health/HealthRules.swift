// HealthRules: the judging half of a health check, pure: observation in, states and reasons out.
// The thresholds live here, each with the reason it produces.

import Foundation

public enum HealthRules {
    /// A framed agent sends heartbeats; none for this long means it is stalled.
    public static let defaultHeartbeatTimeout: Double = 30

    // MARK: global checks

    public static func docker(_ observation: DockerObservation) -> CheckResult {
        switch observation {
        case .notConfigured:
            CheckResult("docker_daemon", .unknown, "not checked: no Docker client configured")
        case .reachable(let endpoint):
            CheckResult("docker_daemon", .healthy, "Docker Engine API at \(endpoint) answered /_ping", details: ["endpoint": endpoint])
        case .absent(let why):
            CheckResult("docker_daemon", .unknown, "unavailable: \(why)")
        case .failing(let why):
            CheckResult("docker_daemon", .degraded, why.hasPrefix("unavailable") ? why : "unavailable: \(why)")
        }
    }

    public static func pipes(_ d: DirectoryObservation, brokenInstances: [String]) -> CheckResult {
        var details = ["path": d.path]
        guard let kind = d.kind else {
            return CheckResult("fifo_pipes", .unhealthy, "pipe_dir \(d.path) does not exist", details: details)
        }
        details["mode"] = String(d.mode, radix: 8)
        guard kind == "directory" else {
            return CheckResult("fifo_pipes", .unhealthy, "pipe_dir \(d.path) is a \(kind), not a directory", details: details)
        }
        details["fifos"] = String(d.fifoCount)
        if !d.unsafeFifos.isEmpty { details["unsafe_fifos"] = d.unsafeFifos.joined(separator: ", ") }
        if !d.problems.isEmpty { details["problems"] = d.problems.joined(separator: "; ") }
        guard d.writable else {
            return CheckResult("fifo_pipes", .unhealthy, "pipe_dir \(d.path) is not writable by this user", details: details)
        }
        var issues: [String] = d.problems
        if !d.unsafeFifos.isEmpty {
            issues.append("\(d.unsafeFifos.count) unsafe FIFO\(d.unsafeFifos.count == 1 ? "" : "s"): \(d.unsafeFifos.joined(separator: ", "))")
        }
        if !brokenInstances.isEmpty { issues.append("broken: \(brokenInstances.joined(separator: ", "))") }
        let summary = "\(d.path): mode \(String(d.mode, radix: 8)), \(d.fifoCount) FIFO\(d.fifoCount == 1 ? "" : "s")"
        if issues.isEmpty { return CheckResult("fifo_pipes", .healthy, summary, details: details) }
        return CheckResult("fifo_pipes", .degraded, summary + "; " + issues.joined(separator: "; "), details: details)
    }

    public static func config(_ status: ConfigStatus) -> CheckResult {
        switch status {
        case .failed(let error):
            return CheckResult("config", .unhealthy, error.description, details: ["path": error.file])
        case .loaded(let config, let path):
            guard let source = config.sourcePath else {
                return CheckResult("config", .healthy, "no config file at \(path); using defaults", details: ["path": path])
            }
            var details = ["path": source]
            if config.warnings.isEmpty {
                return CheckResult("config", .healthy, "loaded from \(source)", details: details)
            }
            details["warnings"] = config.warnings.joined(separator: "\n")
            let n = config.warnings.count
            return CheckResult("config", .degraded, "loaded from \(source) with \(n) warning\(n == 1 ? "" : "s"): \(config.warnings[0])",
                               details: details)
        }
    }

    // MARK: instance checks

    public static func instance(_ o: InstanceObservation, activity: InstanceActivity?, dockerObservation: DockerObservation,
                                policy: PipePolicy, uid: UInt32, now: Double,
                                heartbeatTimeout: Double = defaultHeartbeatTimeout) -> [CheckResult] {
        if let invalid = o.invalidName {
            return [CheckResult("pipes", .unhealthy, "invalid instance name: \(invalid)")]
        }
        return [
            pipes(o, policy: policy, uid: uid),
            agent(o),
            self.activity(activity, now: now, heartbeatTimeout: heartbeatTimeout),
            container(o.container, instance: o.name, docker: dockerObservation),
            session(activity?.session),
        ]
    }

    public static func pipes(_ o: InstanceObservation, policy: PipePolicy, uid: UInt32) -> CheckResult {
        var worst: [HealthState] = []
        var reasons: [String] = []
        var details: [String: String] = [:]
        for (label, pipe) in [("in", o.inPipe), ("out", o.outPipe)] {
            switch pipe {
            case .missing:
                worst.append(.unhealthy); reasons.append("\(label)-FIFO missing")
            case .symlink:
                worst.append(.unhealthy); reasons.append("\(label)-FIFO is a symlink (refused)")
            case .notFifo(let kind):
                worst.append(.unhealthy); reasons.append("\(label)-FIFO is a \(kind), not a FIFO")
            case .fifo(let mode, let owner):
                details["\(label)_mode"] = String(mode, radix: 8)
                if owner != uid {
                    worst.append(.unhealthy); reasons.append("\(label)-FIFO owned by uid \(owner) (refused)")
                } else if mode & 0o002 != 0 {
                    if policy.allowUnsafe {
                        worst.append(.degraded)
                        reasons.append("\(label)-FIFO mode \(String(mode, radix: 8)) is writable by other users (allowed by --allow-unsafe-pipes)")
                    } else {
                        worst.append(.unhealthy)
                        reasons.append("\(label)-FIFO mode \(String(mode, radix: 8)) is writable by other users (refused; chmod 660 it or pass --allow-unsafe-pipes)")
                    }
                } else {
                    worst.append(.healthy)
                }
            }
        }
        if let problem = o.directoryProblem {
            worst.append(policy.allowUnsafe ? .degraded : .unhealthy)
            reasons.append(problem + (policy.allowUnsafe ? " (allowed by --allow-unsafe-pipes)" : " (refused)"))
        }
        let state = HealthState.worst(worst)
        if state == .healthy {
            return CheckResult("pipes", .healthy, "both FIFOs present and safe (modes \(details["in_mode"] ?? "?")/\(details["out_mode"] ?? "?"))", details: details)
        }
        return CheckResult("pipes", state, reasons.joined(separator: "; "), details: details)
    }

    public static func agent(_ o: InstanceObservation) -> CheckResult {
        switch o.listening {
        case .none: CheckResult("agent", .unknown, "not checked: the in-FIFO is not usable")
        case .some(true): CheckResult("agent", .healthy, "an agent has the in-FIFO open for reading")
        case .some(false): CheckResult("agent", .unhealthy, "no agent is reading the in-FIFO (agent stopped or container down)")
        }
    }

    public static func activity(_ a: InstanceActivity?, now: Double, heartbeatTimeout: Double) -> CheckResult {
        var details: [String: String] = [:]
        let lastOutput = a?.lastOutput
        if let lastOutput { details["last_output_age"] = age(now - lastOutput) }
        if let hb = a?.lastHeartbeat { details["last_heartbeat_age"] = age(now - hb) }
        if let a, a.framing == .framed {
            details["framing"] = "framed"
            guard let hb = a.lastHeartbeat else {
                return CheckResult("activity", .unknown, "no heartbeat seen yet", details: details)
            }
            if now - hb > heartbeatTimeout {
                return CheckResult("activity", .degraded, "no heartbeat for \(age(now - hb)) (more than \(age(heartbeatTimeout))): agent stalled?", details: details)
            }
            return CheckResult("activity", .healthy, "last heartbeat \(age(now - hb)) ago" + (lastOutput.map { ", last output \(age(now - $0)) ago" } ?? ""), details: details)
        }
        guard let lastOutput else {
            return CheckResult("activity", .unknown, "no output seen yet", details: details)
        }
        // The plain protocol has no heartbeat, and silence between replies is normal.
        return CheckResult("activity", .healthy, "last output \(age(now - lastOutput)) ago", details: details)
    }

    public static func container(_ lookup: ContainerLookup?, instance: String, docker: DockerObservation) -> CheckResult {
        guard let lookup else {
            switch docker {
            case .absent(let why), .failing(let why): return CheckResult("container", .unknown, "Docker unavailable (\(why))")
            case .notConfigured: return CheckResult("container", .unknown, "Docker not checked")
            case .reachable: return CheckResult("container", .unknown, "not looked up")
            }
        }
        switch lookup {
        case .unavailable(let why):
            return CheckResult("container", .unknown, "Docker unavailable (\(why))")
        case .failed(let why):
            return CheckResult("container", .degraded, "lookup failed: \(why)")
        case .notFound:
            return CheckResult("container", .unknown,
                               "no container \(ContainerLookup.searched(for: instance)) (the agent may run outside Docker)")
        case .found(let c, let how):
            let details = ["id": c.shortID, "name": c.displayName, "state": c.state, "status": c.status, "matched_by": how]
            let text = "container \(c.displayName) \(c.state) (\(c.status))"
            switch c.state {
            case "running": return CheckResult("container", .healthy, text, details: details)
            case "restarting", "paused", "removing": return CheckResult("container", .degraded, text, details: details)
            default: return CheckResult("container", .unhealthy, text, details: details)
            }
        }
    }

    public static func session(_ s: SessionSummary?) -> CheckResult {
        guard let s else { return CheckResult("session", .unknown, "no session data yet") }
        var details = ["state": s.state.rawValue, "requests": String(s.requests), "completed": String(s.completed),
                       "failed": String(s.failed + s.timedOut)]
        if let rate = s.successRate { details["success_rate"] = String(format: "%.2f", rate) }
        if s.interrupted > 0 { details["interrupted"] = String(s.interrupted) }
        if s.open > 0 { details["open"] = String(s.open) }
        if let t = s.lastTTFB { details["last_ttfb"] = String(format: "%.3f", t) }
        if let d = s.lastDuration { details["last_duration"] = String(format: "%.3f", d) }
        var text = "\(s.state.rawValue); \(s.requests) request\(s.requests == 1 ? "" : "s")"
        let finished = s.completed + s.failed + s.timedOut
        if let rate = s.successRate {
            // The rate leaves out interrupted and open turns: said so, or "3 requests, 100%
            // succeeded" would count a turn the agent's crash cut off as a success.
            let percent = Int((rate * 100).rounded())
            text += finished == s.requests ? ", \(percent)% succeeded" : ", \(percent)% of the \(finished) finished succeeded"
        }
        if s.interrupted > 0 { text += ", \(s.interrupted) interrupted" }
        if let t = s.lastTTFB { text += "; last first byte after \(age(t))" }
        if let d = s.lastDuration { text += ", last turn \(age(d))" }
        if let rate = s.successRate, finished >= 4, rate < 0.5 {
            return CheckResult("session", .degraded, text + " (most turns fail)", details: details)
        }
        if s.lastStatus == .timeout {
            return CheckResult("session", .degraded, text + " (the last turn timed out)", details: details)
        }
        if s.lastStatus == .failed {
            return CheckResult("session", .degraded, text + " (the last turn failed)", details: details)
        }
        return CheckResult("session", .healthy, text, details: details)
    }

    public static func age(_ seconds: Double) -> String {
        let s = max(seconds, 0)
        if s < 10 { return String(format: "%.1f s", s) }
        if s < 120 { return "\(Int(s)) s" }
        if s < 7200 { return "\(Int(s / 60)) min" }
        return "\(Int(s / 3600)) h"
    }
}
