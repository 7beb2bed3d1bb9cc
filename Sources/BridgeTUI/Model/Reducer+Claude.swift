// Reducer+Claude: what the frames of an agent in Claude stream-json mode do to the screen: a tool
// call becomes one line (its outcome filled in when the result comes, expandable in place), a
// turn result a footer line and the session's cost, a permission request the approval overlay
// (when the instance is in view and no text is being typed) or a badge and a notification; and
// the approval keys: allow once, allow the tool for the session, deny with an optional reason.
// Nothing is approved by default: Esc leaves the request pending.

import BridgeCore

extension AppState {
    mutating func reduceClaude(_ name: String, _ frame: ClaudeFrame, at time: Double) -> [Effect] {
        if instance(named: name) == nil { return [] }
        let theme = self.theme
        let inView = activeInstance?.name == name
        let pane = outputPane
        var effects: [Effect] = []
        withInstance(name) { $0.transcript.isClaude = true }
        switch frame {
        case .session(let info):
            let model = ClaudeTranscript.oneLine(info.model, limit: 40)
            withInstance(name) {
                $0.streamState = "Claude" + (model.isEmpty ? "" : " \(model)") + (info.resumed ? " (resumed session)" : "") + " · stream-json"
            }
        case let .toolUse(id, tool):
            withInstance(name) { instance in
                instance.classifyTranscript()
                let head = HistoryLines.line(ClaudeTranscript.toolHead(name: tool.name, summary: tool.summary), style: TextStyle(), at: time)
                let first = instance.scrollback.endLineNumber - (instance.scrollback.lastIsOpen && !instance.scrollback.isEmpty ? 1 : 0)
                instance.noteInserted(at: first, count: 1)
                let line = instance.insertFinishedLines([head], height: pane.rows, width: pane.cols)
                instance.transcript.tools.append(ToolCall(toolID: tool.toolID, turnID: id, line: line, startedAt: time))
                instance.trimTools()
            }
        case let .toolResult(id, result):
            withInstance(name) { instance in
                if instance.transcript.tools.lastIndex(where: { $0.toolID == result.toolID }) == nil {
                    // A result whose use was never seen (trimmed, or arrived before we read): its own line.
                    instance.classifyTranscript()
                    let head = HistoryLines.line(ClaudeTranscript.toolHead(name: "tool", summary: ""), style: TextStyle(), at: time)
                    let first = instance.scrollback.endLineNumber - (instance.scrollback.lastIsOpen && !instance.scrollback.isEmpty ? 1 : 0)
                    instance.noteInserted(at: first, count: 1)
                    let line = instance.insertFinishedLines([head], height: pane.rows, width: pane.cols)
                    var call = ToolCall(toolID: result.toolID, turnID: id, line: line, startedAt: time)
                    call.useSeen = false
                    instance.transcript.tools.append(call)
                    instance.trimTools()
                }
                guard let i = instance.transcript.tools.lastIndex(where: { $0.toolID == result.toolID }) else { return }
                instance.transcript.tools[i].finished = true
                instance.transcript.tools[i].isError = result.isError
                if instance.transcript.tools[i].useSeen {
                    instance.transcript.tools[i].seconds = max(0, time - instance.transcript.tools[i].startedAt)
                }
                instance.transcript.tools[i].resultLines = max(0, result.lines)
                instance.transcript.tools[i].excerpt = ClaudeTranscript.lines(result.excerpt)
            }
        case let .result(_, result):
            withInstance(name) { instance in
                instance.classifyTranscript()
                let first = instance.scrollback.endLineNumber - (instance.scrollback.lastIsOpen && !instance.scrollback.isEmpty ? 1 : 0)
                instance.noteInserted(at: first, count: 1)
                _ = instance.insertFinishedLines([TranscriptLines.footer(result, theme: theme, at: time)], height: pane.rows, width: pane.cols)
                instance.transcript.inFence = false
                if result.sessionCostUSD.isFinite, result.sessionCostUSD >= 0 { instance.transcript.costUSD = result.sessionCostUSD }
            }
        case let .permission(id, request):
            let approval = ApprovalRequest(turnID: id, requestID: request.requestID, tool: request.tool,
                                           summary: request.summary, input: request.input, at: time)
            withInstance(name) { instance in
                instance.transcript.approvals.removeAll { $0.requestID == request.requestID }
                instance.transcript.approvals.append(approval)
                if instance.transcript.approvals.count > TranscriptState.maxApprovals { instance.transcript.approvals.removeFirst() }
            }
            let tool = ClaudeTranscript.oneLine(request.tool, limit: 40)
            if inView && (focus == .list || focus == .output) {
                approvalInstance = name
                focusStack.push(.approval)
            } else if inView {
                // Typing (or another overlay) keeps the keys: the request waits for `p` from the list.
                let leave = focus.isTextEntry ? "\(keymap.label(for: .leavePrompt) ?? "Esc"), then " : ""
                info("\(name) asks to use \(tool): \(leave)\(keymap.label(for: .showApproval) ?? "p") answers")
            } else {
                effects += notify("\(name) waits for your approval: \(tool)")
            }
        case .rateLimit(let limit):
            let status = ClaudeTranscript.oneLine(limit.status, limit: 40)
            let kind = ClaudeTranscript.oneLine(limit.kind, limit: 40)
            var text = "\(name): Claude rate limit \(status)" + (kind.isEmpty ? "" : " (\(kind))")
            if let at = limit.resetsAt, at.isFinite, at > 0, at < 1e11 { text += ", resets at " + TimeFormat.clock(at + Double(timeZoneOffset)) }
            status == "allowed" ? info(text) : error(text)
        case .stalled:
            break
        }
        return effects
    }

