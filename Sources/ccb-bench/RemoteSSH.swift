// RemoteSSH: the `remote-ssh` rows: a host reached over ssh on loopback (docs/remote.md). The
// harness starts its own sshd on 127.0.0.1 (throwaway host and client keys, its own config and
// authorized_keys in a scratch directory; a private mount namespace gives it /run/sshd), whose
// sessions see cc-bridge-tui next to ccb-bench and a scratch runtime, state and pipe directory.
//   round trip: `server.status` requests one at a time through IPCClient → ssh → dial-stdio →
//     the remote server, after the connection is up; budget p50 ≤ 2 ms.
//   ingest: AgentText into an instance's out-FIFO on the "remote" end; time from the writer's
//     start until every line has arrived here as `output` events (the server reads the FIFO, the
//     events travel through dial-stdio and ssh). Baseline in the same run: `ssh host cat FIFO`
//     (to /dev/null) on the same bytes; budget ≥ 0.5× that.
// Without root, sshd or unshare: one row that says it was skipped and why.

import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private sshd on loopback whose sessions run our binaries in a scratch world.
final class LoopbackSSH {
    let scratch: Scratch
    let port: Int
    let pipes: String
    var sshConfig: String { scratch.file("ssh_config") }
    var host: RemoteHost { RemoteHost(name: "loopback", user: "root", host: "127.0.0.1", port: port) }
    var settings: SSHSettings { SSHSettings(executable: "/usr/bin/ssh", configFile: sshConfig) }
    private var sshd: pid_t = 0
    private var environment: [String: String]

