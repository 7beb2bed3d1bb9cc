// RemoteHost: one `ssh://user@host[:port]` entry of the config's `hosts:` (or a `--host`), with
// its short name, and the ssh command that reaches its server: the system `ssh` in batch mode
// (the user's ~/.ssh/config, keys, agent, jump hosts and ControlMaster stay ssh's business)
// running `cc-bridge-tui dial-stdio` on the remote end, which joins the ssh channel to the
// remote user's server socket. No token travels: ssh authenticated the user, and dial-stdio,
// running as that user, authenticates to its server itself.
//
// Public API:
//   struct RemoteHost { name, user?, host, port?, pipeDirectory?, url }
//   RemoteHost.parse(_ url:, name:) throws(RemoteHostError)      "ssh://me@build1:2222"
//   RemoteHost.parseOption(_:) throws(RemoteHostError)            `--host`: "[NAME=]ssh://..."
//   .command(settings: SSHSettings) -> IPCCommand                 the transport for IPCClient
//   struct SSHSettings { executable, configFile?, remoteCommand, connectTimeout } (environment knobs:
//     CCB_SSH (the ssh binary), CCB_SSH_CONFIG (passed as -F), CCB_REMOTE_COMMAND)
//   HostAddress.split("HOST/NAME") -> (host, instance)?

import Foundation

public struct RemoteHostError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public struct RemoteHost: Equatable, Sendable {
    /// Short name, used in `HOST/NAME` and the HOST column (default: the host part).
    public var name: String
    public var user: String?
    public var host: String
    public var port: Int?
    /// The remote pipe directory (default: the remote config's).
    public var pipeDirectory: String?

    public init(name: String, user: String?, host: String, port: Int?, pipeDirectory: String? = nil) {
        self.name = name
        self.user = user
        self.host = host
        self.port = port
        self.pipeDirectory = pipeDirectory
    }

    public var url: String {
        "ssh://" + (user.map { $0 + "@" } ?? "") + host + (port.map { ":\($0)" } ?? "")
    }

    /// `user@host` as ssh takes it.
    public var destination: String { (user.map { $0 + "@" } ?? "") + host }

    public static func parse(_ url: String, name: String? = nil) throws(RemoteHostError) -> RemoteHost {
        guard url.hasPrefix("ssh://") else {
            throw RemoteHostError("host \"\(url)\": expected ssh://[user@]host[:port]")
        }
        var rest = Substring(url.dropFirst("ssh://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var user: String?
        if let at = rest.lastIndex(of: "@") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
            if user?.isEmpty == true { throw RemoteHostError("host \"\(url)\": empty user name before @") }
        }
        var port: Int?
        var host = String(rest)
        if rest.hasPrefix("[") {
            // [::1]:2222
            guard let close = rest.firstIndex(of: "]") else { throw RemoteHostError("host \"\(url)\": unclosed [") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { port = Int(after.dropFirst()) ?? -1 } else if !after.isEmpty { port = -1 }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            port = Int(rest[rest.index(after: colon)...]) ?? -1
        }
        if let port, !(1...65535).contains(port) { throw RemoteHostError("host \"\(url)\": the port must be 1 to 65535") }
        guard !host.isEmpty, !host.contains("/"), !host.hasPrefix("-") else {
            throw RemoteHostError("host \"\(url)\": expected ssh://[user@]host[:port]")
        }
        if let user, user.hasPrefix("-") || user.contains(where: { $0.isWhitespace }) {
            throw RemoteHostError("host \"\(url)\": bad user name")
        }
        let short = name ?? host
        try checkName(short, url: url)
        return RemoteHost(name: short, user: user, host: host, port: port)
    }

    /// `--host ssh://me@build1` or `--host build1=ssh://me@build1:2222`.
    public static func parseOption(_ option: String) throws(RemoteHostError) -> RemoteHost {
        if !option.hasPrefix("ssh://"), let equals = option.firstIndex(of: "=") {
            return try parse(String(option[option.index(after: equals)...]), name: String(option[..<equals]))
        }
        return try parse(option)
    }

    static func checkName(_ name: String, url: String) throws(RemoteHostError) {
        guard !name.isEmpty, !name.contains("/"), !name.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw RemoteHostError("host \"\(url)\": the name \"\(name)\" must be non-empty, without / or spaces")
        }
    }

    /// The ssh command line that runs `dial-stdio` on this host.
    public func command(settings: SSHSettings) -> IPCCommand {
        var arguments = ["-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=\(Int(settings.connectTimeout.rounded(.up)))",
                         "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3"]
        if let file = settings.configFile { arguments += ["-F", file] }
        if let port { arguments += ["-p", String(port)] }
        arguments += ["--", destination]
        var remote = [settings.remoteCommand, "dial-stdio"]
        if let pipeDirectory { remote += ["--pipe-dir", pipeDirectory] }
        // ssh hands the words to the remote shell as one line: quote them for it.
        arguments.append(remote.map(Self.shellQuoted).joined(separator: " "))
        return IPCCommand(executable: settings.executable, arguments: arguments, label: "host \(name) (\(url))",
                          classifyFailure: RemoteFailure.classify)
    }

    static func shellQuoted(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:@".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// How to run ssh: the binary, an optional config file (-F) and the remote program's name.
public struct SSHSettings: Equatable, Sendable {
    public var executable: String
    public var configFile: String?
    public var remoteCommand: String
    public var connectTimeout: Double

    public init(executable: String = "ssh", configFile: String? = nil, remoteCommand: String = "cc-bridge-tui",
                connectTimeout: Double = 10) {
        self.executable = executable
        self.configFile = configFile
        self.remoteCommand = remoteCommand
        self.connectTimeout = connectTimeout
    }

    /// From CCB_SSH, CCB_SSH_CONFIG and CCB_REMOTE_COMMAND (tests use them so nothing
    /// system-wide is touched); ssh's own defaults otherwise.
    public static func from(environment: [String: String] = ProcessInfo.processInfo.environment) -> SSHSettings {
        var settings = SSHSettings()
        if let ssh = environment["CCB_SSH"], !ssh.isEmpty { settings.executable = ssh }
        if let file = environment["CCB_SSH_CONFIG"], !file.isEmpty { settings.configFile = file }
        if let remote = environment["CCB_REMOTE_COMMAND"], !remote.isEmpty { settings.remoteCommand = remote }
        return settings
    }
}

/// `HOST/NAME` addresses of remote instances.
public enum HostAddress {
    /// ("build1", "claude-1") for "build1/claude-1"; nil for a plain instance name.
    public static func split(_ address: String) -> (host: String, instance: String)? {
        guard let slash = address.firstIndex(of: "/"), slash != address.startIndex else { return nil }
        let instance = address[address.index(after: slash)...]
        guard !instance.isEmpty, !instance.contains("/") else { return nil }
        return (String(address[..<slash]), String(instance))
    }
}
