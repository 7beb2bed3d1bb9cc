// ScriptEngine: `--script` plays one reply of a Script per prompt, cycling through the replies,
// with the pauses the script asks for. An interrupt aborts the reply (resetting colours).

import BridgeCore

public final class ScriptEngine: ReplyEngine {
    let script: Script
    private var promptNumber = 0
    private var turn: Prompt?
    private var actions: [Script.Action] = []
    private var index = 0
    private var resumeAt = 0.0
    private var coloured = false

    public init(script: Script) { self.script = script }

    public var canStart: Bool { turn == nil }
    public var runningTurn: String? { turn?.id }

    public func start(_ prompt: Prompt, context: EngineContext) {
        turn = prompt
        actions = script.actions(forPromptNumber: promptNumber, prompt: prompt.text)
        promptNumber += 1
        index = 0
        resumeAt = context.now()
        coloured = false
        tick(context: context)
    }

    public func interrupt(context: EngineContext) {
        guard let turn else { return }
        if coloured { context.emit(.output(turn: turn.id, bytes: Array("\u{1B}[0m".utf8))) }
        finish(.interrupted, exit: interruptedExitCode, context: context)
    }

    public func tick(context: EngineContext) {
        guard let turn else { return }
        while index < actions.count {
            if context.now() < resumeAt || context.outputBacklogged { return }
            let action = actions[index]
            index += 1
            switch action {
            case .write(let bytes):
                if bytes.first == 0x1B, bytes.last == UInt8(ascii: "m") { coloured = bytes != Array("\u{1B}[0m".utf8) }
                context.emit(.output(turn: turn.id, bytes: bytes))
            case .wait(let ms):
                resumeAt = context.now() + Double(ms) / 1000
            case .crash(let code):
                // The agent exits; this reply never ends, as with a real crash.
                self.turn = nil
                actions = []
                context.crash(code: code)
                return
            }
        }
        finish(.ok, exit: 0, context: context)
    }

    public func nextDeadline() -> Double? { turn == nil ? nil : resumeAt }

    private func finish(_ status: DoneStatus, exit: Int32, context: EngineContext) {
        guard let turn else { return }
        self.turn = nil
        actions = []
        context.emit(.done(turn: turn.id, status: status, exit: exit))
    }
}
