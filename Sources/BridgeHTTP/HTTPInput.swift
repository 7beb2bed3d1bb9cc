// HTTPInput: the server's HTTP input (`server.http` in config.yaml; docs/server.md, "HTTP"), a
// ServerService that ServerDaemon starts after its socket. It refuses to start without a bearer
// token (the server's socket token, or `token_file`: a private, non-empty file) and on a
// non-loopback address unless `allow_non_loopback` says so (then it warns). FlyingFox serves
// on its own threads; HTTPAPI hops onto the loop for every ServerCore call. The log names the
// address it listens on (port 0 picks a free one). Stopping ends the event streams and the
// waiting requests (503), then the library's connections, within a few seconds.

import BridgeCore
import FlyingFox
import FlyingSocks
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum HTTPInputError: Error, CustomStringConvertible {
    case noToken(String)
    case notLoopback(String)
    case badAddress(String)
    case cannotListen(String)

    public var description: String {
        switch self {
        case .noToken(let why): "HTTP input not started: no bearer token: \(why)"
        case .notLoopback(let address):
            "HTTP input not started: server.http.bind \(address) is not a loopback address; "
                + "set server.http.allow_non_loopback: true to listen there (anyone who can reach it and has the token can send prompts)"
        case .badAddress(let address): "HTTP input not started: server.http.bind \(address.debugDescription) is not an IP address"
        case .cannotListen(let why): "HTTP input not started: \(why)"
        }
    }
}

public final class HTTPInput: ServerService {
    public let settings: HTTPSettings
    public let maxPromptBytes: Int
    private let log: (String) -> Void
    private var server: HTTPServer?
    private var state: HTTPLoopState?
    private var runTask: Task<Void, Never>?
    /// Where it listens once started (`127.0.0.1:8765`).
    public private(set) var listening: String?

    public init(settings: HTTPSettings, maxPromptBytes: Int, log: @escaping (String) -> Void) {
        self.settings = settings
        self.maxPromptBytes = maxPromptBytes
        self.log = log
    }

    public func start(core: ServerCore, endpoint: IPCEndpoint) throws {
        let token = try Self.token(settings: settings, endpoint: endpoint)
        let loopback = HTTPSettings.isLoopback(settings.bind)
        guard loopback || settings.allowNonLoopback else { throw HTTPInputError.notLoopback(settings.bind) }
        let address = try Self.address(settings.bind, port: UInt16(settings.port))
        let state = HTTPLoopState(core: core)
        let api = HTTPAPI(hop: LoopHop(loop: core.loop, state: state),
                          access: HTTPAccess(token: token, allowedOrigins: settings.allowedOrigins, loopbackOnly: loopback),
                          maxPromptBytes: maxPromptBytes)
        let config = HTTPServer.Configuration(address: address, timeout: HTTPAPI.maxWait + 30, logger: .disabled)
        let handler = ClosureHTTPHandler { request in await api.handle(request) }
        let server = HTTPServer(config: config, handler: handler)
        // Listening (or failing to) is awaited here, on the loop thread, before the server says
        // it is ready; nothing on the loop is waiting for the library meanwhile.
        let outcome = Unchecked(value: Outcome())
        let started = DispatchSemaphore(value: 0)
        let wanted = "\(settings.bind):\(settings.port)"
        runTask = Task.detached {
            // The library routes RFC 9110's methods only; others would get its empty 404. QUERY
            // (an IETF draft method clients try) reaches us too, for a JSON 405.
            await server.appendRoute(HTTPRoute(methods: [HTTPMethod("QUERY")], path: "*"), to: handler)
            let ready = Task {
                do {
                    try await server.waitUntilListening(timeout: 15)
                    let address = await server.listeningAddress
                    outcome.value.set(address: address)
                } catch {
                    outcome.value.set(error: "not listening within 15 s: \(error.localizedDescription)")
                }
                started.signal()
            }
            do {
                try await server.run()
            } catch {
                outcome.value.set(error: "cannot listen on \(wanted): \(error.localizedDescription)")
                ready.cancel()
                started.signal()
            }
        }
        _ = started.wait(timeout: .now() + 20)
        if let error = outcome.value.error {
            runTask?.cancel()
            throw HTTPInputError.cannotListen(error)
        }
        guard let listeningAddress = outcome.value.address else {
            runTask?.cancel()
            throw HTTPInputError.cannotListen("not listening on \(settings.bind):\(settings.port) within 20 s")
        }
        self.server = server
        self.state = state
        listening = Self.describe(listeningAddress)
        Self.disableNagle(onListenerAt: listeningAddress)
        if !loopback {
            log("warning: the HTTP input listens on \(listening ?? settings.bind), not on loopback (server.http.allow_non_loopback)")
        }
        let tokenSource = settings.tokenFile.map { "token file \($0)" } ?? "the server's token file \(endpoint.tokenPath)"
        log("http: listening on http://\(listening ?? "?") (bearer token: \(tokenSource))")
    }

