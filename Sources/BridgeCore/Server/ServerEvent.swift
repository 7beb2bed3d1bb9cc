// ServerEvent: what the server tells its subscribers. Facts with their data, as SessionEvent,
// plus what a client needs to follow a stream across reconnects: every output batch carries the
// line id of its first line (see LineLog), and a backlog from before the oldest kept line says
// how many lines are gone. Prompts carry where they came from.

public enum ServerEvent: Sendable {
    case instanceAdded(InstanceInfo)
    case instanceRemoved(String)
    /// Lines `firstLineID ..< firstLineID + batch.count`; with `replacesOpenLine` the first one
    /// replaces the unfinished line of that id.
    case output(instance: String, firstLineID: UInt64, batch: OutputBatch)
    /// Lines `from ..< from + count` were asked for but are no longer kept.
    case linesSkipped(instance: String, from: UInt64, count: UInt64)
    /// A prompt reached the agent: its turn starts.
    case turnStarted(instance: String, promptID: String, text: String, origin: PromptOrigin, at: Double)
    /// A turn ended (completed, failed, timed out, interrupted).
    case turnEnded(instance: String, turn: Turn)
    case promptQueued(instance: String, promptID: String, reason: QueueReason)
    case promptFailed(instance: String, promptID: String, error: String)
    case activity(instance: String, activity: Activity)
    case outbox(instance: String, entries: [OutboxEntry])
    case agent(instance: String, change: AgentLifecycle)
    case notice(instance: String, notice: SessionNotice)
    case health(HealthReport)
    case serverStopping

    /// The instance the event is about (nil for health and the server itself).
    public var instance: String? {
        switch self {
        case .instanceAdded(let info): info.name
        case .instanceRemoved(let name): name
        case .output(let name, _, _), .linesSkipped(let name, _, _), .turnStarted(let name, _, _, _, _),
             .turnEnded(let name, _), .promptQueued(let name, _, _), .promptFailed(let name, _, _),
             .activity(let name, _), .outbox(let name, _), .agent(let name, _), .notice(let name, _):
            name
        case .health, .serverStopping: nil
        }
    }
}
