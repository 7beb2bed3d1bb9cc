// RemoteTUITests: remote hosts in the TUI (issue 16), against real sshd "hosts" (SSHLab, see
// RemoteTests) and a real TUI in a private tmux server. Two hosts in one TUI: both groups with
// their header rows, and a prompt typed to HOST/NAME reaches that host's agent and its reply
// shows; a host whose key changed shows the failure in its header while the other host works;
// ssh killed while a host floods the pane: the TUI reconnects and the saved pane has every line
// once, in order.

import BridgeCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension SSHLab {
    /// The TUI on the local (empty) pipe directory plus every host of the lab, in a tmux pane.
    /// `arguments` go before the options (e.g. `attach HOST/NAME`).
    func openTUI(_ arguments: [String] = [], size: (Int, Int) = (120, 32), config: String? = nil) throws -> (Tmux, Scratch) {
        try FileManager.default.createDirectory(atPath: scratch.file("local-pipes"), withIntermediateDirectories: true)
        var options = ["--pipe-dir", scratch.file("local-pipes")] + hostOptions
        if let config {
            try config.write(toFile: scratch.file("tui-config.yaml"), atomically: true, encoding: .utf8)
            options += ["--config", scratch.file("tui-config.yaml")]
        }
        let paneScratch = Scratch()
        let tmux = try Tmux(size: size,
                            command: ["sh", "-c", "\"$@\"; echo \"EXITED $?\"; sleep 60", "sh", try Binaries.tui] + arguments + options,
                            environment: environment.merging(["TERM": "tmux-256color", "NO_COLOR": ""]) { $1 }, scratch: paneScratch)
        return (tmux, paneScratch)
    }

    /// The ssh process of the TUI in `tmux` that reaches `host`.
    func sshProcess(in tmux: Tmux, to host: SSHHost) -> pid_t? {
        guard let pane = pid_t((try? tmux.paneInfo("#{pane_pid}")) ?? "") else { return nil }
        return descendants(of: pane).first { pid in
            ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").hasPrefix("ssh")
                && ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains("\(host.port)")
        }
    }
}

