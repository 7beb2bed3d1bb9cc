// StreamDecoder: one instance's out-stream. Detects whether the agent speaks plain bytes (the
// reference cc-bridge agent) or the framed protocol `ccb-jsonl/1`, and turns either into output
// lines (through an OutputProcessor) plus events.
//
// Plain mode (the start): bytes go to the OutputProcessor; each `❯` (U+276F, E2 9D AF) in the
// stream is reported as `.replyMarker`, also when split across feeds. A line that starts with
// `{"type":"hello"` is held back until its newline; when it decodes as a `ccb-jsonl/1` hello the
// stream switches to framed mode and the line is not shown, otherwise it is shown as text.
// Framed mode: lines are decoded; chunk data goes to the OutputProcessor (so output lines are
// assembled across chunks), other messages become events, and a line that is not a known
// message is shown as text followed by a newline, never dropped. A line longer than
// `maxFrameBytes` is treated as such text too, streamed through without being buffered.
// A later hello (agent restarted) keeps framed mode.

import Foundation

public enum StreamMode: Equatable, Sendable, Codable {
    case plain, framed
}

public enum StreamEvent: Equatable, Sendable, Codable {
    case modeChanged(StreamMode)
    case hello(pid: Int, version: String)
    /// The first chunk of a reply id.
    case chunkStarted(id: String)
    case done(id: String, status: DoneStatus, exit: Int?)
    case heartbeat(ts: Double)
    case notice(String)
    /// Plain mode: `❯` seen in the output (Claude Code is waiting for the next prompt).
    case replyMarker
    /// A frame of the Claude stream-json mode, as the agent sent it (strings not yet sanitized:
    /// whoever shows one sanitizes it, as `notice` text is).
    case claude(ClaudeFrame)
}

public struct StreamDecoder {
    public private(set) var mode: StreamMode = .plain
    public let maxFrameBytes: Int
    private var processor: OutputProcessor

    // Plain mode.
    private static let helloPrefix: [UInt8] = Array(#"{"type":"hello""#.utf8)
    private static let maxHelloLineBytes = 64 << 10
    private var atLineStart = true
    /// Bytes of a line that may be a hello, held back (prefix matched so far, or the whole line).
    private var candidate: [UInt8] = []
    private var inCandidate = false
    /// How many bytes of E2 9D AF the stream ended with (0...2).
    private var markerProgress = 0

    // Framed mode.
    private var frame: [UInt8] = []
    /// The current line outgrew `maxFrameBytes`: pass the rest of it through as text.
    private var passingThrough = false
    /// Ids whose first chunk was seen and whose done was not (bounded, oldest forgotten first).
    private var openIds: [String] = []
    /// A Claude frame was just decoded: `feedFramed` returns after it.
    private var pausedAtFrame = false

    public init(maxLineBytes: Int = 64 << 10, maxFrameBytes: Int = 4 << 20,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        processor = OutputProcessor(maxLineBytes: maxLineBytes, now: now)
        self.maxFrameBytes = max(1024, maxFrameBytes)
    }

    public mutating func feed(_ bytes: [UInt8], into batch: inout OutputBatch, events: inout [StreamEvent]) {
        bytes.withUnsafeBytes { feed($0, into: &batch, events: &events) }
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer, into batch: inout OutputBatch, events: inout [StreamEvent]) {
        feed(bytes, into: &batch, events: &events, stopAtClaudeFrame: false)
    }

    /// Feeds `bytes`; with `stopAtClaudeFrame`, returns right after a Claude frame (the number of
    /// bytes consumed), so the caller can report the output before it, then the frame, then feed
    /// the rest: a tool call's line lands between the text before it and the text after it.
    @discardableResult
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, into batch: inout OutputBatch, events: inout [StreamEvent],
                              stopAtClaudeFrame: Bool) -> Int {
        bytes.withMemoryRebound(to: UInt8.self) { buffer in
            var rest = buffer[...]
            while !rest.isEmpty {
                switch mode {
                case .plain: rest = feedPlain(rest, &batch, &events)
                case .framed: rest = feedFramed(rest, &batch, &events)
                }
                if pausedAtFrame {
                    pausedAtFrame = false
                    if stopAtClaudeFrame { return rest.startIndex - buffer.startIndex }
                }
            }
            return buffer.count
        }
    }

    // MARK: Plain

