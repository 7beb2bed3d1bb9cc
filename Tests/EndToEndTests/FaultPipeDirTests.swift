// FaultPipeDirTests: a pipe directory another user can write without the sticky bit, or one owned
// by another user, lets that user swap two instances' FIFOs (they stay ours, so the FIFO checks
// cannot see it): `send prod` was answered by the dev agent. Such a directory is refused unless
// --allow-unsafe-pipes, with the reason and the fix, in `send`, `list` and `health`.
// Tests run as root: the other user is uid/gid 65534 through setpriv.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Two echo agents, prod and dev, in `scratch/pipes`, which the other user may traverse.
struct TwoAgents {
    let scratch = Scratch()
    var pipes: String { scratch.file("pipes") }
    var agents: [Running] = []

    init() throws {
        #expect(chmod(scratch.path, 0o711) == 0)
        #expect(mkdir(scratch.file("pipes"), 0o700) == 0)
        for name in ["prod", "dev"] {
            agents.append(try Running(try Binaries.agent, ["serve", "--name", name, "--pipe-dir", scratch.file("pipes"), "--echo"]))
        }
        let pipes = scratch.file("pipes")
        #expect(eventually { ["prod", "dev"].allSatisfy { FileManager.default.fileExists(atPath: "\(pipes)/\($0).out.fifo") } })
    }

    /// Swaps prod's and dev's FIFOs as uid/gid 65534; true when the other user could.
    func swapAsOtherUser() throws -> Bool {
        let script = """
        cd "$1" && for s in in out; do mv prod.$s.fifo x && mv dev.$s.fifo prod.$s.fifo && mv x dev.$s.fifo || exit 1; done
        """
        return try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", script, "sh", pipes]).status == 0
    }

    func tui(_ arguments: [String]) throws -> Finished {
        try run(try Binaries.tui, arguments + ["--pipe-dir", pipes],
                environment: ["HOME": scratch.path, "XDG_STATE_HOME": scratch.file("state"),
                              "XDG_CONFIG_HOME": scratch.file("config"), "DOCKER_HOST": "unix://" + scratch.file("no.sock")])
    }

    func stop() { for agent in agents { agent.signal(SIGTERM) } }
}

@Suite(.serialized, .enabled(if: getuid() == 0, "needs root to act as another user"))
struct FaultPipeDirTests {
    @Test func worldWritableDirectoryWithoutStickyBitIsRefusedAfterAnotherUserSwapsFifos() throws {
        let s = try TwoAgents()
        defer { s.stop() }
        #expect(chmod(s.pipes, 0o777) == 0)
        #expect(try s.swapAsOtherUser(), "the other user must be able to swap in a 0777 directory")
        let sent = try s.tui(["send", "prod", "deploy", "--timeout", "3"])
        #expect(sent.status == 1, "send prod must be refused, not answered by dev; stderr: \(sent.stderr)")
        #expect(sent.stderr.contains("world-writable without the sticky bit") && sent.stderr.contains("chmod 1777")
                && sent.stderr.contains("chmod 0700"), "stderr: \(sent.stderr)")
        let list = try s.tui(["list"])
        #expect(list.status == 1 && list.stdout.contains("prod") && list.stdout.contains("broken"), "list: \(list.stdout) \(list.stderr)")
        let health = try s.tui(["health"])
        #expect(health.status == 1)
        #expect(health.stdout.contains("world-writable without the sticky bit") && health.stdout.contains("chmod 1777"), "\(health.stdout)")
        // With the flag the user takes the risk knowingly.
        let allowed = try s.tui(["send", "prod", "deploy", "--timeout", "5", "--allow-unsafe-pipes"])
        #expect(allowed.status == 0, "stderr: \(allowed.stderr)")
    }

    @Test func theStickyBitStopsTheSwapAndTheDirectoryIsAccepted() throws {
        let s = try TwoAgents()
        defer { s.stop() }
        #expect(chmod(s.pipes, 0o1777) == 0)
        #expect(try !s.swapAsOtherUser(), "with the sticky bit only the owner may rename")
        let sent = try s.tui(["send", "prod", "hello", "--timeout", "5"])
        #expect(sent.status == 0, "stderr: \(sent.stderr)")
    }

    @Test func groupWritableByAnotherUsersGroupIsRefused() throws {
        let s = try TwoAgents()
        defer { s.stop() }
        #expect(chown(s.pipes, 0, 65534) == 0)
        #expect(chmod(s.pipes, 0o770) == 0)
        let swap = try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c",
                                                "cd \"$1\" && mv prod.in.fifo x && mv dev.in.fifo prod.in.fifo && mv x dev.in.fifo",
                                                "sh", s.pipes])
        #expect(swap.status == 0, "the group member must be able to swap: \(swap.stderr)")
        let sent = try s.tui(["send", "prod", "deploy", "--timeout", "3"])
        #expect(sent.status == 1, "stderr: \(sent.stderr)")
        #expect(sent.stderr.contains("writable by group 65534") && sent.stderr.contains("chmod 0700"), "stderr: \(sent.stderr)")
    }

    @Test func aDirectoryOwnedByAnotherUserIsRefused() throws {
        let s = try TwoAgents()
        defer { s.stop() }
        #expect(chown(s.pipes, 65534, 65534) == 0)
        #expect(chmod(s.pipes, 0o755) == 0)
        let sent = try s.tui(["send", "prod", "deploy", "--timeout", "3"])
        #expect(sent.status == 1, "stderr: \(sent.stderr)")
        #expect(sent.stderr.contains("owned by uid 65534"), "stderr: \(sent.stderr)")
        let health = try s.tui(["health"])
        #expect(health.stdout.contains("owned by uid 65534") && health.stdout.contains("pipe directory of your own"), "\(health.stdout)")
        // Each instance in it is unhealthy too, not "all checks healthy".
        #expect(health.stdout.contains("pipes: pipe directory is owned by uid 65534"), "\(health.stdout)")
    }
}

extension FaultPipeDirTests {
    @Test func theAgentRefusesAnUnsafePipeDirectoryUnlessAllowed() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        #expect(mkdir(pipes, 0o777) == 0 && chmod(pipes, 0o777) == 0)
        let refused = try run(try Binaries.agent, ["serve", "--name", "a", "--pipe-dir", pipes, "--echo"], timeout: 10)
        #expect(refused.status == 2, "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("chmod 1777") && refused.stderr.contains("chmod 0700"), "stderr: \(refused.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: pipes)) ?? []).isEmpty, "nothing may be created in a refused directory")
        let allowed = try Running(try Binaries.agent, ["serve", "--name", "a", "--pipe-dir", pipes, "--echo", "--allow-unsafe-pipes"])
        defer { allowed.signal(SIGTERM) }
        #expect(eventually { FileManager.default.fileExists(atPath: pipes + "/a.in.fifo") })
    }
}

