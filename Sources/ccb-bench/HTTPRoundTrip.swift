// HTTPRoundTrip: the `http-roundtrip` rows: what the HTTP input adds over the server socket for
// the same request. One ServerCore (an empty pipe directory, health checks off) with its socket
// (ServerIPC) and its HTTP input (BridgeHTTP) on their loop thread; on this thread, `list` over
// the socket (one connection, IPCClient) and `GET /v1/instances` over HTTP (one keep-alive
// connection, a plain TCP client), each waiting for its answer before the next, alternated so
// both see the same machine. The ratio HTTP / socket is the row's point; figures are indicative.

import BridgeCore
import BridgeHTTP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

private final class ServerWithHTTP: @unchecked Sendable {
    let loop: EventLoop
    let ready = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)
    var failure: Error?
    var port = 0

    init(scratch: Scratch, endpoint: IPCEndpoint) throws {
        loop = try EventLoop()
        let loop = self.loop
        var config = BridgeConfig()
        config.docker.pipeDir = scratch.file("pipes")
        config.docker.health.enabled = false
        try FileManager.default.createDirectory(atPath: config.docker.pipeDir, withIntermediateDirectories: true)
        var settings = HTTPSettings()
        settings.enabled = true
        settings.port = 0
        let (serverConfig, httpSettings, state) = (config, settings, scratch.file("state"))
        Thread {
            let config = serverConfig, settings = httpSettings
            let core = ServerCore(loop: loop, options: ServerCore.Options(config: config, stateDirectory: state))
            let ipc = ServerIPC(core: core, endpoint: endpoint)
            let http = HTTPInput(settings: settings, maxPromptBytes: PromptText.maxBytes) { _ in }
            do {
                core.start()
                try ipc.start()
                try http.start(core: core, endpoint: endpoint)
                self.port = Int(http.listening?.split(separator: ":").last ?? "") ?? 0
            } catch { self.failure = error }
            self.ready.signal()
            if self.failure == nil { loop.run() }
            http.stop()
            ipc.stop()
            core.stop()
            self.done.signal()
        }.start()
    }

    func stop() {
        loop.post { [loop] in loop.stop() }
        _ = done.wait(timeout: .now() + 10)
    }
}

/// One keep-alive HTTP/1.1 connection; `get` sends a request and reads one whole response.
private final class KeepAliveClient {
    let fd: Int32
    var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw BenchError("http round trip: cannot connect to port \(port)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    func get(_ request: [UInt8]) throws -> Int {
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw BenchError("http round trip: write failed") }
            sent += n
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = headerEnd() {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if buffer.count >= end + 4 + length {
                    let status = Int(head.split(separator: " ")[1]) ?? 0
                    buffer.removeFirst(end + 4 + length)
                    return status
                }
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw BenchError("http round trip: connection closed") }
            buffer += chunk[..<n]
        }
    }

    private func headerEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }
}

extension Bench {
    func httpRoundTrip() throws -> [Row] {
        let count = sizes.roundTrips * 2
        log("http round trip: \(count) `list` requests over the socket and as many GET /v1/instances over HTTP")
        let scratch = try Scratch()
        let endpoint = IPCEndpoint(directory: scratch.file("run"), key: "bench")
        let server = try ServerWithHTTP(scratch: scratch, endpoint: endpoint)
        server.ready.wait()
        defer { server.stop() }
        if let failure = server.failure { throw BenchError("http round trip: \(failure)") }
        let token = try endpoint.readToken()
        let http = try KeepAliveClient(port: server.port)
        let request = Array("GET /v1/instances HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n".utf8)

        let loop = try EventLoop()
        let client = IPCClient(loop: loop, endpoint: endpoint, options: IPCClientOptions(reconnect: nil))
        client.start()
        func spin(_ condition: () -> Bool) throws {
            let deadline = MonotonicClock.now() + 10
            while !condition() {
                guard MonotonicClock.now() < deadline else { throw BenchError("http round trip: no socket answer (\(client.state))") }
                loop.runOnce(timeout: 0.1)
            }
        }
        try spin { client.state == .ready }
        var socketTimes: [Double] = [], httpTimes: [Double] = []
        for index in 0..<(count + 50) {
            var answered = false
            var start = MonotonicClock.now()
            client.request("list", params: [:]) { _ in answered = true }
            try spin { answered }
            if index >= 50 { socketTimes.append(MonotonicClock.now() - start) }
            start = MonotonicClock.now()
            let status = try http.get(request)
            guard status == 200 else { throw BenchError("http round trip: GET /v1/instances answered \(status)") }
            if index >= 50 { httpTimes.append(MonotonicClock.now() - start) }
        }
        client.stop()
        let socket50 = percentile(socketTimes, 50) * 1000, socket99 = percentile(socketTimes, 99) * 1000
        let http50 = percentile(httpTimes, 50) * 1000, http99 = percentile(httpTimes, 99) * 1000
        return [
            Row(budget: "http-roundtrip", metric: "p50 GET /v1/instances vs socket list", value: http50, unit: "ms",
                baseline: socket50, baselineName: "socket list p50",
                note: "\(count) each, alternated; one keep-alive connection; the loop hop and the library's threads included"),
            Row(budget: "http-roundtrip", metric: "p99 GET /v1/instances vs socket list", value: http99, unit: "ms",
                baseline: socket99, baselineName: "socket list p99", note: "same run"),
        ]
    }
}
