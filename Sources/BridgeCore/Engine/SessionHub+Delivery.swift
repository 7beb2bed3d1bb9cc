// SessionHub+Delivery: one delivery path for every prompt. Typed, queued and re-sent prompts all
// go through the engine's PromptDelivery on the loop (never a blocking write, never a sleep).
// The outbox is a policy in front of it: a prompt that finds no agent reading within
// `sendTimeout` is queued (persisted with the history); queued prompts go one at a time, oldest
// first, each handed to the delivery once per attempt with no wait, so an attempt either puts the
// whole prompt into the pipe (then it counts as delivered and is never written again) or fails
// without writing (it stays queued). A prompt cut off mid-write is reported as not delivered
// and leaves the queue, so it is never written twice.

extension SessionHub {
    /// Sends a prompt (typed in the TUI, or from `origin`): recorded in the prompt history;
    /// queued behind prompts already waiting, so the agent gets them in order.
    /// The prompt goes to the delivery first: with an agent reading, it is in the pipe (and its
    /// turn recorded, `delivered`) before this returns. The ↑/↓ input record and the activity
    /// (`sending` only while it still waits for a reader) follow, off the prompt's way.
    public func send(_ text: String, to instance: String, promptID: String, origin: PromptOrigin = .tui) {
        let session = sessions[instance]
        if let session, session.outbox.count > 0 {
            session.store.recordInput(text, at: Self.now())
            reportStoreError(session)
            queue(text, id: promptID, origin: origin, in: session, reason: .behind(session.outbox.count))
            pumpOutbox(instance)
            updateActivity(session)
            return
        }
        session?.sending.insert(promptID)
        pending[promptID] = Pending(instance: instance, text: text, fromOutbox: false, origin: origin)
        guard let session else {
            engine.send(text, to: instance, promptID: promptID, timeout: options.sendTimeout)
            return
        }
        // The turn (recorded as the agent takes the prompt) and the input line: one history write.
        session.store.batch {
            engine.send(text, to: instance, promptID: promptID, timeout: options.sendTimeout)
            guard sessions[instance] === session else { return }
            session.store.recordInput(text, at: Self.now())
        }
        guard sessions[instance] === session else { return }
        reportStoreError(session)
        updateActivity(session)
    }

    /// Takes a waiting prompt out of the outbox.
    public func cancelQueued(instance: String, id: String) {
        guard let session = sessions[instance] else { return }
        session.outbox.cancel(id: id, at: Self.now())
        reportStoreError(session)
        onEvent(.outboxChanged(instance: instance, entries: session.outbox.list()))
        updateActivity(session)
    }

    /// Interrupts the running reply (the oldest open turn ends as interrupted), when the agent
    /// understands an interrupt; otherwise sends nothing and says so (`.interruptUnsupported`).
    /// Interrupts the instance's turn where its agent understands one; returns the route taken
    /// (`.unsupported`: nothing sent, said as a notice).
    @discardableResult
    public func interrupt(_ instance: String) -> InstanceHub.InterruptRoute {
        let route = engine.interruptRoute(instance)
        if route == .unsupported {
            onEvent(.notice(instance: instance, notice: .interruptUnsupported))
            return route
        }
        if let session = sessions[instance] {
            sessionChanged(session, session.tracker.interruptSent(at: Self.now()))
            updateActivity(session)
        }
        interruptCounter += 1
        engine.interrupt(instance, promptID: "interrupt-\(interruptCounter)")
        return route
    }

    // MARK: results

