// EventStreams: `GET /v1/events` as Server-Sent Events. Each stream is a ServerCore subscription
// (all instances, or one) whose events become `event: NAME` / `data: JSON` blocks: the socket's
// event names and fields (docs/server.md, "Methods and events"), and for `output` the lines'
// text in `text`. A stream starts with `event: ready` once it is subscribed (only live events
// follow: no backlog), gets a `: keepalive` comment every `keepalive` seconds (so a vanished
// client is noticed), and is closed when its client falls `bufferLimit` blocks behind (it
// reconnects) or the server stops (after `event: server_stopping`). Loop thread only.

import BridgeCore
import FlyingSocks
import Foundation

final class EventStreams {
    typealias Sink = AsyncStream<[UInt8]>.Continuation

    static let bufferLimit = 4096
    static let keepalive = 15.0

    private let core: ServerCore
    private var streams: [Int: (subscription: ServerCore.SubscriptionID, sink: Sink)] = [:]
    private var nextID = 1
    private var keepaliveTimer: EventLoop.TimerID?

    init(core: ServerCore) {
        self.core = core
    }

    var count: Int { streams.count }

    /// A new stream for `instance` (nil: all); its bytes come out of the returned sequence.
    func open(instance: String?) -> AsyncStream<[UInt8]> {
        let (stream, sink) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .bufferingOldest(Self.bufferLimit))
        let id = nextID
        nextID += 1
        var live = false
        let scope: ServerCore.Scope = instance.map { .instance($0) } ?? .all
        let subscription = core.subscribe(scope) { [weak self] event in
            // The kept lines a subscription starts with are not sent: only what happens now.
            guard live, let self else { return }
            self.push(Self.block(for: event), to: id)
        }
        live = true
        streams[id] = (subscription, sink)
        let loop = core.loop
        let me = Unchecked(value: self)
        sink.onTermination = { _ in loop.post { me.value.close(id, finish: false) } }
        push(Self.block(event: "ready", data: ["stream": .int(id), "instance": instance.map { .string($0) } ?? .null]), to: id)
        if keepaliveTimer == nil {
            keepaliveTimer = core.loop.schedule(after: Self.keepalive, repeating: Self.keepalive) { [weak self] in
                guard let self else { return }
                for id in self.streams.keys.sorted() { self.push(Array(": keepalive\n\n".utf8), to: id) }
            }
        }
        return stream
    }

    /// Tells every stream the server stops and ends it.
    func closeAll() {
        let stopping = Self.block(for: .serverStopping)
        for id in streams.keys.sorted() {
            push(stopping, to: id)
            close(id, finish: true)
        }
    }

    private func push(_ bytes: [UInt8], to id: Int) {
        guard let stream = streams[id] else { return }
        switch stream.sink.yield(bytes) {
        case .enqueued: break
        case .dropped: close(id, finish: true)      // too far behind: it reconnects
        case .terminated: close(id, finish: false)  // the client has gone
        @unknown default: close(id, finish: true)
        }
    }

    private func close(_ id: Int, finish: Bool) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        core.unsubscribe(stream.subscription)
        if finish { stream.sink.finish() }
        if streams.isEmpty, let timer = keepaliveTimer {
            core.loop.cancel(timer)
            keepaliveTimer = nil
        }
    }

    static func block(for event: ServerEvent) -> [UInt8] {
        let wire = ServerWire.event(event)
        var data = wire.data
        if case .output = event, case .object(var fields) = data {
            fields["text"] = .string(String(decoding: wire.attachment, as: UTF8.self))
            data = .object(fields)
        }
        return block(event: wire.name, data: data)
    }

    static func block(event: String, data: JSONValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(data)) ?? Data("null".utf8)
        return Array("event: \(event)\ndata: ".utf8) + Array(json) + Array("\n\n".utf8)
    }
}

/// The stream's bytes as FlyingFox wants a response body: each block a chunk as it comes.
struct EventStreamBody: AsyncBufferedSequence {
    typealias Element = UInt8
    let stream: AsyncStream<[UInt8]>

    func makeAsyncIterator() -> Iterator { Iterator(base: stream.makeAsyncIterator()) }

    struct Iterator: AsyncBufferedIteratorProtocol {
        var base: AsyncStream<[UInt8]>.Iterator
        var pending: ArraySlice<UInt8> = []

        mutating func next() async -> UInt8? {
            guard let buffer = await nextBuffer(suggested: 1) else { return nil }
            return buffer.first
        }

        mutating func nextBuffer(suggested count: Int) async -> ArraySlice<UInt8>? {
            if pending.isEmpty {
                guard let block = await base.next() else { return nil }
                pending = block[...]
            }
            let take = pending.prefix(Swift.max(1, count))
            pending = pending.dropFirst(take.count)
            return take
        }
    }
}
