// WireFramer: turns what the reply engines report (output bytes, turn ends, notices) into the
// bytes of one wire protocol. Plain speaks like the upstream agent: raw bytes and a `❯ ` marker
// after each reply, our own notices as `[cc-bridge-agent] …` lines. jsonl writes one
// `ccb-jsonl/1` message per line, encoded by BridgeCore's AgentMessage.

import BridgeCore

public enum AgentEvent: Sendable, Equatable {
    /// Reply output; `turn` is nil when it belongs to no prompt (a persistent child's banner).
    case output(turn: String?, bytes: [UInt8])
    case done(turn: String, status: DoneStatus, exit: Int32)
    case notice(String)
    /// A frame of the Claude stream-json mode (jsonl; plain shows it as a notice line).
    case claude(ClaudeFrame)
}

public struct WireFramer: Sendable {
    public static let marker = "❯ "
    public static let noticePrefix = "[cc-bridge-agent] "
    public static let agentName = "cc-bridge-agent"
    public static let version = "0.1.0"

    public let wire: WireProtocol
    /// Plain mode: whether a `❯ ` marker follows each turn (not for --persistent, whose child
    /// prints its own prompt, as Claude Code does).
    public let plainMarkers: Bool
    private var atLineStart = true
    private var chunker = UTF8Chunker()
    private var chunkerTurn: String?

    public init(wire: WireProtocol, plainMarkers: Bool) {
        self.wire = wire
        self.plainMarkers = plainMarkers
    }

    public mutating func frames(for event: AgentEvent) -> [OutputFrame] {
        switch wire {
        case .plain: return plainFrames(for: event)
        case .jsonl: return jsonFrames(for: event)
        }
    }

    public func hello(pid: Int32) -> OutputFrame {
        control(.hello(protocol: framedProtocolName, agent: WireFramer.agentName,
                       version: WireFramer.version, pid: Int(pid)))
    }

    public func heartbeat(ts: Double) -> OutputFrame { control(.heartbeat(ts: ts)) }

    public static func dropNoticeText(_ bytes: Int) -> String {
        "dropped \(bytes) bytes of output while no reader was attached"
    }

    /// The notice a (re)attached reader gets first when output was dropped. Plain: one line.
    public func dropNotice(bytes: Int) -> OutputFrame {
        let text = WireFramer.dropNoticeText(bytes)
        switch wire {
        case .plain: return OutputFrame(bytes: Array((WireFramer.noticePrefix + text + "\n").utf8), droppable: false)
        case .jsonl: return control(.notice(text: text))
        }
    }

    private mutating func plainFrames(for event: AgentEvent) -> [OutputFrame] {
        switch event {
        case .output(_, let bytes):
            guard let last = bytes.last else { return [] }
            // A bare colour change (ESC [ … m) does not move the cursor off the line start.
            if !(bytes.first == 0x1B && last == UInt8(ascii: "m") && !bytes.contains(UInt8(ascii: "\n"))) {
                atLineStart = last == UInt8(ascii: "\n")
            }
            return [OutputFrame(bytes: bytes, droppable: true)]
        case .done:
            guard plainMarkers else { return [] }
            let text = (atLineStart ? "" : "\n") + WireFramer.marker
            atLineStart = false
            return [OutputFrame(bytes: Array(text.utf8), droppable: true)]
        case .notice(let text):
            let line = (atLineStart ? "" : "\n") + WireFramer.noticePrefix + text + "\n"
            atLineStart = true
            return [OutputFrame(bytes: Array(line.utf8), droppable: true)]
        case .claude(let frame):
            return plainFrames(for: .notice(AgentMessage.claude(frame).encode()))
        }
    }

    private mutating func jsonFrames(for event: AgentEvent) -> [OutputFrame] {
        switch event {
        case .output(let turn, let bytes):
            var frames: [OutputFrame] = []
            if turn != chunkerTurn { frames += flushChunks() }
            chunkerTurn = turn
            for piece in chunker.feed(bytes) {
                frames.append(chunkFrame(turn: turn, data: piece))
            }
            return frames
        case .done(let turn, let status, let exit):
            var frames = flushChunks()
            frames.append(control(.done(id: turn, status: status, exit: Int(exit))))
            return frames
        case .notice(let text):
            return flushChunks() + [control(.notice(text: text))]
        case .claude(let frame):
            return flushChunks() + [control(.claude(frame))]
        }
    }

    private mutating func flushChunks() -> [OutputFrame] {
        let frames = chunker.flush().map { chunkFrame(turn: chunkerTurn, data: $0) }
        chunkerTurn = nil
        return frames
    }

    private func chunkFrame(turn: String?, data: String) -> OutputFrame {
        OutputFrame(bytes: Array((AgentMessage.chunk(id: turn ?? "", data: data).encode() + "\n").utf8),
                    droppable: true)
    }

    private func control(_ frame: AgentMessage) -> OutputFrame {
        OutputFrame(bytes: Array((frame.encode() + "\n").utf8), droppable: false)
    }
}
