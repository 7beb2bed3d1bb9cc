// ServerLogLineTests: the server's log says what happened in words. An agent's exit was logged
// as Swift's dump of the event (`agent exited(interrupted: Optional(BridgeCore.Turn(id: …`).

import Testing
@testable import BridgeCore

@Suite struct ServerLogLineTests {
    @Test func anAgentsExitNamesTheReasonAndTheInterruptedTurn() {
        let turn = Turn(id: "tmx6-3", prompt: "and then?", sentAt: 1)
        let line = ServerDaemon.logLine(.agent(instance: "crashy", change: .exited(interrupted: turn, why: .noReader)))
        #expect(line == "instance crashy: agent exited (nothing reads its in-FIFO); turn tmx6-3 interrupted")
        #expect(ServerDaemon.logLine(.agent(instance: "crashy", change: .exited(interrupted: nil, why: .pipesGone)))
                == "instance crashy: agent exited (its FIFOs are gone)")
        #expect(ServerDaemon.logLine(.agent(instance: "crashy", change: .back(restarted: true))) == "instance crashy: agent back (restarted)")
    }

    @Test func noLineCarriesSwiftsDumpOfAValue() {
        let events: [ServerEvent] = [
            .agent(instance: "a", change: .seen),
            .agent(instance: "a", change: .back(restarted: false)),
            .agent(instance: "a", change: .exited(interrupted: Turn(id: "x", prompt: "p", sentAt: 1), why: .replaced)),
            .notice(instance: "a", notice: .queuedDelivered(count: 2)),
            .notice(instance: "a", notice: .historyWarning("line 3 is not JSON")),
            .notice(instance: "a", notice: .interruptUnsupported),
            .notice(instance: "a", notice: .readerRefused("pid 12 reads it")),
        ]
        for event in events {
            let line = ServerDaemon.logLine(event) ?? ""
            #expect(!line.isEmpty && !line.contains("BridgeCore.") && !line.contains("Optional(") && !line.contains("(count:"), "\(line)")
        }
        #expect(ServerDaemon.logLine(.notice(instance: "a", notice: .queuedDelivered(count: 2))) == "instance a: 2 queued prompts delivered")
    }
}