    /// Consumes plain bytes; returns what is left when the mode switched to framed.
    private mutating func feedPlain(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ batch: inout OutputBatch,
                                    _ events: inout [StreamEvent]) -> Slice<UnsafeBufferPointer<UInt8>> {
        var i = bytes.startIndex
        let end = bytes.endIndex
        let base = bytes.base
        while i < end {
            if inCandidate {
                // Match the prefix, then collect up to the newline.
                let b = base[i]
                if candidate.count < Self.helloPrefix.count {
                    guard b == Self.helloPrefix[candidate.count] else {
                        releaseCandidate(&batch, &events)
                        continue   // this byte is ordinary text; look at it again
                    }
                    candidate.append(b)
                    i += 1
                    continue
                }
                guard let nl = find(0x0A, in: base, from: i, to: end) else {
                    candidate.append(contentsOf: UnsafeBufferPointer(rebasing: base[i..<end]))
                    if candidate.count > Self.maxHelloLineBytes { releaseCandidate(&batch, &events) }
                    return base[end...]
                }
                candidate.append(contentsOf: UnsafeBufferPointer(rebasing: base[i..<nl]))
                i = nl + 1
                if case .success(.hello(let proto, _, let version, let pid)) = AgentMessage.decode(line: candidate),
                   proto == framedProtocolName {
                    candidate.removeAll(keepingCapacity: false)
                    inCandidate = false
                    atLineStart = true
                    mode = .framed
                    events.append(.modeChanged(.framed))
                    events.append(.hello(pid: pid, version: InstanceScanner.displayName(version)))
                    return base[i...]
                }
                candidate.append(0x0A)
                releaseCandidate(&batch, &events)
                atLineStart = true
                continue
            }
            // Find the next `{` that starts a line; everything before it is ordinary text.
            var j = i
            var found = false
            while let brace = find(UInt8(ascii: "{"), in: base, from: j, to: end) {
                let startsLine = brace == i ? atLineStart : base[brace - 1] == 0x0A
                if startsLine { j = brace; found = true; break }
                j = brace + 1
            }
            if !found { j = end }
            if j > i {
                emitPlain(UnsafeBufferPointer(rebasing: base[i..<j]), &batch, &events)
                atLineStart = base[j - 1] == 0x0A
            }
            i = j
            if found {
                inCandidate = true
                candidate.removeAll(keepingCapacity: true)
            }
        }
        return base[end...]
    }

    /// Shows the held-back bytes as ordinary text.
    private mutating func releaseCandidate(_ batch: inout OutputBatch, _ events: inout [StreamEvent]) {
        inCandidate = false
        let held = candidate
        candidate.removeAll(keepingCapacity: true)
        held.withUnsafeBufferPointer { emitPlain($0, &batch, &events) }
        atLineStart = held.last == 0x0A
    }

