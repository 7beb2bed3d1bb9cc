// RemoteTests: remote hosts over ssh (docs/remote.md) against real sshd (Debian's
// openssh-server) started by the test on 127.0.0.1, each "host" with its own port, throwaway
// host key, runtime, state and pipe directories (sshd's SetEnv), all in a temporary directory;
// the client's key, authorized_keys, known_hosts and ssh config too (passed with
// CCB_SSH_CONFIG, so nothing system-wide is read or written). sshd needs /run/sshd: it runs in a
// private mount namespace (`unshare -m`) with a tmpfs on /run, so the real /run is untouched.
// Without root, sshd or unshare the tests are skipped with the reason printed (under CI they
// fail instead: scripts/bootstrap installs openssh-server).
//
// Two hosts in one `list` (and send/tail/history by HOST/NAME); ssh killed mid-flood under
// `tail --follow HOST/NAME`: it reconnects and no line is lost or repeated; a changed host key
// is refused and said while the other host is listed; a missing remote binary, refused
// authentication, an unreachable host and no ssh at all are each said in their own words.

import BridgeCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Keys, known_hosts and the ssh config shared by the hosts of one test.
final class SSHLab {
    let scratch = Scratch()
    var clientKey: String { scratch.file("client_key") }
    var sshConfig: String { scratch.file("ssh_config") }
    var knownHosts: String { scratch.file("known_hosts") }
    var hosts: [SSHHost] = []

    /// Why sshd cannot run here, or nil.
    static let unavailable: String? = {
        if geteuid() != 0 { return "sshd needs root here (a private /run/sshd via unshare -m)" }
        for tool in ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/unshare"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt-get install openssh-server openssh-client util-linux)"
        }
        return nil
    }()

    /// A lab, or nil (the reason printed; a failure under CI, where it must run).
    static func make() throws -> SSHLab? {
        if let reason = unavailable {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                Issue.record("RemoteTests must run in CI: \(reason)")
            } else {
                print("RemoteTests skipped: \(reason)")
            }
            return nil
        }
        let lab = SSHLab()
        try lab.keygen(lab.clientKey)
        try """
            Host *
              IdentityFile \(lab.clientKey)
              IdentitiesOnly yes
              UserKnownHostsFile \(lab.knownHosts)
              GlobalKnownHostsFile /dev/null
              StrictHostKeyChecking yes
              LogLevel ERROR

            """.write(toFile: lab.sshConfig, atomically: true, encoding: .utf8)
        return lab
    }

    deinit {
        for host in hosts { host.shutDown() }
    }

    func keygen(_ path: String) throws {
        let made = try run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ccb-test", "-f", path])
        guard made.status == 0 else { throw HarnessError("ssh-keygen: \(made.stderr)") }
    }

    /// A host with sshd running; `binary: false` leaves cc-bridge-tui off its PATH;
    /// `authorized: false` does not accept the client's key.
    func host(_ name: String, binary: Bool = true, authorized: Bool = true) throws -> SSHHost {
        let host = try SSHHost(name: name, lab: self, binary: binary, authorized: authorized)
        hosts.append(host)
        try host.record(in: knownHosts)
        return host
    }

    /// The environment of the local cc-bridge-tui: private home and state, our ssh config.
    var environment: [String: String] {
        ["HOME": scratch.path, "XDG_STATE_HOME": scratch.file("local-state"), "XDG_RUNTIME_DIR": scratch.file("local-run"),
         "XDG_CONFIG_HOME": scratch.file("local-config"), "CCB_SSH_CONFIG": sshConfig,
         "DOCKER_HOST": "unix://" + scratch.file("no-docker.sock")]
    }

    var hostOptions: [String] { hosts.flatMap { ["--host", "\($0.name)=ssh://root@127.0.0.1:\($0.port)"] } }

    func tui(_ arguments: [String], extra: [String] = [], timeout: Double = 60) throws -> Finished {
        try FileManager.default.createDirectory(atPath: scratch.file("local-pipes"), withIntermediateDirectories: true)
        return try run(try Binaries.tui, arguments + ["--pipe-dir", scratch.file("local-pipes")] + hostOptions + extra,
                       timeout: timeout, environment: environment)
    }

    /// A script printing $1 numbered lines in 20 bursts; each burst's last line is cut by a
    /// `pause` (its digits but the last three, then the rest), so an unfinished line is out at
    /// most moments. Returns its path.
    func burstFloodScript(pause: Double = 0.2) throws -> String {
        let flood = scratch.file("flood.sh")
        try """
            #!/bin/sh
            step=$(($1 / 20))
            for i in $(seq 0 19); do
              last=$(((i + 1) * step))
              seq $((i * step + 1)) $((last - 1))
              printf '%s' "${last%???}"
              sleep \(pause)
              printf '%s\\n' "${last#${last%???}}"
            done

            """.write(toFile: flood, atomically: true, encoding: .utf8)
        chmod(flood, 0o755)
        return flood
    }

    func running(_ arguments: [String]) throws -> Running {
        try FileManager.default.createDirectory(atPath: scratch.file("local-pipes"), withIntermediateDirectories: true)
        return try Running(try Binaries.tui, arguments + ["--pipe-dir", scratch.file("local-pipes")] + hostOptions,
                           environment: environment)
    }
}