@Suite(.serialized) struct RemoteTUITests {
    @Test func twoHostsInOneTUIAreGroupedAndAPromptToHostSlashNameGetsItsReply() throws {
        guard let lab = try SSHLab.make() else { return }
        let one = try lab.host("one")
        let two = try lab.host("two")
        _ = try one.agent("alpha", ["--echo"])
        _ = try two.agent("beta", ["--echo"])
        let (tmux, pane) = try lab.openTUI()
        // Kill the tmux server (and the TUI in it) while its socket, in the pane scratch, is there.
        defer { _ = try? tmux.tmux(["kill-server"]); withExtendedLifetime(pane) {} }
        // Both groups: a title row per host, its state row (connected, with the round trip), its instance.
        #expect(try eventually(timeout: 60) {
            let lines = try tmux.capture()
            let list = lines.map { String($0.prefix(30)) }
            guard let oneAt = list.firstIndex(where: { $0.contains("─ one ─") }),
                  let twoAt = list.firstIndex(where: { $0.contains("─ two ─") }), oneAt < twoAt else { return false }
            return list[oneAt + 1].contains("● connected ") && list[oneAt + 1].contains(" ms")
                && list[oneAt + 2].contains("alpha")
                && list[twoAt + 1].contains("● connected ") && list[twoAt + 2].contains("beta")
        }, "screen:\n\(tmux.dump)")
        // The first instance listed is selected (one/alpha, or two/beta if host two answered
        // first); j picks two/beta below it; the prompt goes there.
        if !(try tmux.capture().first ?? "").contains(" two/beta ") { try tmux.send("j") }
        #expect(try eventually { (try tmux.capture().first ?? "").contains(" two/beta ") }, "screen:\n\(tmux.dump)")
        try tmux.send("i")
        try tmux.send("hello over ssh", literal: true)
        try tmux.send("Enter")
        // Its ❯ line and the echo agent's reply: the text twice in the pane.
        #expect(try eventually(timeout: 60) {
            let lines = try tmux.capture().filter { $0.contains("hello over ssh") }
            return lines.count >= 2 && lines.contains { $0.contains("❯ hello over ssh") }
        }, "screen:\n\(tmux.dump)")
        // It reached host two's agent (its history), not host one's.
        #expect(try eventually(timeout: 30) { try lab.tui(["history", "two/beta"]).stdout.contains("hello over ssh") })
        #expect(!(try lab.tui(["history", "one/alpha"]).stdout.contains("hello over ssh")))
        try tmux.send("Escape")
        // Apart, or Escape and q are one Alt-q.
        #expect(try tmux.waitFor("> i to type a prompt"), "screen:\n\(tmux.dump)")
        try tmux.send("q")
        #expect(try tmux.waitFor("EXITED 0", timeout: 30), "screen:\n\(tmux.dump)")
    }

    @Test func aHostWithAChangedKeyShowsItsFailureInItsHeaderWhileTheOtherWorks() throws {
        guard let lab = try SSHLab.make() else { return }
        let good = try lab.host("good")
        _ = try good.agent("fine", ["--echo"])
        let moved = try lab.host("moved")
        try SSHLabKeys(lab).replaceKnownKey(of: moved)
        let (tmux, pane) = try lab.openTUI()
        // Kill the tmux server (and the TUI in it) while its socket, in the pane scratch, is there.
        defer { _ = try? tmux.tmux(["kill-server"]); withExtendedLifetime(pane) {} }
        #expect(try eventually(timeout: 60) {
            let list = try tmux.capture().map { String($0.prefix(30)) }
            guard let goodAt = list.firstIndex(where: { $0.contains("─ good ─") }),
                  let movedAt = list.firstIndex(where: { $0.contains("─ moved ─") }) else { return false }
            return list[goodAt + 1].contains("● connected") && list[goodAt + 2].contains("fine")
                && list[movedAt + 1].contains("✖ failed: host key mismatch")
        }, "screen:\n\(tmux.dump)")
        // The full words in the status line, and the good host takes prompts all the same.
        #expect(try tmux.waitFor("host moved: host key mismatch"), "screen:\n\(tmux.dump)")
        try tmux.send("i")
        try tmux.send("still fine", literal: true)
        try tmux.send("Enter")
        #expect(try eventually(timeout: 60) { try tmux.capture().filter { $0.contains("still fine") }.count >= 2 }, "screen:\n\(tmux.dump)")
        // The user fixes known_hosts; `r` tries the failed host again (it stayed failed until
        // the TUI was restarted).
        _ = try moved.agent("back", ["--echo"])
        try SSHLabKeys(lab).restoreKnownKey(of: moved)
        try tmux.send("Escape")
        #expect(try tmux.waitFor("> i to type a prompt"), "screen:\n\(tmux.dump)")
        try tmux.send("r")
        #expect(try eventually(timeout: 60) {
            let list = try tmux.capture().map { String($0.prefix(30)) }
            guard let movedAt = list.firstIndex(where: { $0.contains("─ moved ─") }), movedAt + 2 < list.count else { return false }
            return list[movedAt + 1].contains("● connected") && list[movedAt + 2].contains("back")
        }, "screen:\n\(tmux.dump)")
    }

    @Test func sshKilledWhileAHostFloodsThePaneReconnectsAndLosesOrRepeatsNoLine() throws {
        guard let lab = try SSHLab.make() else { return }
        let host = try lab.host("flooder")
        // An unfinished line is on screen at most moments (the resubscription must complete it,
        // not repeat it). Pauses of 0.5 s: the flood lasts ~10 s, so ssh is killed well before its
        // end even when the screen is read late under load (with 0.2 s the whole 4 s flood could
        // be over first, and the test said "nothing tested").
        let flood = try lab.burstFloodScript(pause: 0.5)
        _ = try host.agent("gush", ["--exec", flood])
        let total = 20_000
        let (tmux, pane) = try lab.openTUI(["attach", "flooder/gush"], config: "tui:\n  scrollback_lines: 100000\n")
        // Kill the tmux server (and the TUI in it) while its socket, in the pane scratch, is there.
        defer { _ = try? tmux.tmux(["kill-server"]); withExtendedLifetime(pane) {} }
        #expect(try eventually(timeout: 60) { try tmux.screen().contains("flooder/gush") && lab.sshProcess(in: tmux, to: host) != nil },
                "screen:\n\(tmux.dump)")
        let sent = try lab.tui(["send", "flooder/gush", String(total)])
        #expect(sent.status == 0, "send: \(sent.stderr)")
        // Mid-flood: some thousands shown, the last line not yet.
        #expect(try eventually(timeout: 60) {
            try tmux.capture().contains { Int($0.trimmingCharacters(in: .whitespaces)).map { $0 > 3000 } ?? false }
        }, "screen:\n\(tmux.dump)")
        guard let ssh = lab.sshProcess(in: tmux, to: host) else {
            Issue.record("no ssh under the TUI")
            return
        }
        kill(ssh, SIGKILL)
        #expect(!(try tmux.capture().contains { $0.trimmingCharacters(in: .whitespaces) == String(total) }),
                "the flood was over before ssh was killed: nothing tested")
        // A new ssh (another pid), and the flood's end on screen.
        #expect(eventually(timeout: 60) { lab.sshProcess(in: tmux, to: host).map { $0 != ssh } ?? false }, "screen:\n\(tmux.dump)")
        #expect(try eventually(timeout: 120) { try tmux.capture().contains { $0.trimmingCharacters(in: .whitespaces) == String(total) } },
                "screen:\n\(tmux.dump)")
        // `attach` starts in the prompt: leave it, then `s` saves the pane. The prompt box says it
        // is left (the hint line can be a status message just then: its absence proved nothing,
        // and the `s` was lost while the prompt was still open).
        try tmux.send("Escape")
        #expect(try tmux.waitFor("> i to type a prompt"), "screen:\n\(tmux.dump)")
        try tmux.send("s")
        #expect(try tmux.waitFor("saved ", timeout: 30), "screen:\n\(tmux.dump)")
        let exports = lab.scratch.file("local-state") + "/cc-bridge-tui/exports"
        let saved = ((try? FileManager.default.contentsOfDirectory(atPath: exports)) ?? []).sorted()
        guard let name = saved.last else { Issue.record("no export in \(exports)"); return }
        let text = try String(contentsOfFile: exports + "/" + name, encoding: .utf8)
        let numbers = text.split(separator: "\n").compactMap { Int($0) }
        #expect(numbers.count == total, "lines: \(numbers.count)")
        let misplaced = numbers.enumerated().first { $0.element != $0.offset + 1 }
        #expect(misplaced == nil, "first line out of place: \(misplaced.map { "line \($0.offset + 1) is \($0.element)" } ?? "")")
    }
}
