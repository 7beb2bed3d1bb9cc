// ServerClient: how the CLI commands reach the server for their pipe directory. `running` says
// whether one runs (its lock is held) and where; `call` makes one request and turns a failure
// into a message on standard error and exit 1. Commands go through the server when it runs (it
// is then the only reader and history writer) and take their direct path when none runs.
// `remote` is the same for a `--host`/`hosts:` entry: the server on that host, over ssh.
// A server that runs (its lock is held) but does not answer on its socket (the file was removed
// or replaced) is waited for a moment (it listens again within a second once the path is free),
// then the command exits 1 saying what is at the path and what to do.

import ArgumentParser
import BridgeCore
import Foundation

struct ServerClient {
    let transport: IPCTransport
    let record: ServerRecord?
    /// The remote host, for a server reached over ssh.
    var host: RemoteHost?

    /// The local server's files (its lock), to tell a server that runs from one that answers.
    var paths: ServerPaths?

    init(endpoint: IPCEndpoint, record: ServerRecord?, paths: ServerPaths? = nil) {
        transport = .unixSocket(endpoint)
        self.record = record
        self.paths = paths
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
        return ServerClient(endpoint: IPCEndpoint(pipeDirectory: config.pipeDirectory, environment: environment), record: probe.record,
                            paths: paths)
    }

    /// Seconds a command waits for a running server's socket to answer again.
    static let socketGrace = 5.0

    /// `IPCClient.call`, but a running server whose socket does not answer yet (not_running:
    /// its socket file is gone or replaced) is tried again for up to `socketGrace` seconds.
    static func call(_ method: String, params: JSONValue = .null, endpoint: IPCEndpoint, paths: ServerPaths?,
                     timeout: Double) -> Result<JSONValue, IPCError> {
        call(method, params: params, transport: .unixSocket(endpoint), paths: paths, timeout: timeout)
    }

    /// The same for any transport; only a local server (with `paths`) is waited for.
    static func call(_ method: String, params: JSONValue = .null, transport: IPCTransport, paths: ServerPaths?,
                     timeout: Double) -> Result<JSONValue, IPCError> {
        let deadline = MonotonicClock.now() + socketGrace
        while true {
            let result = IPCClient.call(method, params: params, transport: transport, timeout: timeout)
            guard case .failure(let error) = result, error.code == .notRunning, let paths, ServerLock.probe(paths).running,
                  MonotonicClock.now() < deadline else { return result }
            usleep(100_000)
        }
    }

    /// The advice below for this client's local socket (nil over ssh).
    private var socketAdvice: String? {
        guard case .unixSocket(let endpoint) = transport else { return nil }
        return Self.socketAdvice(endpoint, pid: record?.pid)
    }

    /// What to tell the user when a running server does not answer on its socket, or nil when
    /// the socket file is there (then the error itself says enough).
    static func socketAdvice(_ endpoint: IPCEndpoint, pid: Int32?) -> String? {
        guard let problem = endpoint.socketFileProblem() else { return nil }
        let server = pid.map { "the server (pid \($0))" } ?? "the server"
        let path = endpoint.socketPath
        if problem == "is gone" {
            return "\(server) runs but its socket \(path) is gone and it did not listen there again; "
                + "`cc-bridge-tui server stop` and start it again (`cc-bridge-tui serve`)"
        }
        return "\(server) runs but its socket \(path) \(problem): remove it (the server listens there again within a "
            + "second) or `cc-bridge-tui server stop` and start it again (`cc-bridge-tui serve`)"
    }

    /// One request; on failure the reason on standard error and exit 1 (2 for bad parameters,
    /// 1 with the common wording for an unknown instance).
    func call(_ method: String, _ params: JSONValue = .null, timeout: Double = 10) throws -> JSONValue {
        // Over ssh the time includes connecting and, the first time, starting the remote server.
        switch Self.call(method, params: params, transport: transport, paths: paths, timeout: host == nil ? timeout : max(timeout, 30)) {
        case .success(let value):
            return value
        case .failure(let error) where error.code == .noSuchInstance:
            FileHandle.standardErrorWrite("cc-bridge-tui: \(error.message)")
            throw ExitCode(CommonOptions.noSuchInstanceStatus)
        case .failure(let error) where error.code == .notRunning && socketAdvice != nil:
            FileHandle.standardErrorWrite("cc-bridge-tui: " + socketAdvice!)
            throw ExitCode(1)
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
