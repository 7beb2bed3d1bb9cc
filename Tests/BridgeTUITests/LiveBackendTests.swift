// A smoke run of the real ncurses backend. Off by default (tests have no terminal); run it
// inside tmux with CCB_LIVE_BACKEND=1 and compare `tmux capture-pane -p` by eye or script.

import Foundation
import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct LiveBackendTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CCB_LIVE_BACKEND"] == "1"))
    func drawsFramesAndRestoresTheTerminal() throws {
        let backend = NcursesBackend()
        try backend.start(mouse: true, environment: ProcessInfo.processInfo.environment)
        defer { backend.stop() }
        var h = SnapshotTests.standard(rows: backend.size.rows, cols: backend.size.cols)
        backend.present(render(state: h.state, size: backend.size))
        Thread.sleep(forTimeInterval: 1.5)
        h.output("web", ["wide 日本語 then narrow"])
        h.press("selectNext")
        h.press("enterPrompt")
        h.type("typed 中文 text")
        backend.present(render(state: h.state, size: backend.size))
        var decoder = InputDecoder()
        let deadline = Date().addingTimeInterval(1.5)
        var events: [InputEvent] = []
        while Date() < deadline {
            events += backend.readInput(into: &decoder)
            Thread.sleep(forTimeInterval: 0.05)
        }
        FileManager.default.createFile(atPath: "/tmp/ccb-live-events.txt", contents: Data("\(events)".utf8))
    }
}

@Suite struct TerminalGuardTests {
    @Test func restoreSequenceUndoesEveryModeWeSet() {
        let s = TerminalGuard.restoreSequence
        for mode in ["\u{1B}[?1000l", "\u{1B}[?1006l", "\u{1B}[?2004l", "\u{1B}[?25h", "\u{1B}[?1049l"] {
            #expect(s.contains(mode), "missing \(mode.debugDescription)")
        }
        #expect(TerminalGuard.fatalSignals.count == 7)
    }
}
