// AppState: the single value the reducer changes and the renderer draws.
// Engine events and keys become Actions; nothing here performs I/O.

import BridgeCore

public struct Size: Hashable, Sendable {
    public var rows: Int
    public var cols: Int
    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
    }
}

/// Which part of the screen receives keys (explicit, lazygit-style).
public enum Focus: String, Hashable, Sendable {
    case list, output, prompt, help, search, filter
    /// The outbox overlay (queued prompts) and the turn-history overlay.
    case outbox, turns
    /// A Claude permission request, and the field for a denial's reason.
    case approval, approvalReason
    /// Overlays that list entries and take j/k.
    public var isOverlay: Bool { self == .help || self == .outbox || self == .turns || self == .approval }
    /// Fields where printable keys are text.
    public var isTextEntry: Bool { self == .prompt || self == .search || self == .filter || self == .approvalReason }
}

public enum Mode: Hashable, Sendable {
    /// The instance list beside the selected instance's output.
    case all
    /// Full screen on one instance.
    case attach(String)
}

public enum HealthLevel: String, Hashable, Sendable, CaseIterable {
    case healthy, degraded, unhealthy, unknown
}

public struct InstanceHealth: Hashable, Sendable {
    public var level: HealthLevel
    public var reason: String
    public init(_ level: HealthLevel, reason: String = "") {
        self.level = level
        self.reason = reason
    }
}

/// One line of the health panel: a component (pipe dir, an instance's FIFOs, the agent).
public struct HealthRow: Hashable, Sendable {
    public var component: String
    public var level: HealthLevel
    public var reason: String
    /// Last error or recovery note.
    public var detail: String
    /// Recent states, oldest first (the panel shows the last few).
    public var trend: [HealthLevel]
    /// Uptime as of the report's check.
    public var uptime: Double?
    /// When the component was first seen (seconds since 1970): the panel counts its uptime to
    /// now from this, not the report's figure, which is as old as the last check (up to the
    /// check interval: the demo showed "up 0s" for half a minute).
    public var firstSeen: Double?
    public var recoveries: Int
    public init(component: String, level: HealthLevel, reason: String = "", detail: String = "",
                trend: [HealthLevel] = [], uptime: Double? = nil, firstSeen: Double? = nil, recoveries: Int = 0) {
        self.component = component
        self.level = level
        self.reason = reason
        self.detail = detail
        self.trend = trend
        self.uptime = uptime
        self.firstSeen = firstSeen
        self.recoveries = recoveries
    }

    /// Uptime at `now`: from `firstSeen` when known, else the report's figure.
    public func uptime(at now: Double) -> Double? {
        firstSeen.map { max(0, now - $0) } ?? uptime
    }
}

/// One turn of an instance as the turn-history overlay lists it.
public struct TurnRow: Hashable, Sendable {
    public var id: String
    public var prompt: String
    public var status: TurnStatus
    public var sentAt: Double
    public var ttfb: Double?
    public var duration: Double?
    public var error: String?
    /// Absolute scrollback line where the turn starts (its prompt was sent or echoed); nil if unknown.
    public var line: Int?
    /// Loaded from the history file (an earlier run).
    public var restored: Bool

    public init(_ turn: Turn, line: Int?, restored: Bool) {
        id = turn.id
        prompt = turn.prompt
        status = turn.status
        sentAt = turn.sentAt
        ttfb = turn.ttfb
        duration = turn.duration
        error = turn.error
        self.line = line
        self.restored = restored
    }
}

public struct StatusMessage: Hashable, Sendable {
    public enum Kind: Hashable, Sendable { case info, error }
    public var text: String
    public var kind: Kind
    /// Time (`tick(now:)` clock) after which the message goes away; nil: until replaced.
    public var expires: Double?
    public init(_ text: String, kind: Kind = .info, expires: Double? = nil) {
        self.text = text
        self.kind = kind
        self.expires = expires
    }
}