    public func stop() {
        state?.stop()
        state = nil
        guard let server else { return }
        self.server = nil
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await server.stop(timeout: 1)
            done.signal()
        }
        _ = done.wait(timeout: .now() + 3)
        runTask?.cancel()
    }

    /// The bearer token: `token_file` (a private non-empty file), else the server's own.
    static func token(settings: HTTPSettings, endpoint: IPCEndpoint) throws -> String {
        guard let file = settings.tokenFile else {
            do {
                return try endpoint.readToken()
            } catch {
                throw HTTPInputError.noToken("\(error)")
            }
        }
        let path = PathExpansion.expand(file, projectName: "")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HTTPInputError.noToken("server.http.token_file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw HTTPInputError.noToken("server.http.token_file \(path) is not a regular file")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw HTTPInputError.noToken("server.http.token_file \(path) can be read by others (mode \(String(st.st_mode & 0o777, radix: 8)); chmod 600 it)")
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        let token = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        guard token.count >= 16 else {
            throw HTTPInputError.noToken("server.http.token_file \(path) holds \(token.isEmpty ? "no token" : "a token shorter than 16 characters")")
        }
        return token
    }

    /// The library writes a response's head and body in two writes; with Nagle's algorithm the
    /// body waits for the client's delayed ACK of the head (40 ms on Linux loopback, every
    /// request). The library has no option for TCP_NODELAY, so it is set on its listening socket
    /// (found by its address), which Linux passes on to every accepted connection.
    static func disableNagle(onListenerAt address: Socket.Address) {
        let port: UInt16
        switch address {
        case .ip4(_, let p), .ip6(_, let p): port = p
        case .unix: return
        }
        for fd in Int32(3)..<Int32(4096) {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { continue }
            var listening: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0, listening == 1 else { continue }
            let family = Int32(storage.ss_family)
            var boundPort: UInt16 = 0
            if family == AF_INET {
                boundPort = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
            } else if family == AF_INET6 {
                boundPort = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
            }
            guard boundPort == port else { continue }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    static func address(_ bind: String, port: UInt16) throws -> any SocketAddress {
        let host = bind == "localhost" ? "127.0.0.1" : bind.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if let v4 = try? sockaddr_in.inet(ip4: host, port: port) { return v4 }
        if let v6 = try? sockaddr_in6.inet6(ip6: host, port: port) { return v6 }
        throw HTTPInputError.badAddress(bind)
    }

    static func describe(_ address: Socket.Address) -> String {
        switch address {
        case .ip4(let host, let port): "\(host):\(port)"
        case .ip6(let host, let port): "[\(host)]:\(port)"
        case .unix(let path): path
        }
    }

    /// Set from the library's tasks, read on the loop thread after the semaphore.
    final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var _address: Socket.Address?
        private var _error: String?
        var address: Socket.Address? { lock.withLock { _address } }
        var error: String? { lock.withLock { _error } }
        func set(address: Socket.Address?) { lock.withLock { _address = address } }
        func set(error: String) { lock.withLock { if _error == nil { _error = error } } }
    }
}
