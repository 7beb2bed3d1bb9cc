// SessionSnapshot: an instance's session as its history file has it, read without writing (the
// file may belong to a running TUI): the `history`, `status` and `health` commands use it. The
// turns are replayed into a SessionTracker exactly as the SessionHub does when it opens the
// instance (`SessionTracker.restore`), so both show the same turns and totals.

public struct SessionSnapshot: Sendable {
    public var path: String
    public var tracker: SessionTracker
    public var contents: HistoryStore.Contents

    /// Reads the instance's history file; `isEmpty` when it holds nothing (or does not exist).
    public static func read(instance: InstanceName, settings: SessionSettings, stateDirectory: String, now: Double) -> SessionSnapshot {
        // The file in use: the history file, or the fresh one beside it when that one is refused.
        let contents = HistoryStore.read(instance: instance.rawValue, stateDirectory: stateDirectory,
                                         maxHistory: settings.maxHistory)
        var tracker = SessionTracker(settings: settings)
        tracker.restore(contents.turns, at: now)
        return SessionSnapshot(path: contents.path, tracker: tracker, contents: contents)
    }

    public var isEmpty: Bool {
        contents.turns.isEmpty && contents.outbox.isEmpty && contents.error == nil && contents.warnings.isEmpty
    }

    /// The prompts still waiting in the outbox.
    public var queued: [OutboxEntry] { contents.outbox.filter { $0.state == .queued } }
}
