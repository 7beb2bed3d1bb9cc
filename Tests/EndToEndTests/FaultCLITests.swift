// FaultCLITests: the real cc-bridge-tui binary against unsafe pipes, broken configs and hostile
// instance names. Unsafe pipes are flagged by `health --json`; writing to them is refused unless
// --allow-unsafe-pipes, and a FIFO owned by another user is refused always. (Tests run as root:
// the foreign owner is uid 65534.)

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `health --json` of a pipe_dir, as a dictionary from component name to (state, reason).
private func health(_ pipes: String, _ scratch: Scratch, extra: [String] = []) throws -> [String: (state: String, reason: String)] {
    let result = try run(try Binaries.tui, ["health", "--json", "--pipe-dir", pipes] + extra,
                         environment: ["HOME": scratch.path, "XDG_STATE_HOME": scratch.file("state"),
                                       "XDG_CONFIG_HOME": scratch.file("config"), "DOCKER_HOST": "unix://" + scratch.file("no.sock")])
    let doc = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    var out: [String: (String, String)] = [:]
    for component in doc?["components"] as? [[String: Any]] ?? [] {
        out[component["name"] as? String ?? "?"] = (component["state"] as? String ?? "?", component["reason"] as? String ?? "?")
    }
    return out
}

@Suite(.serialized) struct FaultCLITests {
    @Test func worldWritablePipeDirWithoutStickyBitIsFlagged() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        #expect(chmod(pipes, 0o777) == 0)
        let report = try health(pipes, scratch)
        #expect(report["fifo_pipes"]?.state != "healthy")
        #expect(report["fifo_pipes"]?.reason.contains("world-writable without the sticky bit") == true, "\(report)")
        #expect(chmod(pipes, 0o1777) == 0)   // with the sticky bit it is the /tmp model: fine
        #expect(try health(pipes, scratch)["fifo_pipes"]?.reason.contains("sticky") == false)
    }

    @Test func fifoWithMode0666IsFlaggedAndWritingNeedsAllowUnsafePipes() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        #expect(chmod(pipes + "/bot.in.fifo", 0o666) == 0)
        let report = try health(pipes, scratch)
        #expect(report["fifo_pipes"]?.state == "degraded")
        #expect(report["fifo_pipes"]?.reason.contains("bot.in.fifo (mode 666)") == true, "\(report)")
        #expect(report["bot"]?.state == "unhealthy", "\(report)")
        let agent = try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, pipes, "bot"])
        defer { agent.signal(SIGKILL) }
        let refused = try run(tui, ["send", "bot", "hi", "--pipe-dir", pipes, "--timeout", "5"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("666") || refused.stderr.contains("unsafe"), "stderr: \(refused.stderr)")
        let allowed = try run(tui, ["send", "bot", "hi", "--allow-unsafe-pipes", "--pipe-dir", pipes, "--timeout", "10"])
        #expect(allowed.status == 0, "stderr: \(allowed.stderr)")
    }

    @Test func fifoOwnedByAnotherUserIsAlwaysRefused() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        #expect(chown(pipes + "/bot.in.fifo", 65534, 65534) == 0)
        let report = try health(pipes, scratch)
        #expect(report["bot"]?.state == "unhealthy")
        #expect(report["bot"]?.reason.contains("65534") == true || report["fifo_pipes"]?.reason.contains("65534") == true, "\(report)")
        let agent = try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, pipes, "bot"])
        defer { agent.signal(SIGKILL) }
        for extra in [[], ["--allow-unsafe-pipes"]] {
            let refused = try run(tui, ["send", "bot", "hi", "--pipe-dir", pipes, "--timeout", "5"] + extra)
            #expect(refused.status != 0, "send \(extra) must be refused")
            #expect(refused.stderr.contains("65534"), "stderr: \(refused.stderr)")
        }
    }

    @Test(arguments: [
        ("broken YAML", "docker:\n  session: [1, 2\n", 2, "config.yaml:"),
        ("wrong type for a section", "docker: 5\n", 2, "config.yaml:1: docker:"),
        ("wrong type for a value", "tui:\n  scrollback_lines: many\n", 2, "config.yaml:2: tui.scrollback_lines:"),
        ("list where a map belongs", "docker:\n  health: [a, b]\n", 2, "config.yaml:2: docker.health:"),
        ("negative interval", "docker:\n  health:\n    check_interval: -1\n", 2, "config.yaml:3: docker.health.check_interval:"),
        ("unknown key only warns", "tui:\n  colour: red\n", 0, "warning: "),
        // cc-bridge's docker section has keys for its other modes: unknown ones there are silent.
        ("unknown docker key is cc-bridge's", "docker:\n  image: x\n", 0, ""),
        ("missing sections use defaults", "project_name: p\n", 0, ""),
        ("empty file uses defaults", "", 0, ""),
        ("binary junk", "\u{1}\u{2}\u{7F}\u{FFFD}: [", 2, "config.yaml:"),
    ])
    func configProblemsThroughTheBinary(name: String, yaml: String, status: Int32, stderr: String) throws {
        let scratch = Scratch()
        let config = scratch.file("config.yaml")
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: scratch.file("pipes"), withIntermediateDirectories: false)
        let result = try run(try Binaries.tui, ["list", "--config", config, "--pipe-dir", scratch.file("pipes")])
        #expect(result.status == status, "\(name): \(result.stderr)")
        #expect(stderr.isEmpty ? result.stderr.isEmpty : result.stderr.contains(stderr), "\(name): \(result.stderr)")
        if stderr.hasPrefix("warning") { #expect(result.stderr.contains("config.yaml:2: tui.colour: unknown key, ignored")) }
    }

    @Test(arguments: ["../escape", "a/b", "with space", "new\nline", "tab\there", ".hidden", "",
                      String(repeating: "n", count: 300), "esc\u{1B}]0;x\u{07}"])
    func hostileInstanceNamesAreRefusedWithExitTwo(name: String) throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        for command in [["send", name, "hi"], ["pipes", "create", name], ["tail", name]] {
            let result = try run(tui, command + ["--pipe-dir", pipes], timeout: 20)
            #expect(result.status == 2, "\(command.first!) \(name.debugDescription): \(result.status) \(result.stderr)")
            #expect(!result.stderr.contains("\u{1B}"), "the name is echoed sanitized")
        }
        // Nothing was created outside (or inside) pipe_dir.
        #expect(!FileManager.default.fileExists(atPath: scratch.file("escape.in.fifo")))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: pipes))?.contains { $0.hasSuffix(".fifo") } != true)
    }

    @Test func fifosWithHostileNamesInPipeDirAreListedBrokenNotUsed() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["pipes", "create", "good", "--pipe-dir", pipes]).status == 0)
        // 300 characters cannot be a file name (NAME_MAX 255); 200 is over our 128 limit.
        let hostile = ["with space", "new\nline", String(repeating: "n", count: 200), "esc\u{1B}[2J"]
        for name in hostile {
            #expect(mkfifo(pipes + "/" + name + ".in.fifo", 0o660) == 0)
            #expect(mkfifo(pipes + "/" + name + ".out.fifo", 0o660) == 0)
        }
        let result = try run(tui, ["list", "--json", "--pipe-dir", pipes])
        #expect(result.status == 0)
        #expect(!result.stdout.contains("\u{1B}"))
        let doc = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let rows = doc?["instances"] as? [[String: Any]] ?? []
        #expect(rows.count == hostile.count + 1, "\(rows)")
        for row in rows where row["name"] as? String != "good" {
            #expect(row["status"] as? String == "broken", "\(row)")
            #expect((row["reason"] as? String)?.hasPrefix("invalid name") == true, "\(row)")
        }
        #expect(rows.first { $0["name"] as? String == "good" }?["status"] as? String == "ready")
        // The plain listing is safe for a terminal too.
        let plain = try run(tui, ["list", "--pipe-dir", pipes])
        #expect(!plain.stdout.contains("\u{1B}") && !plain.stdout.contains("new\nline"))
    }
}