    /// Plain text to the processor, counting reply markers on the way.
    private mutating func emitPlain(_ bytes: UnsafeBufferPointer<UInt8>, _ batch: inout OutputBatch,
                                    _ events: inout [StreamEvent]) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var k = 0
        let n = bytes.count
        // Finish a marker split across feeds.
        while markerProgress > 0 && k < n {
            let expected: UInt8 = markerProgress == 1 ? 0x9D : 0xAF
            if base[k] == expected {
                k += 1
                markerProgress += 1
                if markerProgress == 3 { events.append(.replyMarker); markerProgress = 0 }
            } else {
                markerProgress = 0
            }
        }
        // Look for the marker's last byte: its first, 0xE2, starts every U+2000-U+2FFF scalar
        // (✓, →, ●, ...), so searching for that would stop several times a line.
        while k < n, let last = find(0xAF, in: bytes, from: max(k, 2), to: n) {
            if last - 2 >= k && base[last - 2] == 0xE2 && base[last - 1] == 0x9D { events.append(.replyMarker) }
            k = last + 1
        }
        // The feed may end inside a marker.
        if k <= n - 2 && base[n - 2] == 0xE2 && base[n - 1] == 0x9D {
            markerProgress = 2
        } else if k <= n - 1 && base[n - 1] == 0xE2 {
            markerProgress = 1
        }
        processor.feed(UnsafeRawBufferPointer(bytes), into: &batch)
    }

    /// Plain mode: the open line is the agent's bare reply marker (`❯ `, waiting for a prompt).
    /// The prompt the host just delivered takes its place: the marker line is dropped here (the
    /// host shows `❯ prompt` instead) and the reply starts a line of its own. True when dropped.
    public mutating func absorbReplyMarker() -> Bool {
        guard mode == .plain, !inCandidate, markerProgress == 0, processor.openLineIs(Self.marker) else { return false }
        processor.dropOpenLine()
        atLineStart = true
        return true
    }

    static let marker: [UInt8] = [0xE2, 0x9D, 0xAF]

    // MARK: Framed

    /// The writer went away for good (its agent exited): what it left unfinished ends here. A
    /// held-back line or half frame is shown as the text it is, the open line is finished, so the
    /// next agent's first frame or line is never glued onto the dead one's fragment.
    public mutating func endWriter(into batch: inout OutputBatch) {
        if !frame.isEmpty {
            frame.withUnsafeBytes { processor.feed($0, into: &batch) }
            frame.removeAll(keepingCapacity: false)
        }
        if inCandidate || !candidate.isEmpty {
            candidate.withUnsafeBytes { processor.feed($0, into: &batch) }
            candidate.removeAll(keepingCapacity: false)
            inCandidate = false
        }
        passingThrough = false
        markerProgress = 0
        atLineStart = true
        processor.endWriter(into: &batch)
    }

    private mutating func feedFramed(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ batch: inout OutputBatch,
                                     _ events: inout [StreamEvent]) -> Slice<UnsafeBufferPointer<UInt8>> {
        var i = bytes.startIndex
        let end = bytes.endIndex
        let base = bytes.base
        while i < end {
            let nl = find(0x0A, in: base, from: i, to: end)
            let lineEnd = nl ?? end
            if passingThrough {
                // Rest of an overlong line: shown as text as it comes.
                processor.feed(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: base[i..<(nl.map { $0 + 1 } ?? end)])), into: &batch)
                if nl != nil { passingThrough = false }
            } else if frame.count + (lineEnd - i) > maxFrameBytes {
                frame.withUnsafeBytes { processor.feed($0, into: &batch) }
                frame.removeAll(keepingCapacity: false)
                processor.feed(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: base[i..<(nl.map { $0 + 1 } ?? end)])), into: &batch)
                passingThrough = nl == nil
            } else if let nl {
                if frame.isEmpty {
                    handleFrame(UnsafeBufferPointer(rebasing: base[i..<nl]), &batch, &events)
                } else {
                    frame.append(contentsOf: UnsafeBufferPointer(rebasing: base[i..<nl]))
                    let line = frame
                    frame.removeAll(keepingCapacity: true)
                    line.withUnsafeBufferPointer { handleFrame($0, &batch, &events) }
                }
                if pausedAtFrame { return base[(nl + 1)...] }
            } else {
                frame.append(contentsOf: UnsafeBufferPointer(rebasing: base[i..<end]))
            }
            i = nl.map { $0 + 1 } ?? end
        }
        return base[end...]
    }

    private mutating func handleFrame(_ line: UnsafeBufferPointer<UInt8>, _ batch: inout OutputBatch,
                                      _ events: inout [StreamEvent]) {
        // Blank lines (also a lone \r) carry nothing.
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }
        switch AgentMessage.decode(line: line) {
        case .success(.chunk(let id, let data)):
            if !openIds.contains(id) {
                openIds.append(id)
                if openIds.count > 64 { openIds.removeFirst() }
                events.append(.chunkStarted(id: id))
            }
            var data = data
            data.withUTF8 { processor.feed(UnsafeRawBufferPointer($0), into: &batch) }
        case .success(.done(let id, let status, let exit)):
            openIds.removeAll { $0 == id }
            // The reply is over: a last line without its newline ends here, so what comes next
            // (the next prompt's line, the next reply) is not glued onto it.
            processor.endLine(into: &batch)
            events.append(.done(id: id, status: status, exit: exit))
        case .success(.heartbeat(let ts)):
            events.append(.heartbeat(ts: ts))
        case .success(.notice(let text)):
            // Agent-supplied text shown in the UI: controls become `?`, like chunk data is sanitized.
            events.append(.notice(InstanceScanner.displayName(text)))
        case .success(.hello(_, _, let version, let pid)):
            openIds.removeAll()
            events.append(.hello(pid: pid, version: InstanceScanner.displayName(version)))
        case .success(.claude(let frame)):
            events.append(.claude(frame))
            pausedAtFrame = true
        case .failure:
            processor.feed(UnsafeRawBufferPointer(line), into: &batch)
            processor.feed([0x0A], into: &batch)
        }
    }

    // MARK: Helpers

    /// The index of the first `byte` in base[from..<to], via memchr.
    private func find(_ byte: UInt8, in base: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        guard from < to, let start = base.baseAddress else { return nil }
        guard let hit = memchr(start + from, Int32(byte), to - from) else { return nil }
        return start.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }
}
