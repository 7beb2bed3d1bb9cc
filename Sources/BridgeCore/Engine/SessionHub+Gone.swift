// SessionHub+Gone: instances whose pipes vanished. GoneInstances decides when one is gone and
// when it is removed (after `goneGrace` seconds without its pipes); here the timer runs, the
// removed instance's session is closed (history flushed, reader lock released, so pipes that
// come back later open it afresh with its history) and `.instanceRemoved` is reported.

extension SessionHub {
    /// A scan listed these instances: starts the grace of those that vanished.
    func noteListed(_ list: [InstanceInfo]) {
        _ = gone.update(listed: Set(list.map(\.name)), now: Self.now())
        scheduleGoneTimer()
    }

    /// One timer at the earliest removal.
    func scheduleGoneTimer() {
        if let goneTimer { loop.cancel(goneTimer) }
        goneTimer = nil
        guard running, let due = gone.nextDeadline else { return }
        goneTimer = loop.schedule(after: max(0, due - Self.now()) + 0.01) { [unowned self] in
            self.goneTimer = nil
            for name in self.gone.expired(now: Self.now()) { self.remove(name) }
            self.scheduleGoneTimer()
        }
    }

    private func remove(_ name: String) {
        if let session = sessions.removeValue(forKey: name) {
            session.store.flush()
            session.lock?.release()
        }
        refused[name] = nil
        onEvent(.instanceRemoved(instance: name, after: options.goneGrace))
    }
}
