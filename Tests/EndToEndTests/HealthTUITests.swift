// HealthTUITests: the live health panel end to end: checks every 0.2 s, an agent stopped and
// started again, the panel and the instance list following it; uptimes counting on between checks.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct HealthTUITests {
    /// A health panel row of `name` (the list row has a `│` border; the panel row has none).
    static func panelRow(_ lines: [String], _ glyph: String, _ name: String, _ state: String) -> Bool {
        lines.contains { $0.hasPrefix(" \(glyph) \(name) ") && $0.contains(" \(state) ") && !$0.contains("│") }
    }

    @Test func stoppedAgentTurnsUnhealthyAfterTheGraceAndHealthyWhenBack() throws {
        let scratch = Scratch()
        let config = scratch.file("config.yaml")
        try "docker:\n  health:\n    check_interval: 0.2\n    max_consecutive_failures: 2\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let s = try TUISession(instances: ["bot", "other"], agentOn: ["bot", "other"], arguments: ["--config", config])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("j")   // select `other`, so bot's list row is not the selected one
        try s.tmux.send("H")
        #expect(try s.tmux.waitFor("─ Health"), "screen:\n\(s.tmux.dump)")
        #expect(try eventually { Self.panelRow(try s.tmux.capture(), "●", "bot", "healthy") }, "screen:\n\(s.tmux.dump)")

        s.agents[0].signal(SIGKILL)
        _ = s.agents[0].wait(timeout: 10)
        #expect(try eventually { Self.panelRow(try s.tmux.capture(), "✖", "bot", "unhealthy") }, "screen:\n\(s.tmux.dump)")
        let screen = try s.tmux.screen()
        #expect(screen.contains("no agent is reading the in-FIFO"), "screen:\n\(screen)")
        // The instance list's state comes from the same report.
        #expect(try s.tmux.capture().contains { $0.hasPrefix(" ✖ bot ") && $0.contains("│") }, "screen:\n\(screen)")

        s.agents.append(try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, s.pipes, "bot"]))
        #expect(try eventually { Self.panelRow(try s.tmux.capture(), "●", "bot", "healthy") }, "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.capture().contains { $0.hasPrefix(" ● bot ") && $0.contains("│") }, "screen:\n\(s.tmux.dump)")
    }

    /// With checks 60 s apart the open panel's uptimes still count on (they stood at the last
    /// check's figure: the demo showed "up 0s" for half a minute).
    @Test func theOpenPanelsUptimesCountOnBetweenChecks() throws {
        let scratch = Scratch()
        let config = scratch.file("config.yaml")
        try "docker:\n  health:\n    check_interval: 60\n".write(toFile: config, atomically: true, encoding: .utf8)
        let s = try TUISession(arguments: ["--config", config])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("H")
        func uptime() throws -> String? {
            guard let row = try s.tmux.capture().first(where: { $0.hasPrefix(" ● fifo_pipes ") && !$0.contains("│") }),
                  let up = row.range(of: " up ") else { return nil }
            return row[up.upperBound...].split(separator: " ").first.map(String.init)
        }
        #expect(try eventually { try uptime() != nil }, "screen:\n\(s.tmux.dump)")
        let first = try uptime()
        #expect(try eventually(timeout: 10) { try uptime() != first }, "still \(first ?? "-"):\n\(s.tmux.dump)")
    }

    @Test func disabledHealthSaysSo() throws {
        let scratch = Scratch()
        let config = scratch.file("config.yaml")
        try "docker:\n  health:\n    enabled: false\n".write(toFile: config, atomically: true, encoding: .utf8)
        let s = try TUISession(arguments: ["--config", config])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("H")
        #expect(try s.tmux.waitFor("health checks are disabled"), "screen:\n\(s.tmux.dump)")
    }
}
