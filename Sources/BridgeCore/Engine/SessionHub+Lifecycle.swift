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
// output or `hello` shows it at once anyway). While every session is idle, a tick looks at the
// instances it probes and no other; the timer slows to the idle interval once the probes found
// every agent (finding one changes no activity, so the tick itself reschedules).

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
    /// yet, and in turn those whose agent went and the idle ones. The instances come in the scan's
    /// order (by name), so there is no sort per tick, and the ones waiting their turn are kept as
    /// positions in that list (a thousand idle instances: a thousand cheap looks a tick).
    func probeAgents() {
        let list = engine.currentInstances
        if probesAllIdle {
            probeIdle(list)
            scheduleProbe()
            return
        }
        var idle: [Int] = []
        var waiting: [Int] = []
        for index in list.indices where list[index].isReady {
            let name = list[index].name
            guard let session = sessions[name], engine.mode(of: name) != nil else { continue }
            if Self.isIdleForProbes(session) {
                idle.append(index)
            } else if Self.isWaitingForAgent(session) {
                waiting.append(index)
            } else {
                lifecycle(session, session.liveness.probed(listening: probe(list[index].inPath)))
            }
        }
        probeInTurn(waiting, of: list, atMost: options.waitingProbesPerTick, cursor: &waitingProbeCursor)
        probeInTurn(idle, of: list, atMost: options.idleProbesPerTick, cursor: &probeCursor)
        // Agents first found (or found back) by these probes change no activity, so nothing
        // else would let the timer slow down once every one of them is idle.
        scheduleProbe()
    }

    /// Every session idle (the usual case): the next `idleProbesPerTick` attached instances in
    /// the list, from where the last tick stopped, and none other looked at.
    private func probeIdle(_ list: [InstanceInfo]) {
        guard !list.isEmpty else { return }
        var index = probeCursor % list.count
        var probed = 0
        for _ in 0..<list.count where probed < max(1, options.idleProbesPerTick) {
            let info = list[index]
            index = (index + 1) % list.count
            guard info.isReady, let session = sessions[info.name], engine.mode(of: info.name) != nil else { continue }
            probed += 1
            lifecycle(session, session.liveness.probed(listening: probe(info.inPath)))
        }
        probeCursor = index
    }

    private func probeInTurn(_ positions: [Int], of list: [InstanceInfo], atMost limit: Int, cursor: inout Int) {
        guard !positions.isEmpty else { return }
        let count = min(positions.count, max(1, limit))
        let start = cursor % positions.count
        for k in 0..<count {
            let info = list[positions[(start + k) % positions.count]]
            guard let session = sessions[info.name] else { continue }
            lifecycle(session, session.liveness.probed(listening: probe(info.inPath)))
        }
        cursor = (start + count) % positions.count
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
        probesAllIdle = !busy
        let interval = busy ? options.busyProbeInterval : options.idleProbeInterval
        guard interval != probeInterval || probeTimer == nil else { return }
        if let probeTimer { loop.cancel(probeTimer) }
        probeInterval = interval
        probeTimer = loop.schedule(after: interval, repeating: interval) { [unowned self] in self.probeAgents() }
    }
}
