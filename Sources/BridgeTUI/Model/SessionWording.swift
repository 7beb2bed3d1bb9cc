// SessionWording: every word the TUI says about a session event, in one place: status messages
// (with how long they stay), the scrollback's lifecycle markers, and the activity word.
// BridgeCore reports facts (SessionEvent); what a user reads is decided here.

import BridgeCore

public enum SessionWording {
    /// The status message for a hub notice, with how long it stays.
    public static func message(_ notice: SessionNotice, instance: String, now: Double) -> StatusMessage {
        switch notice {
        case .historyWarning(let text):
            StatusMessage("history of \(instance): \(text)", kind: .info, expires: now + 10)
        case .historyWriteFailed(let text):
            StatusMessage("\(instance): \(text)", kind: .error, expires: now + 15)
        case .queuedDelivered(let count):
            StatusMessage("delivered \(count) queued prompt\(count == 1 ? "" : "s") to \(instance)", kind: .info, expires: now + 5)
        case .queuedNotDelivered(let text):
            StatusMessage("queued prompt for \(instance) not delivered: \(text); will retry", kind: .error, expires: now + 10)
        case .interruptFailed(let text):
            StatusMessage("interrupt not delivered: \(text)", kind: .error)
        case .answerFailed(let text):
            StatusMessage("\(instance): the answer to the permission request was not delivered: \(text)", kind: .error, expires: now + 15)
        case .interruptUnsupported:
            StatusMessage("\(instance): this agent cannot be interrupted (plain protocol, not cc-bridge-agent); nothing sent",
                          kind: .error, expires: now + 15)
        case .readerRefused(let text):
            StatusMessage("not reading \(text)", kind: .error, expires: now + 15)
        }
    }

    /// The protocol an instance's stream is read as, named as a protocol in its title.
    public static func protocolName(_ mode: StreamMode) -> String {
        mode == .framed ? "framed protocol (ccb-jsonl/1)" : "plain protocol"
    }

    /// Why a prompt went to the outbox.
    public static func queueReason(_ reason: QueueReason) -> String {
        switch reason {
        case .agentNotListening: "agent not listening"
        case .pipesGone: "its pipes are gone for now (an agent restarting?)"
        case .behind(let n): "\(n) earlier prompt\(n == 1 ? "" : "s") waiting"
        }
    }

    /// The one-line marker the scrollback shows; `turnNumber` is the interrupted turn's number.
    public static func marker(_ change: AgentLifecycle, turnNumber: Int?) -> String? {
        switch change {
        case .exited(let turn, let why):
            var text = "── agent exited"
            if why == .pipesGone { text += " (its pipes are gone)" }
            if turn != nil { text += turnNumber.map { " · turn \($0) interrupted" } ?? " · the open turn was interrupted" }
            return text + " ──"
        case .back(let restarted):
            return restarted ? "── agent back (restarted) ──" : "── agent back ──"
        case .seen:
            return nil
        }
    }

    /// The title's word for a paused view: the new lines still held, and those trimmed since it paused.
    public static func pausedIndicator(new: Int, dropped: Int) -> String {
        "paused, \(PromptText.grouped(new)) new line\(new == 1 ? "" : "s")"
            + (dropped > 0 ? ", \(PromptText.grouped(dropped)) dropped" : "")
    }

    /// The row above the oldest line a paused view still holds, once older ones were trimmed.
    public static func droppedMarker(_ dropped: Int) -> String {
        "── \(PromptText.grouped(dropped)) line\(dropped == 1 ? "" : "s") dropped while paused ──"
    }

    /// The status line when a gone instance is removed; `nowShowing` when it was the selected one.
    public static func removed(_ name: String, after grace: Double, nowShowing: String?) -> String {
        let seconds = grace == grace.rounded() ? String(Int(grace)) : String(grace)
        var text = "\(name) removed: its pipes did not come back within \(seconds) s"
        if let nowShowing { text += "; now showing \(nowShowing)" }
        return text
    }

    /// The activity as the instance list shows it, short; nil for idle (and for a queue, which the
    /// list counts itself).
    public static func listActivity(_ activity: Activity) -> String? {
        switch activity {
        case .idle, .queued: nil
        case .sending: "sending"
        case .working: "working"
        case .agentDown: "down"
        case .agentRestarted: "restarted"
        case .waitingForApproval: "approve?"
        case .stalled: "stalled"
        case .failed: "failed"
        }
    }

    public static func activity(_ activity: Activity) -> String {
        switch activity {
        case .idle: "idle"
        case .sending: "sending…"
        case .working: "working"
        case .queued(let n): "\(n) queued"
        case .agentDown: "agent down"
        case .agentRestarted: "agent restarted"
        case .waitingForApproval(let n): n == 1 ? "waiting for approval" : "\(n) approvals waiting"
        case .stalled(let seconds): "stalled \(seconds) s"
        case .failed: "failed"
        }
    }
}
