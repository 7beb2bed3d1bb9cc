// HealthScheduler: runs a HealthMonitor on an EventLoop, for every owner of a SessionHub (the
// TUI, the server). A timer at the monitor's next due time; the blocking probe on a background
// queue, judged back on the loop; due recoveries (which ask the hub to rescan); a check at once
// when the agent goes or comes back (`checkNow`), one more after a running check when asked
// meanwhile. Each report goes to `onReport`. Loop thread only.

import Dispatch
import Foundation

public final class HealthScheduler {
    public let monitor: HealthMonitor
    private let loop: EventLoop
    private var timer: EventLoop.TimerID?
    private var probeRunning = false
    /// A check was asked for while one ran: run another when it ends.
    private var recheck = false
    private var running = false
    /// Told about every report, on the loop.
    public var onReport: (HealthReport) -> Void = { _ in }

    /// A scheduler for `hub`: the monitor hears what the hub sees, and recovery rescans it.
    public init(monitor: HealthMonitor, hub: SessionHub) {
        self.monitor = monitor
        loop = hub.loop
        monitor.reopen = { [unowned hub] _ in hub.rescan() }
        hub.monitor = monitor
    }

    /// A monitor for `config` (Docker through the environment's socket) when health checks are
    /// enabled, else nil.
    public static func make(for hub: SessionHub, config: BridgeConfig, configPath: String, policy: PipePolicy,
                            environment: [String: String], managed: Set<String> = []) -> HealthScheduler? {
        guard config.docker.health.enabled else { return nil }
        let monitor = HealthMonitor(config: config, configPath: configPath, policy: policy,
                                    docker: DockerClient(environment: environment), managed: managed)
        return HealthScheduler(monitor: monitor, hub: hub)
    }

    public func start() {
        running = true
        schedule()
    }

    public func stop() {
        running = false
        if let timer { loop.cancel(timer) }
        timer = nil
    }

    /// The session saw the agent go, come back or show up: the health shown changes at once.
    public func noteSessionEvent(_ event: SessionEvent) {
        if case .lifecycle = event { checkNow() }
    }

    /// Checks now, whatever the schedule (once more after the running check, if one runs).
    public func checkNow() {
        guard running else { return }
        guard !probeRunning else {
            recheck = true
            return
        }
        if let timer { loop.cancel(timer) }
        timer = nil
        probe(monitor.inputs(now: Self.now()))
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// A timer at the monitor's next due time (none while disabled or while a probe runs).
    private func schedule() {
        if let timer { loop.cancel(timer) }
        timer = nil
        guard running, !probeRunning, let due = monitor.nextDue() else { return }
        timer = loop.schedule(after: max(0, due - Self.now())) { [unowned self] in
            self.timer = nil
            guard !self.probeRunning else { return }
            let now = Self.now()
            self.monitor.recoverIfDue(now: now)
            if let inputs = self.monitor.startCheck(now: now) { self.probe(inputs) } else { self.schedule() }
        }
    }

    /// Runs the blocking probe on a background queue; the result is judged back on the loop.
    private func probe(_ inputs: HealthInputs) {
        probeRunning = true
        let probes = monitor.probes
        let loop = self.loop
        let scheduler = LoopBound(value: self)
        DispatchQueue.global(qos: .utility).async {
            let observation = HealthProbe.observe(inputs, probes: probes)
            loop.post { scheduler.value.observed(observation) }
        }
    }

    private func observed(_ observation: HealthObservation) {
        probeRunning = false
        let report = monitor.apply(observation)
        monitor.recoverIfDue(now: Self.now())
        guard running else { return }
        onReport(report)
        if recheck {
            recheck = false
            checkNow()
        } else {
            schedule()
        }
    }
}
