// EchoEngine: `--echo` replies with the prompt itself, at once. Plain bytes of a reply to
// `hello`: "hello\n❯ " (the marker comes from WireFramer); jsonl: one chunk "hello" and done ok.

import BridgeCore

public final class EchoEngine: ReplyEngine {
    public init() {}
    public var canStart: Bool { true }
    public var runningTurn: String? { nil }

    public func start(_ prompt: Prompt, context: EngineContext) {
        context.emit(.output(turn: prompt.id, bytes: Array(prompt.text.utf8)))
        context.emit(.done(turn: prompt.id, status: .ok, exit: 0))
    }

    public func interrupt(context: EngineContext) {}
    public func tick(context: EngineContext) {}
    public func nextDeadline() -> Double? { nil }
}
