// Action: everything that can happen to the TUI (input, engine events, named commands), and
// Effect: everything the reducer asks the runtime to do. The reducer stays pure.

import BridgeCore

public enum Action: Sendable, Equatable {
    // Input
    case key(KeyEvent)
    case paste(String)
    /// A paste over the limit, refused whole; `bytes` is its size.
    case pasteRefused(bytes: Int)
    case mouse(MouseEvent)
    case resize(rows: Int, cols: Int)
    // Engine events
    case instancesChanged([InstanceInfo])
    /// The remote hosts and how each one's connection stands (the list's header rows).
    case hostsChanged([HostHeader])
    /// A gone instance's pipes did not come back within `after` seconds: it leaves the list.
    case instanceRemoved(instance: String, after: Double)
    /// New output for an instance, packed as the OutputProcessor made it: with `replacesOpenLine`,
    /// the first line replaces the unfinished line shown last (it grew, or a `\r` redraw).
    case output(instance: String, batch: OutputBatch)
    case sendResult(instance: String, promptID: String, error: String?)
    case queueChanged(instance: String, count: Int)
    /// The instance's history file was loaded: earlier turns (open ones already marked failed),
    /// the prompt line's history, and the prompts still queued.
    case historyRestored(instance: String, turns: [Turn], inputs: [String], queue: [OutboxEntry])
    /// Turns the session tracker changed (new, streaming, finished).
    case turnsChanged(instance: String, turns: [Turn])
    /// The prompts waiting in the instance's outbox, oldest first.
    case outboxChanged(instance: String, entries: [OutboxEntry])
    /// A prompt found no agent listening and went to the outbox instead of being lost.
    case sendQueued(instance: String, promptID: String, reason: String)
    case healthUpdated([HealthRow], perInstance: [String: InstanceHealth])
    /// A prompt reached the agent: its `❯` line goes into the scrollback, as restored history
    /// shows it (see Reducer+Session).
    /// A prompt not typed in a TUI shows where it came from (`❯ [cli] text`).
    case promptAccepted(instance: String, promptID: String, text: String, at: Double, origin: PromptOrigin = .tui)
    /// A dim marker line in the instance's pane (e.g. the server restarted: output may be missing).
    case marker(instance: String, text: String, at: Double)
    /// The agent went away or came back: a marker line in the scrollback.
    case agentLifecycle(instance: String, change: AgentLifecycle, at: Double)
    case activityChanged(instance: String, activity: Activity)
    /// A frame of an agent in Claude stream-json mode (strings not yet sanitized).
    case claude(instance: String, frame: ClaudeFrame, at: Double)
    case streamState(instance: String, text: String)
    case tick(now: Double)
    /// The runtime's report about an effect it ran (a saved file, a copy, a failure).
    case notice(StatusMessage)
    /// A named command, as a key binding would run it.
    case command(Command)
}

public enum Effect: Hashable, Sendable {
    /// Write `text` (plus a newline) to the instance's in-FIFO; answer with `sendResult`.
    case send(instance: String, promptID: String, text: String)
    /// Send Ctrl-C (0x03) to the instance's in-FIFO.
    case interrupt(instance: String)
    /// Write the instance's scrollback (see `ScrollbackExport`) to `path`; answer with `notice`.
    case saveScrollback(instance: String, path: String)
    /// Put text on the clipboard through OSC 52 (only ever on an explicit request).
    case copyToClipboard(String)
    case refreshHealth
    /// Cancel a prompt waiting in the instance's outbox; answer with `outboxChanged`.
    case cancelQueued(instance: String, id: String)
    case quit
    /// Turn SGR mouse reporting on or off.
    case setMouse(Bool)
    /// Job control, as Ctrl-Z in a shell: give the terminal back, stop the job, re-establish
    /// everything when continued.
    case suspend
    /// Answer a Claude permission request on the instance's in-FIFO.
    case answerPermission(instance: String, requestID: String, behavior: PermissionBehavior, message: String)
    /// Tell the user (`tui.notify`: bell, OSC 9, OSC 777 or nothing); the text names the instance.
    case notify(String)
    /// Set the terminal's title (OSC 2); the backend restores the old one on exit.
    case setTitle(String)
}