/// One "remote host": sshd on its own port with its own host key and directories.
final class SSHHost {
    let name: String
    let port: Int
    let root: String
    var pipes: String { root + "/pipes" }
    var hostKey: String { root + "/host_key" }
    var environment: [String: String] {
        ["HOME": root, "XDG_STATE_HOME": root + "/state", "XDG_RUNTIME_DIR": root + "/run",
         "CC_BRIDGE_CONFIG": root + "/config.yaml", "DOCKER_HOST": "unix://" + root + "/no-docker.sock"]
    }
    private var sshd: pid_t?
    var sshdLog: String { (try? String(contentsOfFile: root + "/sshd.log", encoding: .utf8)) ?? "" }
    private var agents: [Running] = []

    init(name: String, lab: SSHLab, binary: Bool, authorized: Bool) throws {
        self.name = name
        root = lab.scratch.file("host-" + name)
        port = try Self.freePort()
        let files = FileManager.default
        try files.createDirectory(atPath: pipes, withIntermediateDirectories: true)
        try files.createDirectory(atPath: root + "/run", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "docker:\n  pipe_dir: \(pipes)\n".write(toFile: root + "/config.yaml", atomically: true, encoding: .utf8)
        try lab.keygen(hostKey)
        let authorizedKeys = root + "/authorized_keys"
        let key = authorized ? try String(contentsOfFile: lab.clientKey + ".pub", encoding: .utf8) : ""
        try key.write(toFile: authorizedKeys, atomically: true, encoding: .utf8)
        var environment = self.environment
        environment["PATH"] = (binary ? Binaries.directory + ":" : "") + "/usr/bin:/bin"
        let setEnv = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey)
            PidFile \(root)/sshd.pid
            AuthorizedKeysFile \(authorizedKeys)
            StrictModes no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            PermitRootLogin yes
            PrintMotd no
            SetEnv \(setEnv)

            """.write(toFile: root + "/sshd_config", atomically: true, encoding: .utf8)
        let script = "mount -t tmpfs ccb-test-run /run && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -f \(root)/sshd_config"
        // Not through Foundation's Process: the test runner's blocked signals would reach sshd,
        // and sshd must not be among the children Process watches (their exits went unseen).
        let sshd = try spawnLogged(["/usr/bin/unshare", "-m", "sh", "-c", script], log: root + "/sshd.log")
        self.sshd = sshd
        guard eventually(timeout: 20, { sshdLog.contains("Server listening on 127.0.0.1 port \(port)") || kill(sshd, 0) != 0 }),
              sshdLog.contains("Server listening") else {
            throw HarnessError("sshd for \(name) did not start: \(sshdLog)")
        }
    }

    /// Records this host's key for [127.0.0.1]:port (or, for `impostor`, some other key).
    func record(in knownHosts: String, key: String? = nil) throws {
        let publicKey = try key ?? String(contentsOfFile: hostKey + ".pub", encoding: .utf8)
        let fields = publicKey.split(separator: " ")
        let line = "[127.0.0.1]:\(port) \(fields[0]) \(fields[1])\n"
        let handle = FileHandle(forWritingAtPath: knownHosts) ?? {
            _ = FileManager.default.createFile(atPath: knownHosts, contents: nil)
            return FileHandle(forWritingAtPath: knownHosts)!
        }()
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
        handle.closeFile()
    }

    /// An agent serving `instance` in this host's pipe directory.
    func agent(_ instance: String, _ arguments: [String]) throws -> Running {
        let agent = try Running(try Binaries.agent, ["serve", "--name", instance, "--pipe-dir", pipes, "--heartbeat", "0"] + arguments)
        agents.append(agent)
        guard eventually(timeout: 20, { FileManager.default.fileExists(atPath: pipes + "/\(instance).out.fifo") }) else {
            throw HarnessError("agent \(instance) on \(name) never made its FIFOs: \(agent.stderr)")
        }
        return agent
    }

    /// Stops what ran "on" the host: its server (started by dial-stdio), agents, sshd.
    func shutDown() {
        _ = try? run(try Binaries.tui, ["server", "stop", "--pipe-dir", pipes], timeout: 20, environment: environment)
        for agent in agents { agent.signal(SIGKILL) }
        if let sshd {
            kill(sshd, SIGTERM)
            var status: Int32 = 0
            _ = waitpid(sshd, &status, 0)
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HarnessError("no free port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

@Suite(.serialized) struct RemoteTests {
    /// Two hosts, each with its own server (started by dial-stdio over ssh) and instance, in one
    /// `list` with a HOST column, each host's state and round trip; a prompt sent to one by
    /// HOST/NAME reaches that host's agent and history.
    @Test func twoHostsShowInOneListAndTakePromptsByHostSlashName() throws {
        guard let lab = try SSHLab.make() else { return }
        let one = try lab.host("one")
        let two = try lab.host("two")
        _ = try one.agent("alpha", ["--echo"])
        _ = try two.agent("beta", ["--echo"])
        let listed = try lab.tui(["list"])
        #expect(listed.status == 0, "list: \(listed.stdout) \(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("HOST") == true, "list: \(listed.stdout)")
        #expect(lines.contains { $0.hasPrefix("one ") && $0.contains("alpha") && $0.contains("listening") }, "list: \(listed.stdout)")
        #expect(lines.contains { $0.hasPrefix("two ") && $0.contains("beta") && $0.contains("listening") }, "list: \(listed.stdout)")
        for host in ["one", "two"] {
            #expect(lines.contains { $0.hasPrefix("host \(host) (ssh://root@127.0.0.1:") && $0.contains("ready, round trip ") && $0.contains("1 instance") },
                    "list: \(listed.stdout)")
        }
        let json = try lab.tui(["list", "--json"])
        #expect(json.stdout.contains("\"host\" : \"two\"") && json.stdout.contains("\"round_trip_ms\""), "list --json: \(json.stdout)")

        let sent = try lab.tui(["send", "two/beta", "hello from afar"])
        #expect(sent.status == 0 && sent.stderr.contains("sending through host two"), "send: \(sent.stdout) \(sent.stderr)")
        #expect(try eventually { try lab.tui(["history", "two/beta"]).stdout.contains("    hello from afar") })
        // --wait-reply through the host's server: the echo agent's reply on standard output.
        let waited = try lab.tui(["send", "two/beta", "wait for me", "--wait-reply", "--timeout", "30"])
        #expect(waited.status == 0 && waited.stdout.contains("wait for me") && waited.stderr.contains("sending through host two"),
                "send --wait-reply: exit \(waited.status), stdout: \(waited.stdout), stderr: \(waited.stderr)")
        // --interrupt through the host's server: our agent there takes the interrupt byte.
        let stopped = try lab.tui(["send", "two/beta", "--interrupt"])
        #expect(stopped.status == 0 && stopped.stdout.contains("interrupt sent to two/beta through host two: the interrupt byte 0x03"),
                "send --interrupt: exit \(stopped.status), stdout: \(stopped.stdout), stderr: \(stopped.stderr)")
        let tail = try lab.tui(["tail", "two/beta", "--wait", "2"])
        #expect(tail.stdout.contains("hello from afar\n"), "tail: \(tail.stdout) \(tail.stderr)")
        // The other host's instance got nothing, and names are per host.
        #expect(!(try lab.tui(["history", "one/alpha"]).stdout.contains("hello from afar")))
        let wrong = try lab.tui(["send", "one/beta", "x"])
        #expect(wrong.status == 1 && wrong.stderr.contains("no such instance \"beta\""), "send one/beta: \(wrong.stderr)")
        let unknown = try lab.tui(["send", "three/beta", "x"])
        #expect(unknown.status == 2 && unknown.stderr.contains("no host named \"three\""), "send three/beta: \(unknown.stderr)")
    }

    /// `tail --follow HOST/NAME` while the instance floods: the ssh process is killed; tail says
    /// the connection was lost, reconnects, resubscribes from the line after the last one printed,
    /// and the output is every line exactly once, in order.
    @Test func tailFollowReconnectsAfterSSHIsKilledMidFloodAndLosesOrRepeatsNothing() throws {
        guard let lab = try SSHLab.make() else { return }
        let host = try lab.host("flooder")
        // Whenever ssh is killed, tail has most likely shown an unfinished line that the
        // resubscription sends again whole.
        let flood = try lab.burstFloodScript()
        _ = try host.agent("gush", ["--exec", flood])
        let tail = try lab.running(["tail", "flooder/gush", "--follow"])
        defer { tail.signal(SIGKILL) }
        let total = 400_000
        // Subscribed once the (empty) backlog came: the server is up and tail is ready.
        #expect(eventually(timeout: 30) { sshChild(of: tail.process.processIdentifier) != nil }, "tail: \(tail.stderr)")
        let sent = try lab.tui(["send", "flooder/gush", String(total)])
        #expect(sent.status == 0, "send: \(sent.stderr)")
        #expect(eventually(timeout: 60) { tail.stdout.utf8.count > 20_000 }, "tail: \(tail.stderr)")
        guard let ssh = sshChild(of: tail.process.processIdentifier) else {
            Issue.record("no ssh under tail: \(tail.stderr)")
            return
        }
        kill(ssh, SIGKILL)
        let killedBeforeTheEnd = !tail.stdout.contains("\n\(total)\n")
        #expect(killedBeforeTheEnd, "the flood was over before ssh was killed: nothing tested")
        #expect(eventually(timeout: 60) { tail.stderr.contains("connection to host flooder lost") }, "tail: \(tail.stderr)")
        #expect(eventually(timeout: 60) { tail.stderr.contains("host flooder is back; following again") }, "tail: \(tail.stderr)")
        #expect(eventually(timeout: 120) { tail.stdout.contains("\n\(total)\n") }, "tail ends with: \(tail.stdout.suffix(200)) \(tail.stderr)")
        tail.signal(SIGINT)
        let finished = tail.wait(timeout: 10)
        #expect(finished?.status == 0)
        let numbers = (finished?.stdout ?? tail.stdout).split(separator: "\n").filter { $0.first?.isNumber == true }
        #expect(numbers.count == total, "lines: \(numbers.count)")
        let inOrder = numbers.enumerated().first { Int($0.element) != $0.offset + 1 }
        #expect(inOrder == nil, "first line out of place: \(inOrder.map { "line \($0.offset + 1) is \($0.element)" } ?? "")")
    }

    /// A host whose key is not the one in known_hosts is refused and said so (host key mismatch),
    /// the other host is listed all the same, and the exit status says partial failure.
    @Test func aChangedHostKeyIsRefusedAndSaidWhileTheOtherHostIsListed() throws {
        guard let lab = try SSHLab.make() else { return }
        let good = try lab.host("good")
        _ = try good.agent("fine", ["--echo"])
        let lab2 = SSHLabKeys(lab)
        let moved = try lab.host("moved")
        // known_hosts now holds, for moved's port, only another key (as after a reinstall, or an impostor).
        try lab2.replaceKnownKey(of: moved)
        let listed = try lab.tui(["list"])
        #expect(listed.status == 3, "list: \(listed.status) \(listed.stdout) \(listed.stderr)")
        #expect(listed.stdout.contains("good ") && listed.stdout.contains("fine"), "list: \(listed.stdout)")
        #expect(listed.stderr.contains("host moved (ssh://root@127.0.0.1:\(moved.port)): failed: host key mismatch")
                && listed.stderr.contains("[host_key_mismatch]"), "list: \(listed.stderr)")
        let tail = try lab.tui(["tail", "moved/anything", "--follow"])
        #expect(tail.status == 1 && tail.stderr.contains("host key mismatch"), "tail: \(tail.status) \(tail.stderr)")
    }

    /// Each failure in its own words, each host on its own: the remote binary missing (exit 127
    /// there), authentication refused, nothing listening, and no ssh program at all.
    @Test func aMissingRemoteBinaryRefusedAuthAndAnUnreachableHostAreEachSaid() throws {
        guard let lab = try SSHLab.make() else { return }
        let good = try lab.host("good")
        _ = try good.agent("fine", ["--echo"])
        let bare = try lab.host("bare", binary: false)
        let locked = try lab.host("locked", authorized: false)
        let nowhere = try SSHHost.freePort()
        let listed = try lab.tui(["list"], extra: ["--host", "gone=ssh://root@127.0.0.1:\(nowhere)"])
        #expect(listed.status == 3, "list: \(listed.status) \(listed.stdout) \(listed.stderr)")
        #expect(listed.stdout.contains("good ") && listed.stdout.contains("fine"), "list: \(listed.stdout)")
        #expect(listed.stderr.contains("host bare (ssh://root@127.0.0.1:\(bare.port)): failed: cc-bridge-tui is not installed on the remote host")
                && listed.stderr.contains("[remote_missing]"), "list: \(listed.stderr)")
        #expect(listed.stderr.contains("host locked (ssh://root@127.0.0.1:\(locked.port)): failed: authentication refused")
                && listed.stderr.contains("[auth_refused]"), "list: \(listed.stderr)")
        #expect(listed.stderr.contains("host gone (ssh://root@127.0.0.1:\(nowhere)): failed: host unreachable")
                && listed.stderr.contains("Connection refused"), "list: \(listed.stderr)")
        var noSSH = lab.environment
        noSSH["CCB_SSH"] = lab.scratch.file("no-such-ssh")
        let without = try run(try Binaries.tui, ["send", "good/fine", "x", "--pipe-dir", lab.scratch.file("local-pipes")] + lab.hostOptions,
                              environment: noSSH)
        #expect(without.status == 1 && without.stderr.contains("cannot run `\(lab.scratch.file("no-such-ssh"))`")
                && without.stderr.contains("[no_ssh]"), "send: \(without.stderr)")
    }
}

/// `dial-stdio` on its own (no sshd needed): run as an IPC command transport, it starts the
/// server for its pipe directory and carries the protocol, authenticating for a client that
/// sends no token; and HostLink (the TUI's per-host connection) over real ssh.
@Suite(.serialized) struct DialStdioTests {
    @Test func dialStdioStartsTheServerAndAuthenticatesForAClientWithoutTheToken() throws {
        let s = try ServerScratch()
        let agent = try ServerTests.startAgent(s)
        defer { agent.signal(SIGKILL) }
        #expect(eventually { FileManager.default.fileExists(atPath: s.pipes + "/bot.out.fifo") })
        #expect(s.pidFileRecord == nil)
        let environment = s.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let command = IPCCommand(executable: "/usr/bin/env",
                                 arguments: environment + [try Binaries.tui, "dial-stdio", "--pipe-dir", s.pipes],
                                 label: "dial-stdio")
        var answer: Result<JSONValue, IPCError>?
        #expect(eventually(timeout: 60) {
            answer = IPCClient.call("list", transport: .command(command), timeout: 30)
            return (try? answer?.get())?["instances"]?.arrayValue?.contains { $0["instance"] == "bot" } == true
        }, "list through dial-stdio: \(String(describing: answer)) \(s.logText)")
        // It started the server (detached, still running after dial-stdio left).
        let pid = s.pidFileRecord
        #expect(pid.map(ServerScratch.alive) == true, "no server after dial-stdio: \(s.logText)")
        if let pid { s.started.insert(pid) }
        let sent = IPCClient.call("send", params: ["instance": "bot", "text": "through dial-stdio"], transport: .command(command), timeout: 30)
        #expect((try? sent.get())?["result"] == "delivered", "send: \(sent)")
        #expect(try eventually { try s.tui(["history", "bot"]).stdout.contains("    through dial-stdio") })
    }

    @Test func aHostLinkMeasuresTheRoundTripTagsEventsAndComesBackAfterSSHDies() throws {
        guard let lab = try SSHLab.make() else { return }
        let host = try lab.host("linked")
        _ = try host.agent("echo", ["--echo"])
        let loop = try EventLoop()
        let link = HostLink(loop: loop, host: try RemoteHost.parse("ssh://root@127.0.0.1:\(host.port)", name: "linked"),
                            ssh: SSHSettings(configFile: lab.sshConfig), pingInterval: 0.5)
        var states: [HostLink.State] = []
        var tagged: [String] = []
        link.onStateChange = { states.append($0.state) }
        link.onEvent = { host, event in
            if event.name == IPCEventName.output { tagged.append(host.name + ":" + String(decoding: event.attachment, as: UTF8.self)) }
        }
        func pump(timeout: Double = 60, _ condition: () -> Bool) -> Bool {
            let deadline = MonotonicClock.now() + timeout
            while !condition() && MonotonicClock.now() < deadline { loop.runOnce(timeout: 0.1) }
            return condition()
        }
        link.start()
        defer { link.stop() }
        #expect(pump { link.state == .ready && link.roundTrip != nil }, "states: \(states)")
        var subscribed = false
        link.request("subscribe", params: ["instance": "echo"]) { _ in subscribed = true }
        #expect(pump { subscribed })
        #expect(try lab.tui(["send", "linked/echo", "tagged words"]).status == 0)
        #expect(pump { tagged.contains { $0.hasPrefix("linked:") && $0.contains("tagged words") } }, "events: \(tagged)")
        guard let ssh = descendants(of: getpid()).first(where: {
            ((try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8)) ?? "").contains("\(host.port)")
                && ((try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8)) ?? "").hasPrefix("ssh")
        }) else {
            Issue.record("no ssh child for the link")
            return
        }
        kill(ssh, SIGKILL)
        #expect(pump { states.contains { if case .retrying = $0 { true } else { false } } }, "states: \(states)")
        #expect(pump { link.state == .ready && link.roundTrip != nil }, "states: \(states)")
    }
}

/// Writes a different key into known_hosts for a host (the "changed host key").
struct SSHLabKeys {
    let lab: SSHLab
    init(_ lab: SSHLab) { self.lab = lab }

    func replaceKnownKey(of host: SSHHost) throws {
        let other = lab.scratch.file("impostor_key")
        try lab.keygen(other)
        try recordKnownKey(of: host, key: try String(contentsOfFile: other + ".pub", encoding: .utf8))
    }

    /// known_hosts holds the host's real key again (the user fixed it).
    func restoreKnownKey(of host: SSHHost) throws {
        try recordKnownKey(of: host, key: try String(contentsOfFile: host.hostKey + ".pub", encoding: .utf8))
    }

    private func recordKnownKey(of host: SSHHost, key: String) throws {
        let text = try String(contentsOfFile: lab.knownHosts, encoding: .utf8)
        let kept = text.split(separator: "\n").filter { !$0.hasPrefix("[127.0.0.1]:\(host.port) ") }.joined(separator: "\n") + "\n"
        try kept.write(toFile: lab.knownHosts, atomically: true, encoding: .utf8)
        try host.record(in: lab.knownHosts, key: key)
    }
}

/// Starts argv with stdin /dev/null and stdout and stderr into `log`, an empty signal mask and
/// default handlers (posix_spawn); the caller reaps it.
func spawnLogged(_ argv: [String], log: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    return try spawnWithCleanSignals(argv, actions: &actions)
}

/// The ssh process a client started (its direct child named ssh).
func sshChild(of pid: pid_t) -> pid_t? {
    descendants(of: pid).first { child in
        ((try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8)) ?? "").hasPrefix("ssh")
    }
}
