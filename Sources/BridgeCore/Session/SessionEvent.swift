// SessionEvent: what the SessionHub reports to its owner. Facts with their data, never prose
// decisions: the TUI picks the words and how long a message stays (see SessionActions).

public enum SessionEvent: Sendable, Codable {
    case instancesChanged([InstanceInfo], directoryError: String?)
    /// An instance whose pipes vanished did not get them back within `after` seconds (the
    /// grace, `tui.gone_grace_seconds`): it is no longer an instance. Until then it is gone
    /// (missing from `instancesChanged`) and, if its pipes come back, there again as it was.
    case instanceRemoved(instance: String, after: Double)
    case output(instance: String, batch: OutputBatch)
    /// The protocol the instance speaks changed, or the stream decoder has something to say.
    case stream(instance: String, event: StreamEvent)
    case attachment(instance: String, state: AttachmentState)
    /// The instance's history was read: the earlier conversation, the prompt history, the queue.
    case historyRestored(instance: String, turns: [Turn], inputs: [String], queue: [OutboxEntry])
    /// A prompt reached the agent's in-FIFO (typed, queued or re-sent): its turn starts now.
    case promptAccepted(instance: String, promptID: String, text: String, at: Double, origin: PromptOrigin)
    /// A prompt went into the outbox instead (the agent is not reading, or older ones wait).
    case promptQueued(instance: String, promptID: String, reason: QueueReason)
    /// A prompt was not delivered and is not queued.
    case promptFailed(instance: String, promptID: String, error: String)
    case turnsChanged(instance: String, turns: [Turn])
    case outboxChanged(instance: String, entries: [OutboxEntry])
    case activityChanged(instance: String, activity: Activity)
    case lifecycle(instance: String, change: AgentLifecycle)
    case notice(instance: String, notice: SessionNotice)
}

public enum QueueReason: Equatable, Sendable, Codable {
    case agentNotListening
    /// The instance's FIFOs are gone for now (an agent restarting removes and recreates them).
    case pipesGone
    /// Behind this many prompts already waiting, so the agent gets them in order.
    case behind(Int)
}

public enum AgentLifecycle: Equatable, Sendable, Codable {
    /// The agent went away (no reader on the in-FIFO, or its pipes vanished); the turn that was
    /// open (if any) ended as interrupted.
    case exited(interrupted: Turn?, why: ExitSign)
    /// The first sign of life after it was down, or a new framed `hello` from another process.
    case back(restarted: Bool)
    /// An agent is seen for the first time (no marker: nothing was interrupted).
    case seen
}

public enum ExitSign: Equatable, Sendable, Codable {
    /// open(in-FIFO, O_WRONLY|O_NONBLOCK) failed with ENXIO twice in a row.
    case noReader
    case pipesGone
    /// A framed `hello` from a different pid while the old agent seemed alive.
    case replaced
}

public enum SessionNotice: Equatable, Sendable, Codable {
    /// A warning from reading the history file (first of them).
    case historyWarning(String)
    /// Writing the history file failed (shown once per episode).
    case historyWriteFailed(String)
    case queuedDelivered(count: Int)
    /// A queued prompt could not be delivered for a reason other than "not listening".
    case queuedNotDelivered(String)
    case interruptFailed(String)
    /// The answer to a Claude permission request could not be written to the in-FIFO.
    case answerFailed(String)
    /// A plain-protocol agent that is not cc-bridge-agent: it has no interrupt (a 0x03 byte
    /// would reach it as a prompt line), so nothing was sent.
    case interruptUnsupported
    /// Someone else reads this instance's out-FIFO; we do not.
    case readerRefused(String)
}