    func delivered(_ name: String, id: String, error: SendError?) {
        if id.hasPrefix("interrupt-") {
            if let error { onEvent(.notice(instance: name, notice: .interruptFailed(error.description))) }
            return
        }
        if id.hasPrefix(Self.answerPrefix) {
            if let error { onEvent(.notice(instance: name, notice: .answerFailed(error.description))) }
            return
        }
        guard let item = pending.removeValue(forKey: id) else { return }
        let session = sessions[name]
        session?.sending.remove(id)
        // A delivered queued prompt stays "in flight" until its turn has started: the sign of
        // life below pumps the outbox, which would otherwise write this prompt a second time (it
        // is not marked delivered yet) or start the next one's turn before this one's.
        if item.fromOutbox && error != nil { session?.outboxInFlight = nil }
        let now = Self.now()
        switch error {
        case nil:
            // Someone read the in-FIFO when it was opened: the agent is alive.
            if let session { lifecycle(session, session.liveness.signOfLife()) }
            if let session, item.fromOutbox {
                session.outbox.markDelivered(id: id, at: now)
                session.lastDeliveryFailure = nil
                reportStoreError(session)
                onEvent(.outboxChanged(instance: name, entries: session.outbox.list()))
                onEvent(.notice(instance: name, notice: .queuedDelivered(count: 1)))
            }
            accepted(name, id: id, text: item.text, origin: item.origin, at: now)
            if item.fromOutbox {
                session?.outboxInFlight = nil
                pumpOutbox(name)
            }
        case .agentNotListening? where session != nil && !item.text.isEmpty:
            if item.fromOutbox { scheduleOutbox() } else { queue(item.text, id: id, origin: item.origin, in: session!, reason: .agentNotListening) }
        case .unsafe(.missing)? where session != nil && !item.text.isEmpty && !item.fromOutbox:
            // A typed prompt while the agent restarts (its FIFOs vanish for a moment): kept, and
            // delivered when they are back, rather than failed.
            queue(item.text, id: id, origin: item.origin, in: session!, reason: .pipesGone)
        case let error?:
            if let session, item.fromOutbox, !Self.wroteSome(error) {
                // Nothing went into the pipe: it stays queued and is tried again later.
                if session.lastDeliveryFailure != error.description {
                    session.lastDeliveryFailure = error.description
                    onEvent(.notice(instance: name, notice: .queuedNotDelivered(error.description)))
                }
                scheduleOutbox()
                return
            }
            if let session, item.fromOutbox {
                // Part of it is in the pipe: sending it again would duplicate that part.
                session.outbox.cancel(id: id, at: now)
                onEvent(.outboxChanged(instance: name, entries: session.outbox.list()))
            }
            if let session { sessionChanged(session, session.tracker.promptFailed(id: id, text: item.text, reason: error.description, at: now,
                                                                                   origin: item.origin)) }
            onEvent(.promptFailed(instance: name, promptID: id, error: error.description))
        }
    }

    /// Bytes of the prompt may be in the pipe (a retry could duplicate them).
    static func wroteSome(_ error: SendError) -> Bool {
        switch error {
        case .timedOut(let written, _), .tornUnended(let written, _), .cancelled(let written, _, _): written > 0
        case .brokenPipe: true
        case .agentNotListening, .unsafe, .system: false
        }
    }

    /// The prompt is in the agent's in-FIFO: its turn starts.
    private func accepted(_ name: String, id: String, text: String, origin: PromptOrigin, at now: Double) {
        guard let session = sessions[name] else {
            onEvent(.promptAccepted(instance: name, promptID: id, text: text, at: now, origin: origin))
            return
        }
        session.restarted = false
        // Plain agents wait behind a bare `❯ ` line; the TUI shows the prompt in its place.
        _ = engine.absorbReplyMarker(of: name)
        onEvent(.promptAccepted(instance: name, promptID: id, text: text, at: now, origin: origin))
        sessionChanged(session, session.tracker.promptSent(id: id, text: text, at: now, origin: origin))
    }

    // MARK: outbox

    /// Puts a prompt in the instance's outbox (persisted with its history) instead of losing it.
    private func queue(_ text: String, id: String, origin: PromptOrigin, in session: InstanceSession, reason: QueueReason) {
        do {
            try session.outbox.enqueue(text: text, id: id, at: Self.now(), origin: origin)
        } catch {
            onEvent(.promptFailed(instance: session.name, promptID: id, error: error.description))
            return
        }
        reportStoreError(session)
        onEvent(.promptQueued(instance: session.name, promptID: id, reason: reason))
        onEvent(.outboxChanged(instance: session.name, entries: session.outbox.list()))
        scheduleOutbox()
    }

    /// Hands the oldest queued prompt to the delivery, for one attempt that does not wait for a
    /// reader; the next one goes when it is delivered.
    func pumpOutbox(_ name: String) {
        guard let session = sessions[name], session.outboxInFlight == nil, session.liveness.state != .down,
              engine.mode(of: name) != nil, let entry = session.outbox.nextPending else { return }
        session.outboxInFlight = entry.id
        session.sending.insert(entry.id)
        pending[entry.id] = Pending(instance: name, text: entry.text, fromOutbox: true, origin: entry.origin ?? .tui)
        engine.send(entry.text, to: name, promptID: entry.id, timeout: 0)
    }

    /// Retries every `outboxRetry` seconds, only while some prompt waits.
    func scheduleOutbox() {
        guard outboxTimer == nil, sessions.values.contains(where: { $0.outbox.count > 0 }) else { return }
        outboxTimer = loop.schedule(after: options.outboxRetry) { [unowned self] in
            self.outboxTimer = nil
            for (name, session) in self.sessions.sorted(by: { $0.key < $1.key }) where session.outbox.count > 0 {
                self.pumpOutbox(name)
            }
            self.scheduleOutbox()
        }
    }
}
