// DockerClient: the two Docker Engine API calls health and status need, over the daemon's unix
// socket with plain blocking HTTP/1.1 and send/receive timeouts. Callers run it off the UI
// thread. Checked against Docker Engine API v1.43 (docs/health.md lists the fields used).
//
// No socket, a refused connection or a timeout is `.unavailable(reason)`: a host without Docker
// is a normal state for this tool, not an error.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public enum DockerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// No daemon to talk to: no socket, refused, timed out, or a DOCKER_HOST we cannot use.
    case unavailable(String)
    /// The daemon answered with an error status; `message` is its JSON `message` when present.
    case http(status: Int, message: String)
    /// The answer was not what the API documents.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .unavailable(let why): "unavailable: \(why)"
        case .http(let status, let message): "Docker Engine API error \(status): \(message)"
        case .invalidResponse(let why): "unexpected Docker Engine API response: \(why)"
        }
    }
}

/// One entry of `GET /containers/json`.
public struct DockerContainer: Codable, Equatable, Sendable {
    public var id: String
    /// As the API gives them, with a leading slash: `["/cc-bridge-alpha"]`.
    public var names: [String]
    public var image: String?
    /// created, restarting, running, removing, paused, exited or dead.
    public var state: String
    /// Human text such as "Up 5 minutes" or "Exited (0) 2 hours ago".
    public var status: String
    public var labels: [String: String]

    public init(id: String, names: [String], image: String? = nil, state: String, status: String, labels: [String: String] = [:]) {
        self.id = id
        self.names = names
        self.image = image
        self.state = state
        self.status = status
        self.labels = labels
    }

    public var shortID: String { String(id.prefix(12)) }
    public var displayName: String { names.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? shortID }

    enum CodingKeys: String, CodingKey {
        case id = "Id", names = "Names", image = "Image", state = "State", status = "Status", labels = "Labels"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        names = try c.decodeIfPresent([String].self, forKey: .names) ?? []
        image = try c.decodeIfPresent(String.self, forKey: .image)
        state = try c.decodeIfPresent(String.self, forKey: .state) ?? "unknown"
        status = try c.decodeIfPresent(String.self, forKey: .status) ?? ""
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}

/// What health and status need from Docker; tests use a stub or DockerClient on a fake server.
public protocol DockerEngine: Sendable {
    /// Where the engine is, for messages (`unix:///var/run/docker.sock`).
    var endpoint: String { get }
    func ping() throws(DockerError)
    /// Containers (running or not) carrying `label`, given as `key=value` or `key`.
    func containers(label: String) throws(DockerError) -> [DockerContainer]
    /// Containers whose name matches `name` (Docker matches substrings; callers check exactly).
    func containers(name: String) throws(DockerError) -> [DockerContainer]
}

public struct DockerClient: DockerEngine {
    public static let apiVersion = "v1.43"
    public static let defaultSocket = "/var/run/docker.sock"

    /// nil when DOCKER_HOST names something other than a unix socket.
    public let socketPath: String?
    public let problem: String?
    public var timeout: Double

    public init(socketPath: String, timeout: Double = 2) {
        self.socketPath = socketPath
        self.problem = nil
        self.timeout = timeout
    }

    /// `DOCKER_HOST=unix:///path` or the default socket; any other DOCKER_HOST is unavailable.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, timeout: Double = 2) {
        self.timeout = timeout
        let host = environment["DOCKER_HOST"] ?? ""
        if host.isEmpty {
            socketPath = Self.defaultSocket
            problem = nil
        } else if host.hasPrefix("unix://") {
            socketPath = String(host.dropFirst("unix://".count))
            problem = nil
        } else {
            socketPath = nil
            problem = "DOCKER_HOST=\(host) is not a unix:// socket (only local sockets are supported)"
        }
    }

    public var endpoint: String { socketPath.map { "unix://" + $0 } ?? (problem ?? "none") }

