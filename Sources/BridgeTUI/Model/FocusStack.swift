// FocusStack: where keys go, as a small stack instead of one "previous focus" slot. The base is
// the instance list or the output pane; above it at most the prompt, one entry field (search or
// filter) and one overlay (help, outbox, turns). Closing a layer returns to what is below it.

public struct FocusStack: Hashable, Sendable {
    /// The list or the output pane.
    public private(set) var base: Focus
    /// Layers above the base, lowest first; at most one of each kind (prompt, field, overlay).
    public private(set) var layers: [Focus] = []

    public init(base: Focus = .list) {
        self.base = FocusStack.isBase(base) ? base : .list
    }

    /// The focus that receives keys.
    public var top: Focus { layers.last ?? base }

    static func isBase(_ focus: Focus) -> Bool { focus == .list || focus == .output }

    /// Drops every layer and makes `focus` (list or output) the base.
    mutating func reset(to focus: Focus) {
        base = FocusStack.isBase(focus) ? focus : base
        layers = []
    }

    /// Puts `focus` on top. A layer of the same kind (another overlay, the other entry field)
    /// is replaced, so the stack never grows past base + prompt + field + overlay.
    mutating func push(_ focus: Focus) {
        guard !FocusStack.isBase(focus) else { return reset(to: focus) }
        layers.removeAll { FocusStack.kind($0) == FocusStack.kind(focus) }
        layers.append(focus)
    }

    /// Closes the top layer; the base stays.
    mutating func pop() {
        _ = layers.popLast()
    }

    /// Closes layers down to (not including) the first one that is not an overlay.
    mutating func popOverlays() {
        while let last = layers.last, last.isOverlay { layers.removeLast() }
    }

    private static func kind(_ focus: Focus) -> Int {
        switch focus {
        case .list, .output: 0
        case .prompt: 1
        case .search, .filter, .approvalReason: 2
        case .help, .outbox, .turns, .approval: 3
        }
    }
}
