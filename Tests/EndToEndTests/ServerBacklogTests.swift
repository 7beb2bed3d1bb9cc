// ServerBacklogTests: the session feed of `cc-bridge-tui serve` to a client that reads slowly,
// over the real socket: a subscription whose backlog (12 MiB kept by the server) is larger than
// the client's queue (8 MiB), with more lines written while the client is still behind, reaches
// the client whole: every line once, in order, no `skipped` and no `lines_skipped` (the server
// hands the backlog over as the client's queue drains: SessionFeedPacer).

import BridgeCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct ServerBacklogTests {
    /// A line of about 100 bytes that says its number.
    static func line(_ n: Int) -> String {
        "line \(n) " + String(repeating: "abcdefghij", count: 9) + "\n"
    }

    static func write(_ range: ClosedRange<Int>, to fd: Int32) {
        var chunk: [UInt8] = []
        for n in range {
            chunk.append(contentsOf: line(n).utf8)
            if chunk.count >= 64 << 10 || n == range.upperBound {
                var done = 0
                while done < chunk.count {
                    let written = chunk[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                    if written <= 0 { return }
                    done += written
                }
                chunk.removeAll(keepingCapacity: true)
            }
        }
    }

    @Test func aSubscriptionWhoseBacklogIsLargerThanTheClientQueueGetsEveryLineWhileReadingSlowly() throws {
        let s = try ServerScratch()
        for suffix in [InstanceScanner.inSuffix, InstanceScanner.outSuffix] { _ = try FifoSafety.create(s.pipes + "/flood" + suffix) }
        _ = try s.startServer()
        let endpoint = IPCEndpoint(pipeDirectory: s.pipes, environment: s.environment)
        #expect(eventually {
            guard case .success(let answer) = IPCClient.call("list", endpoint: endpoint, timeout: 5) else { return false }
            return answer["instances"]?.arrayValue?.contains { $0["activity"]?.objectValue != nil } == true
        }, "the server never read flood")
        let fifo = s.pipes + "/flood.out.fifo"
        let writer = open(fifo, O_WRONLY | O_CLOEXEC)
        try #require(writer >= 0)
        defer { close(writer) }
        let probe = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        try #require(probe >= 0)
        defer { close(probe) }
        // 12 MiB the server keeps (its log holds 16 MiB), before anyone subscribes.
        let backlog = 120_000, live = 20_000
        Self.write(1...backlog, to: writer)
        #expect(eventually {
            var queued: Int32 = 0
            return ioctl(probe, UInt(0x541B), &queued) == 0 && queued == 0   // FIONREAD
        }, "the server did not read the backlog")

        let loop = try EventLoop()
        let client = IPCClient(loop: loop, endpoint: endpoint, options: IPCClientOptions(requestTimeout: 60, reconnect: nil))
        defer { client.stop() }
        var next: UInt64 = 1
        var problems: [String] = []
        var subscribed = false
        client.onEvent = { event in
            if event.name == IPCEventName.skipped { problems.append("skipped \(event.data)"); return }
            guard let item = SessionWire.decode(event) else { return }
            switch item {
            case .linesSkipped(let name, let from, let count):
                problems.append("lines_skipped \(name) \(from) +\(count)")
            case .event(.output(let name, let batch), let first?, _) where name == "flood":
                let finished = batch.count - (batch.endsWithOpenLine ? 1 : 0)
                guard finished > 0 else { return }
                if first > next { problems.append("gap: \(next) ..< \(first)") }
                for index in 0..<finished where first + UInt64(index) >= next {
                    let id = first + UInt64(index)
                    let text = batch[index].text
                    if text + "\n" != Self.line(Int(id)) { problems.append("line \(id) is \(text.prefix(20).debugDescription)") }
                }
                next = max(next, first + UInt64(finished))
            default:
                break
            }
        }
        client.request("session.subscribe", params: ["resume": [:], "fresh": true], timeout: 60) { result in
            subscribed = true
            if case .failure(let error) = result { problems.append("subscribe: \(error)") }
        }
        client.start()
        // A slow reader: a turn of the loop (at most its read budget) every 20 ms.
        func pump(until condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(60)
            while !condition() && problems.isEmpty && Date() < deadline {
                loop.runOnce(timeout: 0.01)
                usleep(20_000)
            }
            return condition()
        }
        #expect(pump { subscribed })
        // More lines while the client is still far behind.
        let more = Thread { Self.write((backlog + 1)...(backlog + live), to: writer) }
        more.start()
        let whole = pump { next > UInt64(backlog + live) }
        #expect(eventually { more.isFinished })
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(whole, "got the lines before \(next) of \(backlog + live)")
    }
}
