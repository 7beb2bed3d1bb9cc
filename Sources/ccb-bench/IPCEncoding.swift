// IPCEncoding: the `ipc-encoding` rows, the measurement behind how output travels on the server
// socket (docs/ipc.md, "Output: raw attachment"). Agent-like output (AgentText) in 64 KiB batches
// goes through a whole event frame and back: encoded, fed to IPCFrameDecoder, decoded to an
// IPCMessage and the text taken out, once as the frame's raw attachment and once JSON-escaped in
// the event's data (a "text" string). Both CPU only (no socket), same bytes, same process.

import BridgeCore
import Foundation

extension Bench {
    func ipcEncoding() throws -> [Row] {
        let total = sizes.ingestBytes
        log("ipc encoding: \(mib(total)) MiB of output, raw attachment vs JSON string")
        let block = AgentText.block().bytes
        let batch = 64 << 10
        // Batches of whole lines (at most 64 KiB), as a read turn hands them over: valid UTF-8 each.
        var batches: [[UInt8]] = []
        var start = 0
        while start < block.count {
            var end = min(block.count, start + batch)
            if end < block.count, let newline = block[start..<end].lastIndex(of: 0x0A) { end = newline + 1 }
            batches.append(Array(block[start..<end]))
            start = end
        }
        let rounds = max(1, total / block.count)

        func run(raw: Bool) throws -> (seconds: Double, wire: Int, payload: Int) {
            var decoder = IPCFrameDecoder()
            var wire = 0, payload = 0, line = 0
            let start = MonotonicClock.now()
            for _ in 0..<rounds {
                for bytes in batches {
                    line += 1
                    var data: JSONValue = ["instance": "bench", "line": .int(line)]
                    let event: IPCEvent
                    if raw {
                        event = IPCEvent(name: IPCEventName.output, data: data, attachment: bytes)
                    } else {
                        data = ["instance": "bench", "line": .int(line), "text": .string(String(decoding: bytes, as: UTF8.self))]
                        event = IPCEvent(name: IPCEventName.output, data: data)
                    }
                    let frame = IPCMessage.event(event).encoded()
                    wire += frame.count
                    decoder.append(frame)
                    guard let received = try decoder.next(),
                          case .success(.event(let back)) = IPCMessage.decode(received) else {
                        throw BenchError("ipc encoding: the frame did not decode")
                    }
                    let text = raw ? back.attachment : Array((back.data["text"]?.stringValue ?? "").utf8)
                    guard text.count == bytes.count else { throw BenchError("ipc encoding: \(text.count) of \(bytes.count) bytes back") }
                    payload += text.count
                }
            }
            return (MonotonicClock.now() - start, wire, payload)
        }
        let raw = try run(raw: true)
        let json = try run(raw: false)
        let rawRate = mib(raw.payload) / raw.seconds
        let jsonRate = mib(json.payload) / json.seconds
        let inflation = { (r: (seconds: Double, wire: Int, payload: Int)) in
            String(format: "%.1f", (Double(r.wire) / Double(r.payload) - 1) * 100)
        }
        return [
            Row(budget: "ipc-encoding", metric: "output event, raw attachment (encode+decode)", value: rawRate, unit: "MiB/s",
                note: "\(Int(mib(raw.payload).rounded())) MiB in batches of whole lines up to 64 KiB; wire +\(inflation(raw))% over the text"),
            Row(budget: "ipc-encoding", metric: "output event, JSON-escaped text (encode+decode)", value: jsonRate, unit: "MiB/s",
                baseline: rawRate, baselineName: "raw attachment",
                note: "wire +\(inflation(json))% over the text (ESC and other controls escaped as \\u00XX)"),
        ]
    }
}
