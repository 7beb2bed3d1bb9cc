// Turn: one prompt and its reply as the session tracker and the history file know it.
// Times are seconds on the caller's clock; the TUI passes wall-clock seconds since the Unix
// epoch, because turns outlive the process in the history file.

public enum TurnStatus: String, Codable, Sendable, CaseIterable {
    /// Sent; no output yet.
    case pending
    /// Output is arriving.
    case active
    case completed
    /// The prompt could not be delivered, or the agent reported an error.
    case failed
    /// No output for `request_timeout`.
    case timeout
    /// Ended by an interrupt (0x03) or a framed `done(interrupted)`.
    case interrupted

    public var isOpen: Bool { self == .pending || self == .active }
}

public struct Turn: Codable, Equatable, Sendable, Identifiable {
    public var id: String
    public var prompt: String
    /// The reply text, at most `SessionTracker.maxResponseBytes` UTF-8 bytes plus the marker.
    public var response: String
    /// True once the reply was cut; the response then ends with `SessionTracker.truncationMarker`.
    public var truncated: Bool
    public var status: TurnStatus
    public var sentAt: Double
    public var firstByteAt: Double?
    public var doneAt: Double?
    /// The last output for this turn (drives the plain quiet period and the request timeout).
    public var lastOutputAt: Double?
    public var error: String?
    public var exitCode: Int?
    /// Where the prompt came from (nil in files written before origins were recorded).
    public var origin: PromptOrigin?

    public init(id: String, prompt: String, sentAt: Double, status: TurnStatus = .pending, origin: PromptOrigin? = nil) {
        self.id = id
        self.origin = origin
        self.prompt = prompt
        self.response = ""
        self.truncated = false
        self.status = status
        self.sentAt = sentAt
    }

    /// Time to first byte.
    public var ttfb: Double? { firstByteAt.map { $0 - sentAt } }
    /// From sending to the end of the turn.
    public var duration: Double? { doneAt.map { $0 - sentAt } }

    enum CodingKeys: String, CodingKey {
        case id, prompt, response, truncated, status, error, origin
        case sentAt = "sent_at", firstByteAt = "first_byte_at", doneAt = "done_at"
        case lastOutputAt = "last_output_at", exitCode = "exit"
    }
}
