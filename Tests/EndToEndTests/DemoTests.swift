// DemoTests: `cc-bridge-tui demo` brings up three live scripted instances in the real TUI, through
// a server of its own that runs while the demo does, and leaves no process (agent or server) or
// directory behind, after `q`, SIGTERM and SIGHUP alike.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct DemoTests {
    /// Agents whose command line mentions `directory`.
    static func agentsUsing(_ directory: String) throws -> [String] {
        try run("/usr/bin/env", ["pgrep", "-f", "cc-bridge-agent.*" + directory]).stdout
            .split(separator: "\n").map(String.init)
    }

    /// Servers (`cc-bridge-tui serve`) whose command line mentions `directory`.
    static func serversUsing(_ directory: String) throws -> [String] {
        try run("/usr/bin/env", ["pgrep", "-f", "cc-bridge-tui serve .*" + directory]).stdout
            .split(separator: "\n").map(String.init)
    }

    static func demoDirectories(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("ccb-demo-") }
    }

    func startDemo(_ scratch: Scratch) throws -> Tmux {
        let tmp = scratch.file("tmp")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        return try Tmux(size: (110, 32),
                        command: ["sh", "-c", "\"$@\"; echo \"EXITED $?\"; sleep 60", "sh", try Binaries.tui, "demo"],
                        // As users start it: through a server (the demo's own, which it stops).
                        environment: ["TMPDIR": tmp + "/", "HOME": scratch.path, "XDG_STATE_HOME": scratch.file("state"),
                                      "XDG_CONFIG_HOME": scratch.file("config"), "CC_BRIDGE_NO_SERVER": ""],
                        scratch: scratch)
    }

    /// `q`; the greetings are real turns, and while one still streams (slow's takes ~15 s) or
    /// waits for an approval (claude-demo's) the TUI asks once, naming it: `q` again.
    func quit(_ tmux: Tmux) throws {
        try tmux.send("q")
        if try tmux.waitFor("q again quits", timeout: 2) { try tmux.send("q") }
    }

    @Test func demoShowsThreeLiveInstancesAndCleansUpOnQuit() throws {
        let scratch = Scratch()
        let tmux = try startDemo(scratch)
        #expect(try tmux.waitFor("chatty", timeout: 30), "screen:\n\(tmux.dump)")
        #expect(try tmux.waitFor("slow"))
        #expect(try tmux.waitFor("crashy"))
        let tmp = scratch.file("tmp")
        #expect(Self.demoDirectories(in: tmp).count == 1)
        let dir = tmp + "/" + (Self.demoDirectories(in: tmp).first ?? "?")
        #expect(try Self.agentsUsing(dir).count >= 3)
        // The demo runs through a server of its own, with its socket under the demo's directory.
        #expect(try Self.serversUsing(dir).count == 1)
        #expect(FileManager.default.fileExists(atPath: dir + "/.run"))
        // Live output: the greeting prompt got a scripted reply on the selected instance.
        #expect(try eventually(timeout: 30) { try tmux.screen().split(separator: "\n").count > 5 && !tmux.screen().contains("(no output yet)") },
                "screen:\n\(tmux.dump)")
        // The greeting went through the server: a turn like a typed one, its ❯ line (marked as
        // sent by a client of the socket) above the reply (it was written into the FIFO past the
        // server, and the reply stood alone).
        #expect(try eventually(timeout: 30) {
            let screen = try tmux.screen()
            guard let prompt = screen.range(of: "❯ [cli] hello chatty"), let reply = screen.range(of: "You asked: hello chatty") else { return false }
            return prompt.lowerBound < reply.lowerBound
        }, "screen:\n\(tmux.dump)")
        // And that turn ends with the agent's done (its row and header stop saying "working").
        #expect(try eventually(timeout: 30) { !(try tmux.capture().first ?? "working").contains("working") }, "screen:\n\(tmux.dump)")
        // `s` saves the pane where the user's saves go: it outlives the demo's private directory.
        let exports = scratch.file("state") + "/cc-bridge-tui/exports"
        try tmux.send("s")
        #expect(try tmux.waitFor("saved ", timeout: 10), "screen:\n\(tmux.dump)")
        try quit(tmux)
        #expect(try tmux.waitFor("EXITED 0", timeout: 20), "screen:\n\(tmux.dump)")
        #expect(try eventually(timeout: 10) { try Self.agentsUsing(dir).isEmpty })
        #expect(try Self.serversUsing(dir).isEmpty)
        #expect(Self.demoDirectories(in: tmp).isEmpty)
        let saved = (try? FileManager.default.contentsOfDirectory(atPath: exports)) ?? []
        #expect(saved.count == 1 && saved[0].hasPrefix("cc-bridge-chatty-"), "exports after the demo: \(saved)")
    }

    @Test(arguments: [SIGTERM, SIGHUP]) func demoCleansUpAfterASignal(_ signal: Int32) throws {
        let scratch = Scratch()
        let tmux = try startDemo(scratch)
        #expect(try tmux.waitFor("crashy", timeout: 30), "screen:\n\(tmux.dump)")
        let tmp = scratch.file("tmp")
        let dir = tmp + "/" + (Self.demoDirectories(in: tmp).first ?? "?")
        #expect(try Self.serversUsing(dir).count == 1)
        let pid = try tmux.paneInfo("#{pane_pid}")
        let tui = try run("/usr/bin/env", ["pgrep", "-P", pid, "-f", "cc-bridge-tui"]).stdout
            .split(separator: "\n").first.map(String.init) ?? ""
        #expect(!tui.isEmpty)
        guard let target = pid_t(tui), target > 1 else { return }   // never kill(0): our own group
        kill(target, signal)
        #expect(try tmux.waitFor("EXITED", timeout: 20), "screen:\n\(tmux.dump)")
        #expect(try eventually(timeout: 10) { try Self.agentsUsing(dir).isEmpty })
        #expect(try Self.serversUsing(dir).isEmpty)
        #expect(Self.demoDirectories(in: tmp).isEmpty)
        #expect(try tmux.paneInfo("#{alternate_on} #{mouse_any_flag} #{cursor_flag}") == "0 0 1")
    }

    /// The demo's `claude-demo` runs the agent's Claude mode against the stand-in: an approval
    /// waits (badge), answered from the list; the tool call, the footer and the cost show.
    @Test func demoShowsTheClaudeInstanceWithAnApprovalToolCallsAndCost() throws {
        let scratch = Scratch()
        let tmux = try startDemo(scratch)
        // The name may be cut to make room for the badge and counts.
        #expect(try tmux.waitFor("claude-de", timeout: 30), "screen:\n\(tmux.dump)")
        #expect(try tmux.waitFor("! approve?", timeout: 30), "screen:\n\(tmux.dump)")
        try tmux.send("j")
        #expect(try tmux.waitFor("─ prompt → claude-demo"), "screen:\n\(tmux.dump)")
        try tmux.send("p")
        #expect(try tmux.waitFor("tool     Bash"), "screen:\n\(tmux.dump)")
        try tmux.send("y")
        // The second tool asks while the instance is in view: the overlay opens by itself.
        #expect(try tmux.waitFor("tool     Read"), "screen:\n\(tmux.dump)")
        try tmux.send("y")
        #expect(try tmux.waitFor("✻ "), "the footer:\n\(tmux.dump)")
        let screen = try tmux.screen()
        #expect(screen.contains("⏺ Bash") && screen.contains("⏺ Read") && screen.contains("$0.0125"), "screen:\n\(screen)")
        try quit(tmux)
        #expect(try tmux.waitFor("EXITED 0", timeout: 20), "screen:\n\(tmux.dump)")
    }
}
