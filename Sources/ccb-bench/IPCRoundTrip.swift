// IPCRoundTrip: the `ipc-roundtrip` rows: what the server socket itself adds to a request. A
// listener with an echo handler on its own thread and loop, a client on this one; each request
// (small JSON params) waits for its response before the next. The server's own work (SessionHub)
// comes on top; issue 13's budget for the whole round trip is p50 ≤ 0.1 ms, p99 ≤ 1 ms.

import BridgeCore
import Foundation

private final class EchoHandler: IPCRequestHandler {
    func handle(_ request: IPCRequest, from peer: IPCPeer, respond: @escaping (Result<JSONValue, IPCError>) -> Void) {
        respond(.success(request.params))
    }
}

private final class ServerThread: @unchecked Sendable {
    let loop: EventLoop
    let ready = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)
    var failure: Error?

    init(endpoint: IPCEndpoint) throws {
        loop = try EventLoop()
        let loop = self.loop
        Thread {
            let handler = EchoHandler()
            let listener = IPCListener(loop: loop, endpoint: endpoint, handler: handler)
            do { try listener.start() } catch { self.failure = error }
            self.ready.signal()
            if self.failure == nil { loop.run() }
            listener.stop()
            self.done.signal()
        }.start()
    }

    func stop() {
        loop.post { [loop] in loop.stop() }
        done.wait()
    }
}

extension Bench {
    func ipcRoundTrip() throws -> [Row] {
        let count = sizes.roundTrips * 5
        log("ipc round trip: \(count) echo requests through the socket")
        let scratch = try Scratch()
        let endpoint = IPCEndpoint(directory: scratch.file("run"), key: "bench")
        let server = try ServerThread(endpoint: endpoint)
        server.ready.wait()
        if let failure = server.failure { throw BenchError("ipc round trip: \(failure)") }
        defer { server.stop() }
        let loop = try EventLoop()
        let client = IPCClient(loop: loop, endpoint: endpoint, options: IPCClientOptions(reconnect: nil))
        client.start()
        func spin(_ condition: () -> Bool) throws {
            let deadline = MonotonicClock.now() + 10
            while !condition() {
                guard MonotonicClock.now() < deadline else { throw BenchError("ipc round trip: no answer (\(client.state))") }
                loop.runOnce(timeout: 0.1)
            }
        }
        try spin { client.state == .ready }
        var latencies: [Double] = []
        latencies.reserveCapacity(count)
        let params: JSONValue = ["instance": "claude-1", "text": "explain this repo"]
        for index in 0..<(count + 50) {
            var answered = false
            let start = MonotonicClock.now()
            client.request("echo", params: params) { _ in answered = true }
            try spin { answered }
            if index >= 50 { latencies.append(MonotonicClock.now() - start) }   // the first ones warm up
        }
        client.stop()
        let p50 = percentile(latencies, 50) * 1000, p99 = percentile(latencies, 99) * 1000
        return [
            Row(budget: "ipc-roundtrip", metric: "p50 request → response (echo, socket only)", value: p50, unit: "ms",
                note: "\(count) requests, listener on its own thread; the server's work comes on top"),
            Row(budget: "ipc-roundtrip", metric: "p99 request → response (echo, socket only)", value: p99, unit: "ms",
                note: "budget of the whole round trip through the server: p50 ≤ 0.1 ms, p99 ≤ 1 ms"),
        ]
    }
}