    public func ping() throws(DockerError) {
        let response = try request("GET", "/_ping")
        guard response.status == 200 else { throw Self.httpError(response) }
        guard response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines) == "OK" else {
            throw .invalidResponse("/_ping answered \"\(response.bodyText.prefix(40))\", not \"OK\"")
        }
    }

    public func containers(label: String) throws(DockerError) -> [DockerContainer] {
        try listContainers(filters: ["label": [label]])
    }

    public func containers(name: String) throws(DockerError) -> [DockerContainer] {
        try listContainers(filters: ["name": [name]])
    }

    func listContainers(filters: [String: [String]]) throws(DockerError) -> [DockerContainer] {
        let response = try request("GET", "/\(Self.apiVersion)/containers/json?all=1&filters=\(Self.encodeFilters(filters))")
        guard response.status == 200 else { throw Self.httpError(response) }
        do {
            return try JSONDecoder().decode([DockerContainer].self, from: Data(response.body))
        } catch {
            throw .invalidResponse("container list is not the documented JSON (\(error))")
        }
    }

    /// `filters` as the API wants it: JSON, then percent-encoded for the query string.
    public static func encodeFilters(_ filters: [String: [String]]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(filters)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return percentEncode(json)
    }

    static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(UnicodeScalar(byte))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    static func httpError(_ response: HTTPResponse) -> DockerError {
        struct Message: Decodable { var message: String }
        let message = (try? JSONDecoder().decode(Message.self, from: Data(response.body)))?.message
            ?? (response.bodyText.isEmpty ? response.reason : String(response.bodyText.prefix(200)))
        return .http(status: response.status, message: message)
    }

    // MARK: transport

    /// One request on a fresh connection (`Connection: close`), read to a complete response.
    public func request(_ method: String, _ target: String) throws(DockerError) -> HTTPResponse {
        guard let socketPath else { throw .unavailable(problem ?? "no Docker socket") }
        let fd = try connect(socketPath)
        defer { close(fd) }
        let head = "\(method) \(target) HTTP/1.1\r\nHost: docker\r\nUser-Agent: cc-bridge-tui\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        try sendAll(fd, Array(head.utf8), socketPath)
        let deadline = MonotonicClock.now() + timeout
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += buffer[0..<n]
                switch HTTPResponseParser.parse(received, atEOF: false) {
                case .complete(let response): return response
                case .invalid(let why): throw .invalidResponse(why)
                case .incomplete: break
                }
            } else if n == 0 {
                switch HTTPResponseParser.parse(received, atEOF: true) {
                case .complete(let response): return response
                case .invalid(let why): throw .invalidResponse(why)
                case .incomplete: throw .invalidResponse("the connection closed early")
                }
            } else {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK {
                    throw .unavailable("no answer from \(socketPath) within \(Self.format(timeout)) s")
                }
                throw .unavailable("reading from \(socketPath): \(String(cString: strerror(code)))")
            }
            if MonotonicClock.now() > deadline {
                throw .unavailable("no complete answer from \(socketPath) within \(Self.format(timeout)) s")
            }
        }
    }

    private func connect(_ path: String) throws(DockerError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < capacity else { throw .unavailable("socket path \(path) is too long for a unix socket") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in pathBytes.enumerated() { raw[i] = byte }
            raw[pathBytes.count] = 0
        }
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw .unavailable("socket(): \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: .init((timeout - Double(Int(timeout))) * 1_000_000))
        #if canImport(Darwin)
        var noSigPipe: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &noSigPipe, socklen_t(MemoryLayout<Int32>.size))
        #endif
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Self.systemConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            let code = errno
            close(fd)
            switch code {
            case ENOENT: throw .unavailable("\(path) does not exist (is Docker installed and running?)")
            case ECONNREFUSED: throw .unavailable("connection refused at \(path) (the daemon is not running)")
            case EACCES: throw .unavailable("permission denied on \(path) (is this user in the docker group?)")
            case EAGAIN, EINPROGRESS, ETIMEDOUT: throw .unavailable("connecting to \(path) timed out")
            default: throw .unavailable("connect \(path): \(String(cString: strerror(code)))")
            }
        }
        return fd
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(DockerError) {
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, flags) }
            if n > 0 { offset += n; continue }
            let code = errno
            if n < 0 && code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { throw .unavailable("sending to \(path) timed out") }
            throw .unavailable("sending to \(path): \(String(cString: strerror(code)))")
        }
    }

    private static func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        #if canImport(Glibc)
        Glibc.connect(fd, address, length)
        #else
        Darwin.connect(fd, address, length)
        #endif
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))" : String(format: "%.1f", seconds)
    }
}