    static var unavailable: String? {
        if geteuid() != 0 { return "needs root (sshd with a private /run/sshd)" }
        for tool in ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/unshare"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt-get install openssh-server)"
        }
        return nil
    }

    init() throws {
        scratch = try Scratch()
        pipes = try scratch.dir("pipes")
        let runtime = try scratch.dir("run")
        chmod(runtime, 0o700)
        for key in ["host_key", "client_key"] {
            guard try Proc.wait(Proc.spawn(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", scratch.file(key)]), timeout: 30) == 0 else {
                throw BenchError("ssh-keygen failed")
            }
        }
        try FileManager.default.copyItem(atPath: scratch.file("client_key.pub"), toPath: scratch.file("authorized_keys"))
        try "docker:\n  pipe_dir: \(pipes)\n".write(toFile: scratch.file("config.yaml"), atomically: true, encoding: .utf8)
        environment = ["XDG_RUNTIME_DIR": runtime, "XDG_STATE_HOME": scratch.file("state"),
                       "CC_BRIDGE_CONFIG": scratch.file("config.yaml"), "DOCKER_HOST": "unix://" + scratch.file("no-docker.sock")]
        port = try Self.freePort()
        let setEnv = (environment.merging(["PATH": Proc.binDir + ":/usr/bin:/bin"]) { $1 })
            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(scratch.file("host_key"))
            PidFile \(scratch.file("sshd.pid"))
            AuthorizedKeysFile \(scratch.file("authorized_keys"))
            StrictModes no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            PermitRootLogin yes
            SetEnv \(setEnv)

            """.write(toFile: scratch.file("sshd_config"), atomically: true, encoding: .utf8)
        let hostKey = try String(contentsOfFile: scratch.file("host_key.pub"), encoding: .utf8).split(separator: " ")
        try "[127.0.0.1]:\(port) \(hostKey[0]) \(hostKey[1])\n".write(toFile: scratch.file("known_hosts"), atomically: true, encoding: .utf8)
        try """
            Host *
              IdentityFile \(scratch.file("client_key"))
              IdentitiesOnly yes
              UserKnownHostsFile \(scratch.file("known_hosts"))
              GlobalKnownHostsFile /dev/null
              StrictHostKeyChecking yes
              LogLevel ERROR

            """.write(toFile: sshConfig, atomically: true, encoding: .utf8)
        let script = "mount -t tmpfs ccb-bench-run /run && mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -f \(scratch.file("sshd_config"))"
        sshd = try Proc.spawn(["/usr/bin/unshare", "-m", "sh", "-c", script], stdout: scratch.file("sshd.log"))
        let start = MonotonicClock.now()
        while !((try? String(contentsOfFile: scratch.file("sshd.pid"), encoding: .utf8)) ?? "").contains("\n") {
            guard MonotonicClock.now() - start < 20, waitpid(sshd, nil, WNOHANG) == 0 else { throw BenchError("sshd did not start") }
            usleep(10_000)
        }
    }

    /// `ssh host ARGS…` as the baseline runs it.
    func sshArgv(_ remote: [String]) -> [String] {
        ["/usr/bin/ssh", "-T", "-o", "BatchMode=yes", "-F", sshConfig, "-p", String(port), "root@127.0.0.1"] + remote
    }

    func stop() {
        let stop = [Proc.binDir + "/cc-bridge-tui", "server", "stop", "--pipe-dir", pipes]
        if let pid = try? Proc.spawn(stop, environment: environment) { _ = try? Proc.wait(pid, timeout: 20) }
        kill(sshd, SIGTERM)
        _ = try? Proc.wait(sshd, timeout: 10)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension Bench {
    func remoteSSH() throws -> [Row] {
        if let reason = LoopbackSSH.unavailable {
            log("remote-ssh: skipped: \(reason)")
            return [Row(budget: "remote-ssh", metric: "skipped", value: 0, unit: "", note: "skipped: \(reason)")]
        }
        log("remote-ssh: a private sshd on 127.0.0.1")
        let ssh = try LoopbackSSH()
        defer { ssh.stop() }
        try makeInstances(["ingest"], in: ssh.pipes)
        let loop = try EventLoop()
        let client = IPCClient(loop: loop, transport: .command(ssh.host.command(settings: ssh.settings)),
                               options: IPCClientOptions(requestTimeout: 60, handshakeTimeout: 60, reconnect: nil))
        func spin(_ what: String, timeout: Double = 60, _ condition: () -> Bool) throws {
            let deadline = MonotonicClock.now() + timeout
            while !condition() {
                if case .stopped(let error) = client.state { throw BenchError("remote-ssh: \(what): \(error.map { "\($0)" } ?? "stopped")") }
                guard MonotonicClock.now() < deadline else { throw BenchError("remote-ssh: \(what): no answer (\(client.state))") }
                loop.runOnce(timeout: 0.1)
            }
        }
        client.start()
        defer { client.stop() }
        try spin("connecting") { client.state == .ready }

        // Round trip.
        let count = sizes.roundTrips * 2
        log("remote-ssh: \(count) server.status requests over ssh")
        var latencies: [Double] = []
        for index in 0..<(count + 50) {
            var answered = false
            let start = MonotonicClock.now()
            client.request("server.status") { _ in answered = true }
            try spin("server.status") { answered }
            if index >= 50 { latencies.append(MonotonicClock.now() - start) }
        }
        let p50 = percentile(latencies, 50) * 1000, p99 = percentile(latencies, 99) * 1000

        // Ingest through the server and ssh, then the baseline on the same bytes.
        let (bytes, lines) = ingestPayload
        log("remote-ssh: ingest \(Int(mib(bytes))) MiB through the remote server and ssh")
        var lastLine: UInt64 = 0
        var skipped = 0
        var subscribed = false
        func subscribe() {
            var params: [String: JSONValue] = ["instance": "ingest"]
            if lastLine > 0 { params["from_line_id"] = .number(Double(lastLine + 1)) }
            client.request("subscribe", params: .object(params)) { _ in subscribed = true }
        }
        client.onEvent = { event in
            switch event.name {
            case IPCEventName.output:
                let first = UInt64(event.data["first_line_id"]?.doubleValue ?? 0)
                let count = event.data["count"]?.intValue ?? 0
                let finished = count - (event.data["ends_with_open_line"]?.boolValue == true ? 1 : 0)
                if finished > 0 { lastLine = max(lastLine, first + UInt64(finished) - 1) }
            case IPCEventName.skipped:
                skipped += event.data["count"]?.intValue ?? 1
                subscribe()
            default: break
            }
        }
        // The server has seen the instance (it scans the pipe directory) before we subscribe.
        var found = false
        let listDeadline = MonotonicClock.now() + 30
        while !found {
            var answered = false
            client.request("list") { result in
                found = (try? result.get())?["instances"]?.arrayValue?.contains { $0["instance"] == "ingest" } == true
                answered = true
            }
            try spin("list") { answered }
            guard found || MonotonicClock.now() < listDeadline else { throw BenchError("remote-ssh: the server never listed the instance") }
            if !found { usleep(50_000) }
        }
        subscribe()
        try spin("subscribe") { subscribed }
        let stamp = ssh.scratch.file("stamp")
        let fifo = ssh.pipes + "/ingest" + InstanceScanner.outSuffix
        let writer = try Proc.spawn([Proc.selfExe, "child-write", String(sizes.ingestBytes), fifo], environment: ["CCB_BENCH_STAMP": stamp])
        try spin("ingest", timeout: 600) { lastLine >= UInt64(lines) }
        let t1 = MonotonicClock.now()
        try Proc.wait(writer)
        let oursRate = mib(bytes) / (t1 - (try writerStart(stamp)))

        log("remote-ssh: baseline ssh host cat FIFO, \(Int(mib(bytes))) MiB")
        // A reader that is not the server: the server reads every instance's out-FIFO, so the
        // baseline's FIFO is made outside its pipe directory.
        let plain = try ssh.scratch.dir("plain")
        let baseFifo = plain + "/base.fifo"
        guard mkfifo(baseFifo, 0o600) == 0 else { throw BenchError("mkfifo \(baseFifo)") }
        let baseStamp = ssh.scratch.file("base-stamp")
        let cat = try Proc.spawn(ssh.sshArgv(["cat", baseFifo]))
        let baseWriter = try Proc.spawn([Proc.selfExe, "child-write", String(sizes.ingestBytes), baseFifo],
                                        environment: ["CCB_BENCH_STAMP": baseStamp])
        try Proc.wait(cat, timeout: 600)
        let t2 = MonotonicClock.now()
        try Proc.wait(baseWriter)
        let catRate = mib(bytes) / (t2 - (try writerStart(baseStamp)))

        return [
            Row(budget: "remote-ssh", metric: "p50 request → response over ssh (server.status)", value: p50, unit: "ms",
                limit: "≤ 2 ms", pass: p50 <= 2, note: "\(count) requests through ssh, dial-stdio and the remote server"),
            Row(budget: "remote-ssh", metric: "p99 request → response over ssh (server.status)", value: p99, unit: "ms",
                note: "loopback sshd"),
            Row(budget: "remote-ssh", metric: "ingest through the remote server over ssh vs ssh cat", value: oursRate, unit: "MiB/s",
                baseline: catRate, baselineName: "ssh host cat FIFO > /dev/null, same run", limit: "≥ 0.5 × ssh cat",
                pass: oursRate >= 0.5 * catRate,
                note: "\(Int(mib(bytes))) MiB, \(lines) lines as output events" + (skipped > 0 ? "; \(skipped) events skipped and resynced" : "")),
        ]
    }
}
