// HostsSessionSource: the TUI on this machine's instances and those of remote hosts at once. It
// combines the local source (the server or the in-process hub) with one ServerSessionSource per
// host, each over its own HostLink (ssh running `cc-bridge-tui dial-stdio`). A remote host's
// instances are handed on as `HOST/NAME`, after the local ones, host by host in the order given;
// requests for `HOST/NAME` go to that host's server as NAME. Each host connects in the
// background and reconnects on its own (its ServerSessionSource resyncs from its last line ids):
// a host that is slow, unreachable or refused never holds up the others or the screen. How each
// host's connection stands goes to the list's header rows (`.hosts`), and a failure's full
// words once to the status line. Loop thread only.

import BridgeCore
import Foundation

final class HostsSessionSource: SessionSource {
    var onReport: (SessionSourceReport) -> Void = { _ in }
    private let loop: EventLoop
    private let local: SessionSource
    private struct Remote {
        var host: RemoteHost
        var link: HostLink
        var source: ServerSessionSource
    }
    private var remotes: [Remote] = []
    private let hostNames: Set<String>
    /// The latest instance list of each source ("" is the local one).
    private var lists: [String: [InstanceInfo]] = [:]
    private var directoryError: String?
    private var healthReports: [String: HealthReport] = [:]
    /// The last failure said in the status line, per host (said once per failure).
    private var saidFailure: [String: IPCError] = [:]

    init(loop: EventLoop, local: SessionSource, hosts: [RemoteHost], ssh: SSHSettings) {
        self.loop = loop
        self.local = local
        hostNames = Set(hosts.map(\.name))
        for host in hosts {
            let link = HostLink(loop: loop, host: host, ssh: ssh)
            remotes.append(Remote(host: host, link: link, source: ServerSessionSource(loop: loop, link: link)))
        }
    }

    func start() throws {
        local.onReport = { [unowned self] report in self.take(report, from: nil) }
        for remote in remotes {
            let name = remote.host.name
            remote.source.onReport = { [unowned self] report in self.take(report, from: name) }
            remote.source.onLinkChange = { [unowned self] link in self.linkChanged(link) }
        }
        try local.start()
        reportHosts()
        for remote in remotes { remote.source.startInBackground() }
    }

    func stop() {
        for remote in remotes { remote.source.stop() }
        local.stop()
    }

