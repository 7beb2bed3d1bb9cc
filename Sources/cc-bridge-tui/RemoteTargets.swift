// RemoteTargets: the remote hosts a command knows (the config's `hosts:` and every `--host`), and
// `HOST/NAME` arguments: an instance on one of them, reached through its server over ssh
// (ServerClient.remote). A HOST that is not known is a usage error (exit 2) that lists the known.

import ArgumentParser
import BridgeCore
import Foundation

extension CommonOptions {
    /// The commands that take remote hosts; `--host` on any other is refused (exit 2), not ignored.
    static let remoteCommands: Set<String> = ["list", "send", "tail", "status", "history", "health", "ui", "attach", "the TUI"]

    static func refuseHostsWhereUnused(_ arguments: [String], subcommands: Set<String>) throws {
        let command = arguments.first.flatMap { subcommands.contains($0) ? $0 : nil } ?? "the TUI"
        guard !remoteCommands.contains(command),
              arguments.prefix(while: { $0 != "--" }).contains(where: { $0 == "--host" || $0.hasPrefix("--host=") }) else { return }
        FileHandle.standardErrorWrite("cc-bridge-tui: --host works with the TUI and \(remoteCommands.subtracting(["the TUI"]).sorted().joined(separator: ", ")), not with "
            + "\(command) yet (docs/remote.md)")
        throw ExitCode(2)
    }

    /// `hosts:` then `--host`, in that order; a `--host` of a known name replaces the entry.
    func remoteHosts(_ config: BridgeConfig) throws -> [RemoteHost] {
        var hosts = config.hosts
        for option in hostOptions {
            do {
                let host = try RemoteHost.parseOption(option)
                hosts.removeAll { $0.name == host.name }
                hosts.append(host)
            } catch {
                FileHandle.standardErrorWrite("cc-bridge-tui: --host: \(error)")
                throw ExitCode(2)
            }
        }
        return hosts
    }

    /// For `HOST/NAME`: the host's server and the instance name there; nil for a local name.
    func remoteTarget(_ address: String, config: BridgeConfig) throws -> (server: ServerClient, name: InstanceName)? {
        guard let (hostName, instance) = HostAddress.split(address) else { return nil }
        let hosts = try remoteHosts(config)
        guard let host = hosts.first(where: { $0.name == hostName }) else {
            let known = hosts.isEmpty ? "none are configured (hosts: in the config, or --host)" : "known: " + hosts.map(\.name).joined(separator: ", ")
            FileHandle.standardErrorWrite("cc-bridge-tui: no host named \"\(InstanceScanner.displayName(hostName))\" for \(InstanceScanner.displayName(address)); \(known)")
            throw ExitCode(2)
        }
        return (ServerClient.remote(host), try instanceName(instance))
    }
}
