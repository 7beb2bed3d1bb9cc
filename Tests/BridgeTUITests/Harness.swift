// Harness: drives the reducer like a user would (keys by binding name) and renders screens.

import Testing
import BridgeCore
@testable import BridgeTUI

struct Harness {
    var state: AppState
    var effects: [Effect] = []

    init(rows: Int = 24, cols: Int = 80, instances: [String] = ["api", "web"], settings: TUISettings = TUISettings(),
         theme: Theme = .builtinDefault) {
        let infos = instances.map {
            InstanceInfo(name: $0, inPath: "/tmp/ccb/\($0).in.fifo", outPath: "/tmp/ccb/\($0).out.fifo", status: .ready)
        }
        state = AppState(settings: settings, theme: theme, size: Size(rows: rows, cols: cols), saveDirectory: "/tmp/save",
                         now: 1_700_000_000, instances: infos)
    }

    @discardableResult
    mutating func send(_ action: Action) -> [Effect] {
        let new = reduce(state: &state, action: action)
        effects += new
        return new
    }

    /// Presses the first key bound to `commandName` that the current focus reaches.
    @discardableResult
    mutating func press(_ commandName: String, sourceLocation: SourceLocation = #_sourceLocation) -> [Effect] {
        guard let command = Command(actionName: commandName) else {
            Issue.record("no command \(commandName)", sourceLocation: sourceLocation)
            return []
        }
        // A key that reaches the command from here, as the footer names it (a printable key in
        // a text field is text, whatever it is bound to).
        if let key = state.keymap.keys(for: command, focus: state.effectiveFocus).first {
            return send(.key(KeyEvent(key)))
        }
        Issue.record("no key reaches \(commandName) from focus \(state.focus)", sourceLocation: sourceLocation)
        return []
    }

    @discardableResult
    mutating func key(_ name: String) -> [Effect] { send(.key(.named(name))) }

    mutating func type(_ text: String) {
        for c in text { send(.key(.char(c))) }
    }

    /// Output as the engine sends it: with `replacesLast` the first line replaces the open line the
    /// previous output ended with; with `open` the last line is still unterminated.
    mutating func output(_ instance: String, _ lines: [String], replacesLast: Bool = false, open: Bool = false) {
        let batch = OutputBatch(lines: lines.map { OutputLine(text: $0, timestamp: state.now) },
                                replacesOpenLine: replacesLast, endsWithOpenLine: open)
        send(.output(instance: instance, batch: batch))
    }

    mutating func numbered(_ instance: String, _ range: ClosedRange<Int>) {
        output(instance, range.map { "line \($0)" })
    }

    func screen() -> [String] { render(state: state, size: state.size).textLines() }
    func buffer() -> CellBuffer { render(state: state, size: state.size) }

    var active: InstanceState { state.activeInstance! }
    var outputRows: [String] {
        let layout = state.layout
        let lines = screen()
        return (layout.output.row..<(layout.output.row + layout.output.rows)).map { row in
            let text = Array(lines[row])
            // Columns right of the list border.
            var col = 0
            var out = ""
            for ch in text {
                if col >= layout.output.col { out.append(ch) }
                col += CharWidth.of(ch)
            }
            while out.last == " " { out.removeLast() }
            return out
        }
    }
}
