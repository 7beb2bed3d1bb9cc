// RemoteHostTests: `ssh://` host entries (config `hosts:` and `--host`), HOST/NAME addresses,
// the ssh command line, how ssh's words become typed failures (the stderr texts are OpenSSH
// 9.2's), and IPCClient over a command transport: a peer speaking another protocol version
// stops the client for good instead of retrying.

import Foundation
import Testing
@testable import BridgeCore

@Suite struct RemoteHostTests {
    @Test func parsesSSHURLsWithUserPortAndName() throws {
        let plain = try RemoteHost.parse("ssh://build1")
        #expect(plain == RemoteHost(name: "build1", user: nil, host: "build1", port: nil))
        let full = try RemoteHost.parse("ssh://me@build1.example:2222", name: "b1")
        #expect(full == RemoteHost(name: "b1", user: "me", host: "build1.example", port: 2222))
        #expect(full.url == "ssh://me@build1.example:2222")
        let v6 = try RemoteHost.parse("ssh://me@[::1]:22")
        #expect(v6.host == "::1" && v6.port == 22)
        #expect(try RemoteHost.parseOption("gpu=ssh://me@gpu-box").name == "gpu")
        for bad in ["build1", "http://x", "ssh://", "ssh://me@", "ssh://x:0", "ssh://x:99999", "ssh://x:port", "ssh://-oProxyCommand=x"] {
            #expect(throws: RemoteHostError.self, "\(bad)") { try RemoteHost.parse(bad) }
        }
        #expect(throws: RemoteHostError.self) { try RemoteHost.parse("ssh://x", name: "a/b") }
    }

    @Test func theSSHCommandRunsDialStdioInBatchModeWithTheConfigAndPort() {
        var host = RemoteHost(name: "b", user: "me", host: "build1", port: 2222)
        host.pipeDirectory = "/srv/my pipes"
        let command = host.command(settings: SSHSettings(executable: "/usr/bin/ssh", configFile: "/t/ssh_config"))
        #expect(command.executable == "/usr/bin/ssh")
        #expect(command.arguments.contains("BatchMode=yes"))
        #expect(command.arguments.joined(separator: " ").contains("-F /t/ssh_config -p 2222 -- me@build1"))
        #expect(command.arguments.last == "cc-bridge-tui dial-stdio --pipe-dir '/srv/my pipes'")
        let settings = SSHSettings.from(environment: ["CCB_SSH": "/x/ssh", "CCB_SSH_CONFIG": "/c", "CCB_REMOTE_COMMAND": "/opt/ccb"])
        #expect(settings == SSHSettings(executable: "/x/ssh", configFile: "/c", remoteCommand: "/opt/ccb"))
    }

    @Test func hostSlashNameAddresses() {
        #expect(HostAddress.split("build1/claude-1")! == ("build1", "claude-1"))
        #expect(HostAddress.split("claude-1") == nil)
        #expect(HostAddress.split("/claude-1") == nil)
        #expect(HostAddress.split("a/") == nil)
        #expect(HostAddress.split("a/b/c") == nil)
    }

    @Test func configHostsAreReadWithNamesAndBadOnesNameTheLine() throws {
        let config = try ConfigLoader.parse("""
            hosts:
              - ssh://me@build1
              - url: ssh://me@gpu.example:2222
                name: gpu
                pipe_dir: /srv/pipes
            """, file: "c.yaml")
        #expect(config.hosts.map(\.name) == ["build1", "gpu"])
        #expect(config.hosts[1].port == 2222 && config.hosts[1].pipeDirectory == "/srv/pipes")
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("hosts:\n  - build1\n", file: "c.yaml") }
        do {
            _ = try ConfigLoader.parse("hosts:\n  - ssh://a\n  - ssh://me@a\n", file: "c.yaml")
            Issue.record("a second host of the same name was accepted")
        } catch {
            #expect(error.description.hasPrefix("c.yaml:3: hosts[1]: a second host named \"a\""), "\(error)")
        }
    }

    @Test func sshsOwnWordsBecomeTypedFailures() {
        let mismatch = """
            @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
            @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
            @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
            Offending ED25519 key in /t/known_hosts:1
            Host key for [127.0.0.1]:2201 has changed and you have requested strict checking.
            Host key verification failed.
            """
        #expect(RemoteFailure.classify(mismatch, .exited(255))?.code == .hostKeyMismatch)
        #expect(RemoteFailure.classify(mismatch, .exited(255))?.message.contains("Offending ED25519 key in /t/known_hosts:1") == true)
        let unknown = "No ED25519 host key is known for [127.0.0.1]:2201 and you have requested strict checking.\nHost key verification failed.\n"
        #expect(RemoteFailure.classify(unknown, .exited(255))?.code == .hostKeyUnknown)
        #expect(RemoteFailure.classify("root@127.0.0.1: Permission denied (publickey).\n", .exited(255))?.code == .authRefused)
        #expect(RemoteFailure.classify("ssh: connect to host 127.0.0.1 port 9: Connection refused\n", .exited(255))?.code == .hostUnreachable)
        #expect(RemoteFailure.classify("ssh: Could not resolve hostname nowhere: Name or service not known\n", .exited(255))?.code == .hostUnreachable)
        let missing = RemoteFailure.classify("bash: line 1: cc-bridge-tui: command not found\n", .exited(127))
        #expect(missing?.code == .remoteMissing && missing?.message.contains("command not found") == true)
        #expect(RemoteFailure.classify("", .signalled(9)) == nil)
        #expect(RemoteFailure.classify("cc-bridge-tui: dial-stdio: no server\n", .exited(1))?.code == .disconnected)
        for code in [IPCErrorCode.hostKeyMismatch, .hostKeyUnknown, .authRefused, .remoteMissing, .noTransportProgram, .unsupportedVersion] {
            #expect(code.isPermanent, "\(code)")
        }
        #expect(!IPCErrorCode.hostUnreachable.isPermanent && !IPCErrorCode.disconnected.isPermanent)
    }

    /// A peer at the end of a command that welcomes with protocol 2: said, and never retried.
    /// It first writes 1 MiB to standard error, which must be drained as it comes (a pipe holds
    /// 64 KiB: undrained, the peer would block there and the welcome never come).
    @Test func aCommandPeerOfAnotherProtocolVersionStopsTheClient() throws {
        let welcome = IPCMessage.welcome(protocol: 2, version: "9.9", pid: 1).encoded()
        let octal = welcome.map { String(format: "\\%03o", $0) }.joined()
        let script = "head -c 1048576 /dev/zero | tr '\\0' x >&2; printf '\(octal)'; exec sleep 30"
        let command = IPCCommand(executable: "/bin/sh", arguments: ["-c", script], label: "test peer",
                                 classifyFailure: RemoteFailure.classify)
        let loop = try EventLoop()
        let client = IPCClient(loop: loop, transport: .command(command),
                               options: IPCClientOptions(handshakeTimeout: 15, reconnect: IPCBackoff()))
        var states: [IPCClient.State] = []
        client.onStateChange = { states.append($0) }
        client.start()
        let deadline = MonotonicClock.now() + 20
        while MonotonicClock.now() < deadline, !states.contains(where: { if case .stopped = $0 { true } else { false } }) {
            loop.runOnce(timeout: 0.1)
        }
        guard case .stopped(let error?)? = states.last else {
            Issue.record("states: \(states)")
            return
        }
        #expect(error.code == .unsupportedVersion && error.message.contains("protocol 2"), "\(error)")
        #expect(!states.contains { if case .waiting = $0 { true } else { false } }, "retried: \(states)")
    }
}