/// Where the output pane looks. Following: the newest line is at the bottom. Paused: the
/// anchor line (absolute line number) is at the bottom, `anchorSkip` of its wrapped rows
/// below the pane.
public struct OutputView: Hashable, Sendable {
    public var follow = true
    public var anchorLine = 0
    public var anchorSkip = 0
    /// Lines that arrived while paused and are still held (never more than the scrollback holds).
    public var newWhilePaused = 0
    /// The scrollback's `droppedLines` when the view paused: what was trimmed since is counted
    /// by the dropped marker above the oldest line held.
    public var droppedAtPause = 0
    /// Columns scrolled to the right (wrap off).
    public var horizontalOffset = 0
    public var wrap: Bool
    public var timestamps: Bool
    public init(wrap: Bool = true, timestamps: Bool = false) {
        self.wrap = wrap
        self.timestamps = timestamps
    }
}

/// A committed search: its matching line numbers (ascending, absolute), kept up to date as
/// output arrives, and the match the view jumped to.
public struct SearchState: Hashable, Sendable {
    public var query = ""
    /// The query is a regular expression (Ctrl-R in the search field).
    public var regex = false
    public var matches: [Int] = []
    /// Absolute line number of the current match.
    public var current: Int?
    public init() {}

    /// The matcher of a committed search; nil when there is none.
    public var match: TextMatch? { query.isEmpty ? nil : TextMatch(query, regex: regex) }
}

/// A committed filter: only lines containing the query are shown. `lines` holds the matching
/// absolute line numbers (ascending), maintained incrementally.
public struct FilterState: Hashable, Sendable {
    public var query = ""
    public var lines: [Int] = []
    public var isActive: Bool { !query.isEmpty }
    public init() {}
}

/// A command that asked "…? y/n" and the instance it would act on (the answer acts on that one
/// even if the selection changed meanwhile, which it cannot: the next key is the answer).
public struct PendingConfirmation: Hashable, Sendable {
    public var command: Command
    public var instance: String
}

/// The scrollback a clear removed, so the clear can be undone for a while.
public struct ClearedPane: Sendable {
    public var scrollback: Scrollback
    public var turnStarts: [Int]
    /// `tick` time after which the copy is dropped.
    public var until: Double
}

/// Everything the TUI keeps about one instance.
public struct InstanceState: Sendable {
    public var info: InstanceInfo
    /// False once the instance's FIFOs disappeared; kept (with its output) until the user clears it.
    public var isPresent = true
    public var scrollback: Scrollback
    public var unread = 0
    public var queued = 0
    public var health = InstanceHealth(.unknown)
    /// What the output stream is doing ("streaming", "waiting for writer", "ended").
    public var streamState = ""
    /// What the instance is doing, as the session hub reports it.
    public var activity: Activity = .idle
    public var view: OutputView
    public var search = SearchState()
    public var filter = FilterState()
    public var prompt = LineEditor()
    public var history = PromptHistory()
    /// Prompts sent and not yet confirmed: prompt id -> text.
    public var inFlight: [String: String] = [:]
    /// Absolute line numbers where a turn started (output after a sent prompt); bounded.
    public var turnStarts: [Int] = []
    /// The session's turns, oldest first (restored ones included); bounded.
    public var turns: [TurnRow] = []
    /// Scrollback line of each prompt sent and not yet seen as a turn: prompt id -> line.
    public var turnLines: [String: Int] = [:]
    /// Prompts waiting in the outbox, oldest first (`queued` is their count).
    public var queue: [OutboxEntry] = []
    /// What the last clear removed, kept for `undoClear` until `until` (one per instance).
    public var cleared: ClearedPane?
    /// A Claude stream-json session's tool calls, text structure, approvals and cost.
    public var transcript = TranscriptState()

    public init(info: InstanceInfo, scrollback: Scrollback, view: OutputView) {
        self.info = info
        self.scrollback = scrollback
        self.view = view
    }

    public var name: String { info.name }
}

