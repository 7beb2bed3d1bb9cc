// DockerClientTests: the Engine API client against a local HTTP server on a unix socket that
// answers as Docker Engine API v1.43 documents /_ping and /containers/json (there is no Docker
// engine on the test machines), plus the response parser on its own.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP server on a unix socket: one thread accepts, reads a request head, and answers
/// with whatever `respond` returns (nil: hold the connection silent until `stop`).
final class FakeDockerServer: @unchecked Sendable {
    let path: String
    private let listenFD: Int32
    private let lock = NSLock()
    private var _requests: [String] = []
    private var held: [Int32] = []
    private let finished = DispatchSemaphore(value: 0)
    private let respond: @Sendable (String) -> [UInt8]?

    var requests: [String] { lock.withLock { _requests } }

    init(path: String, respond: @escaping @Sendable (_ requestLine: String) -> [UInt8]?) throws {
        self.path = path
        self.respond = respond
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw SystemError("bind/listen", path: path) }
        listenFD = fd
        Thread { [self] in serve() }.start()
    }

    private func serve() {
        while true {
            let client = accept(listenFD, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                break
            }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while HTTPResponseParser.find([13, 10, 13, 10], in: request, from: 0) == nil {
                let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                request += buffer[0..<n]
            }
            let line = String(decoding: request, as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
            lock.withLock { _requests.append(line) }
            if let answer = respond(line) {
                answer.withUnsafeBytes { _ = send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(client)
            } else {
                lock.withLock { held.append(client) }
            }
        }
        finished.signal()
    }

    func stop() {
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        _ = finished.wait(timeout: .now() + 5)
        lock.withLock { held.forEach { close($0) } }
        unlink(path)
    }

    deinit { unlink(path) }

    // MARK: answers as Docker writes them

    static func response(_ status: String, contentType: String, body: String, chunked: [Int]? = nil) -> [UInt8] {
        var head = "HTTP/1.1 \(status)\r\nApi-Version: 1.43\r\nContent-Type: \(contentType)\r\n"
            + "Docker-Experimental: false\r\nOstype: linux\r\nServer: Docker/24.0.7 (linux)\r\n"
            + "Date: Tue, 21 Nov 2023 10:00:00 GMT\r\n"
        let bytes = Array(body.utf8)
        guard let sizes = chunked else {
            head += "Content-Length: \(bytes.count)\r\n\r\n"
            return Array(head.utf8) + bytes
        }
        head += "Transfer-Encoding: chunked\r\n\r\n"
        var out = Array(head.utf8)
        var offset = 0
        var i = 0
        while offset < bytes.count {
            let size = min(sizes[i % sizes.count], bytes.count - offset)
            out += Array(String(size, radix: 16).utf8) + [13, 10] + bytes[offset..<(offset + size)] + [13, 10]
            offset += size
            i += 1
        }
        return out + Array("0\r\n\r\n".utf8)
    }

    static let ping = response("200 OK", contentType: "text/plain; charset=utf-8", body: "OK")

    static func containerJSON(id: String, name: String, state: String, status: String, labels: [String: String]) -> String {
        let labelJSON = labels.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
        return """
        {"Id":"\(id)","Names":["/\(name)"],"Image":"cc-bridge:latest","ImageID":"sha256:0123","Command":"/entrypoint.sh",\
        "Created":1700000000,"Ports":[],"Labels":{\(labelJSON)},"State":"\(state)","Status":"\(status)",\
        "HostConfig":{"NetworkMode":"default"},"NetworkSettings":{"Networks":{}},"Mounts":[]}
        """
    }
}

func shortSocketPath(_ tmp: TempDir, _ name: String = "docker.sock") -> String {
    tmp.file(name)  // TempDir lives under /tmp: well inside sun_path's 108 bytes
}

@Suite(.serialized) struct DockerClientTests {
    @Test func pingOK() throws {
        let tmp = TempDir()
        let server = try FakeDockerServer(path: shortSocketPath(tmp)) { _ in FakeDockerServer.ping }
        defer { server.stop() }
        let client = DockerClient(socketPath: server.path)
        try client.ping()
        #expect(server.requests == ["GET /_ping HTTP/1.1"])
    }

    @Test func containersByLabelSendsTheDocumentedQueryAndDecodes() throws {
        let tmp = TempDir()
        let body = "[" + FakeDockerServer.containerJSON(id: String(repeating: "ab", count: 32), name: "cc-bridge-alpha",
                                                         state: "running", status: "Up 5 minutes",
                                                         labels: ["cc-bridge.instance": "alpha", "com.docker.compose.project": "cc"]) + "]"
        let server = try FakeDockerServer(path: shortSocketPath(tmp)) { _ in
            FakeDockerServer.response("200 OK", contentType: "application/json", body: body)
        }
        defer { server.stop() }
        let containers = try DockerClient(socketPath: server.path).containers(label: "cc-bridge.instance=alpha")
        #expect(server.requests == [
            "GET /v1.43/containers/json?all=1&filters=%7B%22label%22%3A%5B%22cc-bridge.instance%3Dalpha%22%5D%7D HTTP/1.1",
        ])
        #expect(containers.count == 1)
        let c = try #require(containers.first)
        #expect(c.state == "running")
        #expect(c.status == "Up 5 minutes")
        #expect(c.names == ["/cc-bridge-alpha"])
        #expect(c.displayName == "cc-bridge-alpha")
        #expect(c.labels["cc-bridge.instance"] == "alpha")
        #expect(c.shortID == "abababababab")
    }

    @Test func chunkedBodyIsReassembled() throws {
        let tmp = TempDir()
        let items = (0..<40).map {
            FakeDockerServer.containerJSON(id: "id\($0)", name: "c\($0)", state: $0 % 2 == 0 ? "running" : "exited",
                                           status: $0 % 2 == 0 ? "Up 1 hour" : "Exited (0) 3 minutes ago", labels: [:])
        }
        let body = "[" + items.joined(separator: ",") + "]"
        let server = try FakeDockerServer(path: shortSocketPath(tmp)) { _ in
            FakeDockerServer.response("200 OK", contentType: "application/json", body: body, chunked: [1, 7, 4096, 300])
        }
        defer { server.stop() }
        let containers = try DockerClient(socketPath: server.path).containers(name: "c1")
        #expect(containers.count == 40)
        #expect(containers[3].state == "exited")
        #expect(containers[3].status == "Exited (0) 3 minutes ago")
        #expect(server.requests.first?.contains("filters=%7B%22name%22%3A%5B%22c1%22%5D%7D") == true)
    }

    @Test func serverErrorCarriesDockersMessage() throws {
        let tmp = TempDir()
        let server = try FakeDockerServer(path: shortSocketPath(tmp)) { _ in
            FakeDockerServer.response("500 Internal Server Error", contentType: "application/json",
                                      body: #"{"message":"invalid filter 'lable'"}"# + "\n")
        }
        defer { server.stop() }
        #expect(throws: DockerError.http(status: 500, message: "invalid filter 'lable'")) {
            try DockerClient(socketPath: server.path).containers(label: "x")
        }
        #expect(throws: DockerError.http(status: 500, message: "invalid filter 'lable'")) {
            try DockerClient(socketPath: server.path).ping()
        }
    }

    @Test func missingSocketIsUnavailable() {
        let tmp = TempDir()
        do {
            try DockerClient(socketPath: tmp.file("nothing.sock")).ping()
            Issue.record("ping succeeded without a socket")
        } catch {
            guard case .unavailable(let why) = error else { Issue.record("\(error)"); return }
            #expect(why.contains("does not exist"))
        }
    }

    @Test func refusedConnectionIsUnavailable() throws {
        let tmp = TempDir()
        // A socket file nobody listens on: bind, then close without listening.
        let path = shortSocketPath(tmp, "dead.sock")
        let server = try FakeDockerServer(path: path) { _ in FakeDockerServer.ping }
        server.stop()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(fd)
        #expect(throws: DockerError.unavailable("connection refused at \(path) (the daemon is not running)")) {
            try DockerClient(socketPath: path).ping()
        }
    }

    @Test func silentServerTimesOutAsUnavailable() throws {
        let tmp = TempDir()
        let server = try FakeDockerServer(path: shortSocketPath(tmp)) { _ in nil }
        defer { server.stop() }
        let start = MonotonicClock.now()
        do {
            try DockerClient(socketPath: server.path, timeout: 0.3).ping()
            Issue.record("a silent server answered")
        } catch {
            guard case .unavailable(let why) = error else { Issue.record("\(error)"); return }
            #expect(why.contains("no answer"))
        }
        #expect(MonotonicClock.now() - start < 10)
    }

    @Test func dockerHostSelection() {
        #expect(DockerClient(environment: [:]).socketPath == "/var/run/docker.sock")
        #expect(DockerClient(environment: ["DOCKER_HOST": "unix:///run/user/1000/docker.sock"]).socketPath == "/run/user/1000/docker.sock")
        let tcp = DockerClient(environment: ["DOCKER_HOST": "tcp://10.0.0.1:2375"])
        #expect(tcp.socketPath == nil)
        #expect(throws: DockerError.self) { try tcp.ping() }
    }

    @Test func lookupPrefersTheLabelThenTheExactName() throws {
        let tmp = TempDir()
        let byName = "[" + [FakeDockerServer.containerJSON(id: "1", name: "alpha-old", state: "exited", status: "Exited (1) 1 day ago", labels: [:]),
                            FakeDockerServer.containerJSON(id: "2", name: "alpha", state: "running", status: "Up 2 seconds", labels: [:])]
            .joined(separator: ",") + "]"
        let server = try FakeDockerServer(path: shortSocketPath(tmp)) { line in
            line.contains("%22label%22")
                ? FakeDockerServer.response("200 OK", contentType: "application/json", body: "[]\n")
                : FakeDockerServer.response("200 OK", contentType: "application/json", body: byName)
        }
        defer { server.stop() }
        let result = ContainerLookup.find(instance: "alpha", engine: DockerClient(socketPath: server.path))
        guard case .found(let container, let how) = result else { Issue.record("\(result)"); return }
        #expect(container.id == "2")
        #expect(how == "name")
        #expect(ContainerLookup.find(instance: "beta", engine: DockerClient(socketPath: tmp.file("none"))) ==
                .unavailable("\(tmp.file("none")) does not exist (is Docker installed and running?)"))
    }

    /// cc-bridge labels its containers `cc-bridge.workspace=NAME` (its compose files and its own
    /// discovery); such a container is found by that label, after ours and before the name.
    @Test func lookupFindsCCBridgesWorkspaceLabelAfterOurs() throws {
        let tmp = TempDir()
        let instanceQuery = "filters=%7B%22label%22%3A%5B%22cc-bridge.instance%3Dalpha%22%5D%7D"
        let workspaceQuery = "filters=%7B%22label%22%3A%5B%22cc-bridge.workspace%3Dalpha%22%5D%7D"
        let workspaceBody = "[" + FakeDockerServer.containerJSON(id: "w1", name: "cc-bridge-agent-1", state: "running",
                                                                  status: "Up 3 hours", labels: ["cc-bridge.workspace": "alpha"]) + "]"
        let server = try FakeDockerServer(path: shortSocketPath(tmp)) { line in
            FakeDockerServer.response("200 OK", contentType: "application/json",
                                      body: line.contains(workspaceQuery) ? workspaceBody : "[]\n")
        }
        defer { server.stop() }
        let result = ContainerLookup.find(instance: "alpha", engine: DockerClient(socketPath: server.path))
        guard case .found(let container, let how) = result else { Issue.record("\(result)"); return }
        #expect(container.id == "w1")
        #expect(how == "label cc-bridge.workspace=alpha")
        #expect(server.requests.count == 2)
        #expect(server.requests.first?.contains(instanceQuery) == true, "\(server.requests)")
        #expect(server.requests.last?.contains(workspaceQuery) == true, "\(server.requests)")
    }

    @Test func notFoundSaysEveryWayItLooked() {
        let result = HealthRules.container(.notFound, instance: "alpha", docker: .reachable(endpoint: "/var/run/docker.sock"))
        #expect(result.reason == "no container labelled cc-bridge.instance=alpha or cc-bridge.workspace=alpha "
                + "or named alpha (the agent may run outside Docker)")
    }

    @Test func lookupPrefersTheInstanceLabelOverTheWorkspaceLabel() throws {
        let tmp = TempDir()
        let server = try FakeDockerServer(path: shortSocketPath(tmp)) { line in
            let body: String
            if line.contains("cc-bridge.instance%3Dalpha") {
                body = "[" + FakeDockerServer.containerJSON(id: "i1", name: "ours", state: "running", status: "Up 1 minute",
                                                            labels: ["cc-bridge.instance": "alpha"]) + "]"
            } else {
                body = "[" + FakeDockerServer.containerJSON(id: "w1", name: "theirs", state: "running", status: "Up 1 minute",
                                                            labels: ["cc-bridge.workspace": "alpha"]) + "]"
            }
            return FakeDockerServer.response("200 OK", contentType: "application/json", body: body)
        }
        defer { server.stop() }
        let result = ContainerLookup.find(instance: "alpha", engine: DockerClient(socketPath: server.path))
        guard case .found(let container, let how) = result else { Issue.record("\(result)"); return }
        #expect(container.id == "i1")
        #expect(how == "label cc-bridge.instance=alpha")
        #expect(server.requests.count == 1)
    }

    // MARK: parser

    @Test func parserWaitsForTheWholeBody() {
        let full = Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8)
        for cut in 0..<full.count {
            #expect(HTTPResponseParser.parse(Array(full[0..<cut]), atEOF: false) == .incomplete)
        }
        guard case .complete(let r) = HTTPResponseParser.parse(full, atEOF: false) else { Issue.record("incomplete"); return }
        #expect(r.bodyText == "hello")
        if case .invalid = HTTPResponseParser.parse(Array(full.dropLast(2)), atEOF: true) {} else { Issue.record("truncated body accepted") }
    }

    @Test func parserHandlesChunkExtensionsTrailersAndBadSizes() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"
        guard case .complete(let r) = HTTPResponseParser.parse(Array(text.utf8), atEOF: false) else { Issue.record("not complete"); return }
        #expect(r.bodyText == "abcde")
        let bad = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        if case .invalid = HTTPResponseParser.parse(Array(bad.utf8), atEOF: false) {} else { Issue.record("bad size accepted") }
        let noLength = "HTTP/1.0 200 OK\r\n\r\nto the end"
        #expect(HTTPResponseParser.parse(Array(noLength.utf8), atEOF: false) == .incomplete)
        guard case .complete(let eof) = HTTPResponseParser.parse(Array(noLength.utf8), atEOF: true) else { Issue.record("no EOF body"); return }
        #expect(eof.bodyText == "to the end")
        if case .invalid = HTTPResponseParser.parse(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8), atEOF: false) {} else { Issue.record("not HTTP accepted") }
    }
}
