// ServerClient: how the CLI commands reach the server for their pipe directory. `running` says
// whether one runs (its lock is held) and where; `call` makes one request and turns a failure
// into a message on standard error and exit 1. Commands go through the server when it runs (it
// is then the only reader and history writer) and take their direct path when none runs.
// `remote` is the same for a `--host`/`hosts:` entry: the server on that host, over ssh.

import ArgumentParser
import BridgeCore
import Foundation

struct ServerClient {
    let transport: IPCTransport
    let record: ServerRecord?
    /// The remote host, for a server reached over ssh.
    var host: RemoteHost?

    init(endpoint: IPCEndpoint, record: ServerRecord?) {
        transport = .unixSocket(endpoint)
        self.record = record
    }

    /// The server of `host`, over ssh (docs/remote.md).
    static func remote(_ host: RemoteHost, environment: [String: String] = ProcessInfo.processInfo.environment) -> ServerClient {
        var client = ServerClient(transport: .command(host.command(settings: SSHSettings.from(environment: environment))), record: nil)
        client.host = host
        return client
    }

    private init(transport: IPCTransport, record: ServerRecord?) {
        self.transport = transport
        self.record = record
    }

    /// "the server (pid N)" or "host NAME".
    var said: String {
        if let host { return "host \(host.name)" }
        return "the server (pid \(record.map { String($0.pid) } ?? "?"))"
    }

    /// The running server for `config`'s pipe directory, or nil when none runs.
    static func running(_ config: BridgeConfig, environment: [String: String] = ProcessInfo.processInfo.environment) -> ServerClient? {
        let paths = ServerLocation.paths(for: config, environment: environment)
        let probe = ServerLock.probe(paths)
        guard probe.running else { return nil }
        return ServerClient(endpoint: IPCEndpoint(pipeDirectory: config.pipeDirectory, environment: environment), record: probe.record)
    }

    /// One request; on failure the reason on standard error and exit 1 (2 for bad parameters,
    /// 1 with the common wording for an unknown instance).
    func call(_ method: String, _ params: JSONValue = .null, timeout: Double = 10) throws -> JSONValue {
        // Over ssh the time includes connecting and, the first time, starting the remote server.
        switch IPCClient.call(method, params: params, transport: transport, timeout: host == nil ? timeout : max(timeout, 30)) {
        case .success(let value):
            return value
        case .failure(let error) where error.code == .noSuchInstance:
            FileHandle.standardErrorWrite("cc-bridge-tui: \(error.message)")
            throw ExitCode(CommonOptions.noSuchInstanceStatus)
        case .failure(let error):
            if let host {
                FileHandle.standardErrorWrite("cc-bridge-tui: host \(host.name) (\(host.url)): \(method): \(error.message) [\(error.code)]")
                throw ExitCode(1)
            }
            FileHandle.standardErrorWrite("cc-bridge-tui: the server (\(transport.label)) answered \(method) with \(error)")
            throw ExitCode(error.code == .badParams ? 2 : 1)
        }
    }

    /// A server answer decoded as one of our Codable types.
    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue?) throws -> T {
        guard let value else { throw ServerClientError("the server's answer lacks a field") }
        do {
            return try value.decode(T.self)
        } catch {
            throw ServerClientError("cannot read the server's answer: \(error)")
        }
    }
}

struct ServerClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
