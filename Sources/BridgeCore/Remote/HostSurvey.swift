// HostSurvey: asks every remote host's server one question at once (its `list`), each over its
// own ssh connection on one loop, and measures each host's round trip (a `server.status` on the
// ready connection, so ssh's connection setup is not counted). A host that fails (unreachable,
// refused, key mismatch, binary missing) has its typed error in its report and never delays or
// hides the others beyond the common timeout.
//
// Public API:
//   HostSurvey.run(hosts:, ssh:, method:, params:, timeout:) -> [HostReport]   (blocking, own loop)
//   struct HostReport { host, roundTrip: Double? (seconds), result: Result<JSONValue, IPCError> }

public struct HostReport: Sendable {
    public var host: RemoteHost
    public var roundTrip: Double?
    public var result: Result<JSONValue, IPCError>
}

public enum HostSurvey {
    public static func run(hosts: [RemoteHost], ssh: SSHSettings, method: String = "list", params: JSONValue = .null,
                           timeout: Double = 20) -> [HostReport] {
        guard !hosts.isEmpty else { return [] }
        let loop: EventLoop
        do { loop = try EventLoop() } catch {
            return hosts.map { HostReport(host: $0, roundTrip: nil, result: .failure(IPCError(.internal, "\(error)"))) }
        }
        var reports: [Int: HostReport] = [:]
        var clients: [IPCClient] = []
        for (index, host) in hosts.enumerated() {
            let client = IPCClient(loop: loop, transport: .command(host.command(settings: ssh)),
                                   options: IPCClientOptions(requestTimeout: timeout, handshakeTimeout: timeout, reconnect: nil))
            var readyAt: Double?
            var roundTrip: Double?
            func finish(_ result: Result<JSONValue, IPCError>) {
                guard reports[index] == nil else { return }
                reports[index] = HostReport(host: host, roundTrip: roundTrip, result: result)
                if reports.count == hosts.count { loop.stop() }
            }
            client.onStateChange = { state in
                switch state {
                case .ready: readyAt = MonotonicClock.now()
                case .stopped(let error?): finish(.failure(error))
                default: break
                }
            }
            client.request("server.status") { result in
                if case .failure(let error) = result { return finish(.failure(error)) }
                if let readyAt { roundTrip = MonotonicClock.now() - readyAt }
                client.request(method, params: params) { finish($0) }
            }
            clients.append(client)
        }
        for client in clients { client.start() }
        let deadline = MonotonicClock.now() + timeout + 2
        while reports.count < hosts.count {
            let left = deadline - MonotonicClock.now()
            if left <= 0 { break }
            loop.runOnce(timeout: left)
        }
        for client in clients { client.stop() }
        return hosts.indices.map {
            reports[$0] ?? HostReport(host: hosts[$0], roundTrip: nil,
                                      result: .failure(IPCError(.timeout, "no answer within \(timeout) s")))
        }
    }
}
