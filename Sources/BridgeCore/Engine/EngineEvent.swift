// EngineEvent: what the engine reports to its owner (the TUI posts each as an action).

public enum AttachmentState: Equatable, Sendable, Codable {
    case attached
    /// The out-FIFO was replaced or vanished; it is reopened when it is back.
    case reattaching(String)
    case failed(String)
}

public enum EngineEvent: Sendable {
    case instancesChanged([InstanceInfo], directoryError: String?)
    case output(instance: String, batch: OutputBatch)
    case stream(instance: String, event: StreamEvent)
    case attachment(instance: String, state: AttachmentState)
    /// A prompt (or interrupt) was delivered, or failed for the reason given.
    case delivered(instance: String, promptID: String, error: SendError?)
}
