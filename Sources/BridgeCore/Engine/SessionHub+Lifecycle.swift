// SessionHub+Lifecycle: the agent's comings and goings made visible. AgentLiveness judges the
// facts (in-FIFO probes, output, heartbeats, `hello`, pipes vanishing); here they take effect:
// an agent that went away has its unfinished output line ended and its open turns ended as
// interrupted at once (so no reply that begins after a restart is credited to a prompt the old
// agent swallowed, nor glued onto its last words) and tells the health monitor;
// one that is back gets its queued prompts. The probe runs every `busyProbeInterval` while a turn
// is open or an agent is down, else every `idleProbeInterval`: one open(2) and close(2) each, for
// every instance with a turn open or not probed yet and, in turn, for at most
// `waitingProbesPerTick` instances whose agent went and at most `idleProbesPerTick` idle ones (with more idle instances than that, an
// idle agent's death is seen within a few rounds instead of two ticks; with more instances
// waiting for an agent than that, a silent agent's return is seen within a few rounds: its first
// output or `hello` shows it at once anyway).

extension SessionHub {
    func lifecycle(_ session: InstanceSession, _ signs: [AgentLifecycleSign]) {
        guard !signs.isEmpty else {
            updateActivity(session)
            return
        }
        let now = Self.now()
        for sign in signs {
            switch sign {
            case .exited(let why):
                // The dead agent's unfinished line ends before the marker (and is its turn's last
                // output), so the next agent's output never continues it.
                if let closing = engine.endWriter(of: session.name) {
                    onEvent(.output(instance: session.name, batch: closing))
                    // Counted at the time the fragment began arriving, not now (that is when we noticed).
                    let began = closing.count > 0 ? closing[0].timestamp : now
                    let finished = closing.finishedTextByteCount
                    if finished > 0 { sessionChanged(session, session.tracker.output(byteCount: finished, at: began) { closing.finishedText }) }
                }
                let ended = session.tracker.agentExited(at: now)
                onEvent(.lifecycle(instance: session.name, change: .exited(interrupted: ended.last, why: why)))
                sessionChanged(session, ended)
                session.restarted = false
                monitor?.noteAgent(instance: session.name, down: true, at: now)
            case .back:
                session.restarted = true
                onEvent(.lifecycle(instance: session.name, change: .back(restarted: true)))
                monitor?.noteAgent(instance: session.name, down: false, at: now)
            case .seen:
                onEvent(.lifecycle(instance: session.name, change: .seen))
                monitor?.noteAgent(instance: session.name, down: false, at: now)
            }
        }
        updateActivity(session)
        if session.liveness.state == .up { pumpOutbox(session.name) }
    }

    /// Probes attached instances' in-FIFOs for a reader: every one with a turn open or not probed
    /// yet, and in turn those whose agent went and the idle ones.
    func probeAgents() {
        var ready: [String: InstanceInfo] = [:]
        for info in engine.currentInstances where info.isReady { ready[info.name] = info }
        var idle: [(InstanceSession, InstanceInfo)] = []
        var waiting: [(InstanceSession, InstanceInfo)] = []
        for (name, session) in sessions.sorted(by: { $0.key < $1.key }) where engine.mode(of: name) != nil {
            guard let info = ready[name] else { continue }
            if Self.isIdleForProbes(session) {
                idle.append((session, info))
            } else if Self.isWaitingForAgent(session) {
                waiting.append((session, info))
            } else {
                lifecycle(session, session.liveness.probed(listening: probe(info.inPath)))
            }
        }
        probeInTurn(waiting, atMost: options.waitingProbesPerTick, cursor: &waitingProbeCursor)
        probeInTurn(idle, atMost: options.idleProbesPerTick, cursor: &probeCursor)
    }

    private func probeInTurn(_ sessions: [(InstanceSession, InstanceInfo)], atMost limit: Int, cursor: inout Int) {
        guard !sessions.isEmpty else { return }
        let count = min(sessions.count, max(1, limit))
        let start = cursor % sessions.count
        for k in 0..<count {
            let (session, info) = sessions[(start + k) % sessions.count]
            lifecycle(session, session.liveness.probed(listening: probe(info.inPath)))
        }
        cursor = (start + count) % sessions.count
    }

    /// One liveness probe of an in-FIFO (counted by tests through `probeSeen`).
    private func probe(_ inPath: String) -> Bool {
        probeSeen?(inPath)
        return writer.isListening(inPath)
    }

    /// The instance's agent went (two probes found no reader) and no turn is open. Instances not
    /// probed yet (`unknown`) are not: every one of them is probed at the next tick, so a
    /// thousand agents found at start are seen in one tick (and one health check), not spread over
    /// many.
    static func isWaitingForAgent(_ session: InstanceSession) -> Bool {
        session.liveness.state == .down && session.activity != .working && session.activity != .sending
    }

    static func isIdleForProbes(_ session: InstanceSession) -> Bool {
        session.liveness.state == .up && session.activity != .working && session.activity != .sending
    }

    /// Keeps one probe timer at the interval the sessions need now.
    func scheduleProbe() {
        guard running else { return }
        let busy = sessions.values.contains { !Self.isIdleForProbes($0) }
        let interval = busy ? options.busyProbeInterval : options.idleProbeInterval
        guard interval != probeInterval || probeTimer == nil else { return }
        if let probeTimer { loop.cancel(probeTimer) }
        probeInterval = interval
        probeTimer = loop.schedule(after: interval, repeating: interval) { [unowned self] in self.probeAgents() }
    }
}