    /// For `attach HOST/NAME`: runs the loop until that host has subscribed (its instances are
    /// known), it failed for good, or `timeout` passed. Nil when ready; why not otherwise.
    func waitForHost(of address: String, timeout: Double) -> String? {
        guard let (host, _) = HostNaming.split(address, hosts: hostNames),
              let remote = remotes.first(where: { $0.host.name == host }) else { return nil }
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if lists[host] != nil { return nil }
            if case .failed(let error) = remote.link.state { return Self.sentence(host: host, error) }
            loop.runOnce(timeout: 0.05)
        }
        var why = "host \(host) did not answer within \(Int(timeout)) s"
        if case .retrying(let error, _) = remote.link.state { why += " (\(error.message))" }
        return why
    }

    var currentInstances: [InstanceInfo] { combined() }

    func readerRefusal(of instance: String) -> String? {
        route(instance, local: { $0.readerRefusal(of: $1) }, remote: { $0.readerRefusal(of: $1) })
    }

    var healthEnabled: Bool { local.healthEnabled }

    func send(_ text: String, to instance: String, promptID: String) {
        route(instance, local: { $0.send(text, to: $1, promptID: promptID) }, remote: { $0.send(text, to: $1, promptID: promptID) })
    }

    func cancelQueued(instance: String, id: String) {
        route(instance, local: { $0.cancelQueued(instance: $1, id: id) }, remote: { $0.cancelQueued(instance: $1, id: id) })
    }

    func interrupt(_ instance: String) {
        route(instance, local: { $0.interrupt($1) }, remote: { $0.interrupt($1) })
    }

    func answerPermission(instance: String, requestID: String, behavior: PermissionBehavior, message: String,
                          done: @escaping (Bool) -> Void) {
        route(instance, local: { $0.answerPermission(instance: $1, requestID: requestID, behavior: behavior, message: message, done: done) },
              remote: { $0.answerPermission(instance: $1, requestID: requestID, behavior: behavior, message: message, done: done) })
    }

    /// `r`: every source looks again; a host that failed for good is tried once more.
    func rescan() {
        local.rescan()
        for remote in remotes {
            if remote.link.state == .ready {
                remote.source.rescan()
            } else if remote.link.retryIfFailed() {
                saidFailure[remote.host.name] = nil
                onReport(.status(StatusMessage("host \(remote.host.name): connecting again", kind: .info, expires: Self.now() + 5)))
            }
        }
    }

    func checkHealth() {
        local.checkHealth()
        for remote in remotes where remote.link.state == .ready { remote.source.checkHealth() }
    }

    // MARK: routing

    private func route<T>(_ address: String, local: (SessionSource, String) -> T, remote: (ServerSessionSource, String) -> T) -> T {
        if let (host, name) = HostNaming.split(address, hosts: hostNames),
           let target = remotes.first(where: { $0.host.name == host }) {
            return remote(target.source, name)
        }
        return local(self.local, address)
    }

    // MARK: reports

    private func take(_ report: SessionSourceReport, from host: String?) {
        guard let host else {
            if case .event(.instancesChanged(let list, let error)) = report {
                lists[""] = list
                directoryError = error
                return onReport(.event(.instancesChanged(combined(), directoryError: error)))
            }
            if case .health(let health) = report { return merge(health, from: nil) }
            return onReport(report)
        }
        let rename = { (name: String) in HostNaming.address(host: host, instance: name) }
        switch report {
        case .event(.instancesChanged(let list, let error)):
            lists[host] = list.map { info in
                var info = info
                info.name = rename(info.name)
                return info
            }
            if let error { onReport(.status(StatusMessage("\(host): \(error)", kind: .error, expires: Self.now() + 10))) }
            onReport(.event(.instancesChanged(combined(), directoryError: directoryError)))
        case .event(let event):
            onReport(.event(event.renamingInstances(rename)))
        case .health(let health):
            merge(health, from: host)
        case .status(let message):
            var message = message
            message.text = "\(host): " + message.text
            onReport(.status(message))
        case .marker(let instance, let text):
            onReport(.marker(instance: rename(instance), text: text))
        case .hosts:
            break   // a host's own source has no hosts
        }
    }

    /// Local instances first, then each host's, in the order the hosts were given.
    private func combined() -> [InstanceInfo] {
        (lists[""] ?? local.currentInstances) + remotes.flatMap { lists[$0.host.name] ?? [] }
    }

    private func merge(_ report: HealthReport, from host: String?) {
        healthReports[host ?? ""] = report
        let parts: [(host: String?, report: HealthReport)] = ([nil] + remotes.map { Optional($0.host.name) }).compactMap { name in
            healthReports[name ?? ""].map { (name, $0) }
        }
        if let merged = HealthReport.merged(parts) { onReport(.health(merged)) }
    }

    // MARK: hosts

    private func linkChanged(_ link: HostLink) {
        let name = link.host.name
        switch link.state {
        case .failed(let error), .retrying(let error, _):
            if saidFailure[name] != error {
                saidFailure[name] = error
                onReport(.status(StatusMessage(Self.sentence(host: name, error), kind: .error, expires: Self.now() + 15)))
            }
        case .ready:
            saidFailure[name] = nil
        default:
            break
        }
        reportHosts()
    }

    /// A host's failure for the status line, naming the host once: the transport's own messages
    /// already start with "host NAME (ssh://…)".
    static func sentence(host: String, _ error: IPCError) -> String {
        error.message.hasPrefix("host \(host) ") ? error.message : "host \(host): \(error.message)"
    }

    private func reportHosts() {
        onReport(.hosts(remotes.map { HostHeader(name: $0.host.name, connection: Self.connection($0.link)) }))
    }

    static func connection(_ link: HostLink) -> HostHeader.Connection {
        switch link.state {
        case .connecting: .connecting
        case .ready: .connected(roundTrip: link.roundTrip)
        case .retrying(let error, let delay): .retrying(why: shortReason(error), inSeconds: delay)
        case .failed(let error): .failed(shortReason(error))
        case .stopped: .stopped
        }
    }

    /// What fits a header row; the status line has the full words.
    static func shortReason(_ error: IPCError) -> String {
        switch error.code {
        case .hostKeyMismatch: "host key mismatch"
        case .hostKeyUnknown: "host key unknown"
        case .authRefused: "authentication refused"
        case .remoteMissing: "cc-bridge-tui missing there"
        case .noTransportProgram: "no ssh"
        case .hostUnreachable: "unreachable"
        case .unsupportedVersion: "other protocol version"
        case .disconnected: "connection lost"
        default: error.code.rawValue
        }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }
}