    /// Opens the approval overlay for the selected instance's oldest waiting request.
    mutating func showApproval() {
        guard let active = activeInstance else { info("no instance selected"); return }
        guard !active.transcript.approvals.isEmpty else { info("\(active.name) waits for no approval"); return }
        approvalInstance = active.name
        focusStack.push(.approval)
    }

    /// The request the approval overlay shows.
    var shownApproval: (instance: String, request: ApprovalRequest)? {
        guard let name = approvalInstance, let request = instance(named: name)?.transcript.approvals.first else { return nil }
        return (name, request)
    }

    mutating func performApproval(_ command: Command) -> [Effect] {
        switch command {
        case .showApproval:
            showApproval()
            return []
        case .allowOnce, .allowSession, .denyApproval, .sendDenial:
            break
        default:
            return []
        }
        guard let (name, request) = shownApproval else {
            if focus == .approval || focus == .approvalReason { focusStack.popOverlays(); closeApprovalFields() }
            info("no approval waits")
            return []
        }
        let behavior: PermissionBehavior
        var message = ""
        switch command {
        case .allowOnce: behavior = .allow
        case .allowSession: behavior = .allowSession
        case .denyApproval:
            // The reason is optional: the field opens; Enter sends the denial with what it holds.
            entry = LineEditor()
            focusStack.push(.approvalReason)
            return []
        default:
            behavior = .deny
            message = String(entry.text.prefix(1000))
        }
        withInstance(name) { $0.transcript.approvals.removeAll { $0.requestID == request.requestID } }
        closeApprovalFields()
        let tool = ClaudeTranscript.oneLine(request.tool, limit: 40)
        switch behavior {
        case .allow: info("\(name): allowed \(tool) once")
        case .allowSession: info("\(name): allowed \(tool) for this session")
        case .deny: info("\(name): denied \(tool)" + (message.isEmpty ? "" : ": " + ClaudeTranscript.oneLine(message, limit: 60)))
        }
        // The next request of the same instance, if any, shows at once.
        if instance(named: name)?.transcript.approvals.isEmpty == false { focusStack.push(.approval); approvalInstance = name }
        return [.answerPermission(instance: name, requestID: request.requestID, behavior: behavior, message: message)]
    }

    /// Closes the approval overlay and its reason field.
    mutating func closeApprovalFields() {
        if focus == .approvalReason { focusStack.pop(); entry = LineEditor() }
        if focus == .approval { focusStack.pop() }
    }

    /// Turns that ended: their approvals go (Claude no longer asks); on an instance not in view it
    /// needs attention and the user is told.
    mutating func turnsEnded(_ name: String, _ changed: [Turn]) -> [Effect] {
        guard let current = instance(named: name) else { return [] }
        let ended = changed.filter { turn in
            !turn.status.isOpen && current.turns.contains { $0.id == turn.id && $0.status.isOpen }
        }
        guard !ended.isEmpty else { return [] }
        let ids = Set(ended.map(\.id))
        withInstance(name) { $0.transcript.approvals.removeAll { ids.contains($0.turnID) } }
        if focus == .approval || focus == .approvalReason, shownApproval == nil { closeApprovalFields() }
        guard activeInstance?.name != name, let last = ended.last else { return [] }
        withInstance(name) { $0.transcript.needsAttention = true }
        return notify("\(name): turn \(last.status.rawValue)")
    }

    /// Instances that turned unhealthy since the last report are told about.
    mutating func healthChanged(_ perInstance: [String: InstanceHealth]) -> [Effect] {
        var effects: [Effect] = []
        for instance in instances {
            // From healthy or degraded: an instance unknown so far (just found) is no news.
            guard let new = perInstance[instance.name], new.level == .unhealthy,
                  instance.health.level == .healthy || instance.health.level == .degraded else { continue }
            effects += notify("\(instance.name) is unhealthy" + (new.reason.isEmpty ? "" : ": \(new.reason)"))
        }
        return effects
    }
}

extension InstanceState {
    /// Keeps the tool calls bounded and drops those whose line left the scrollback.
    mutating func trimTools() {
        let floor = firstLine
        if let first = transcript.tools.first, first.line < floor { transcript.tools.removeAll { $0.line < floor } }
        if transcript.tools.count > TranscriptState.maxTools { transcript.tools.removeFirst(transcript.tools.count - TranscriptState.maxTools) }
    }

    /// Expands or collapses the tool result nearest line `n`; returns whether it is now expanded.
    mutating func toggleTool(near n: Int) -> Bool? {
        guard let i = transcript.toolNearest(n) else { return nil }
        transcript.tools[i].expanded.toggle()
        return transcript.tools[i].expanded
    }
}
