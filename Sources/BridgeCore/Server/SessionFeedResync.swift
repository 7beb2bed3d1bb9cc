// SessionFeedResync: a session feed client's side of a skip (docs/ipc.md, "Slow clients"). After
// the server's `skipped` notice, what the old subscription still sends goes on past the hole, so
// it is ignored until the server answers the unsubscribe (every event of that subscription came
// before the answer); then the client subscribes again from where it stands (`resubscribe`).
// The TUI (ServerSessionSource) and ccb-bench's server-ingest client follow the feed through this
// one type, so the bench measures the TUI's resync. Loop thread only.

public final class SessionFeedResync {
    /// What one event means for the client.
    public enum Step {
        case item(SessionFeedItem)
        /// A skip notice (a resync started, unless one was under way).
        case skipped
        /// An event of the old subscription during a resync.
        case ignored
        /// Not a session event this build reads (a `session_output` that does not hold together).
        case undecodable
    }

    /// The subscription the feed comes from (nil between a skip and the next subscribe's answer).
    public var subscription: Int?
    public private(set) var isResyncing = false
    private unowned let client: IPCClient
    private let resubscribe: () -> Void

    public init(client: IPCClient, resubscribe: @escaping () -> Void) {
        self.client = client
        self.resubscribe = resubscribe
    }

    public func take(_ event: IPCEvent) -> Step {
        if event.name == IPCEventName.skipped {
            guard !isResyncing else { return .skipped }
            isResyncing = true
            let old = subscription
            subscription = nil
            client.request("session.unsubscribe", params: ["subscription": .int(old ?? -1)]) { [weak self] _ in
                guard let self, self.isResyncing else { return }
                self.isResyncing = false
                self.resubscribe()
            }
            return .skipped
        }
        guard !isResyncing else { return .ignored }
        return SessionWire.decode(event).map(Step.item) ?? .undecodable
    }

    /// A new connection: no subscription, no resync under way (the caller subscribes again).
    public func reset() {
        isResyncing = false
        subscription = nil
    }
}