public struct AppState: Sendable {
    public var instances: [InstanceState] = []
    /// Name of the selected instance.
    public var selected: String?
    /// Where keys go: the list or output pane, with the prompt, a field or an overlay above it.
    public var focusStack = FocusStack()
    /// The focus that receives keys (the top of `focusStack`).
    public var focus: Focus { focusStack.top }
    public var mode: Mode = .all
    public var healthVisible = false
    public var healthRows: [HealthRow] = []
    /// False when `docker.health.enabled: false` (the panel says so).
    public var healthEnabled = true
    /// The selected entry of the outbox or turn-history overlay.
    public var overlaySelection = 0
    /// Prefix of prompt ids; the runtime makes it unique per run, so ids never collide with
    /// turns restored from the history file.
    public var promptIDPrefix = "p"
    public var status: StatusMessage?
    public var size: Size
    public var theme: Theme
    public var keymap: Keymap
    /// Problems found in `tui.keys` (also shown once in the status bar).
    public var keymapErrors: [KeymapError]
    public var settings: TUISettings
    public var mouse: Bool
    /// Latest `tick(now:)`; seconds since 1970.
    public var now: Double
    /// Offset added to timestamps before formatting (the runtime passes the local zone's).
    public var timeZoneOffset: Int
    /// Directory for saved scrollback files.
    public var saveDirectory: String
    /// The pipe directory being watched (shown when there are no instances).
    public var pipeDirectory = ""
    /// Started as `attach NAME` (without `--stay`): detaching leaves the program, as
    /// `cc-bridge claude-attach` does.
    public var detachQuits = false
    public var helpScroll = 0
    /// The search or filter field while it has focus.
    public var entry = LineEditor()
    /// The search field treats its text as a regular expression.
    public var entryRegex = false
    /// Earlier searches and filters, oldest first (Up in the field walks back); bounded.
    public var fieldHistory = PromptHistory()
    /// `quit` was pressed while work was in flight; the next key confirms or cancels.
    public var confirmingQuit = false
    /// A confirmed command (`tui.confirm`) waiting for its y/n; the next key decides.
    public var pendingConfirmation: PendingConfirmation?
    /// Counter behind deterministic prompt ids ("p1", "p2", ...).
    public var nextPromptNumber = 1
    /// Set by the reducer when the whole screen must be repainted (resize, clear).
    public var needsFullRepaint = false
    /// The instance whose approval the approval overlay shows.
    public var approvalInstance: String?
    /// Notifications (`tui.notify`): the last one's time and those held back by the rate limit.
    public var notifications = NotificationQueue()
    /// How many instances waited when the terminal title was last set (nil: not set yet).
    public var titleWaiting: Int?
    /// Remote hosts (`--host`, `hosts:`), in list order, with their connection state; empty: no
    /// header rows (only local instances).
    public var hosts: [HostHeader] = []

    public init(
        settings: TUISettings = TUISettings(), theme: Theme = .builtinDefault,
        size: Size = Size(rows: 24, cols: 80), saveDirectory: String = ".",
        now: Double = 0, timeZoneOffset: Int = 0, instances: [InstanceInfo] = []
    ) {
        self.settings = settings
        self.theme = theme
        self.size = size
        self.saveDirectory = saveDirectory
        self.now = now
        self.timeZoneOffset = timeZoneOffset
        self.mouse = settings.mouse
        let (keymap, keyErrors) = Keymap.defaults.applying(overrides: settings.keys)
        let (confirming, confirmErrors) = keymap.applying(confirm: settings.confirm)
        let errors = keyErrors + confirmErrors
        self.keymap = confirming
        self.keymapErrors = errors
        if let first = errors.first {
            status = StatusMessage(
                errors.count == 1 ? first.message : "\(first.message) (and \(errors.count - 1) more)",
                kind: .error)
        }
        if !instances.isEmpty { _ = reduce(state: &self, action: .instancesChanged(instances)) }
    }

    // MARK: - Lookup helpers

    public var selectedIndex: Int? {
        guard let selected else { return nil }
        return instances.firstIndex { $0.name == selected }
    }

    /// The instance the output pane and the prompt belong to (the attached one in attach mode).
    public var activeIndex: Int? {
        if case .attach(let name) = mode { return instances.firstIndex { $0.name == name } }
        return selectedIndex
    }

    public var activeInstance: InstanceState? { activeIndex.map { instances[$0] } }

    public func instance(named name: String) -> InstanceState? { instances.first { $0.name == name } }

    public var isAttached: Bool { if case .attach = mode { true } else { false } }

    public var layout: Layout { Layout.compute(state: self) }
}
