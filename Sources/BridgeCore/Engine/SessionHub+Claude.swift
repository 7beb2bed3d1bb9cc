// SessionHub+Claude: the session policy for an agent in Claude stream-json mode. Its frames are
// facts the hub keeps per instance: permission requests waiting for the user (activity "waiting
// for approval", and the turn never times out meanwhile), the watchdog's stall, the turn result's
// error flag ("failed"), and tool calls and turn footers written into the turn's history as
// transcript lines (ClaudeTranscript), so a restored session reads like the live one. The answer
// to a permission request goes through the instance's one PromptDelivery, like every prompt.

extension SessionHub {
    func claudeFrame(_ session: InstanceSession, _ frame: ClaudeFrame, at now: Double) {
        if case .stalled = frame {} else { session.stalledSeconds = nil }
        switch frame {
        case .session, .rateLimit:
            break
        case let .toolUse(id, tool):
            if session.toolsRunning.count >= InstanceSession.maxToolsRunning,
               let oldest = session.toolsRunning.min(by: { $0.value.at < $1.value.at })?.key {
                session.toolsRunning[oldest] = nil
            }
            session.toolsRunning[tool.toolID] = (tool.name, tool.summary, now)
            session.tracker.turnProgress(id: id, at: now)
        case let .toolResult(id, result):
            let started = session.toolsRunning.removeValue(forKey: result.toolID)
            let line = ClaudeTranscript.toolLine(name: started?.name ?? "tool", summary: started?.summary ?? "",
                                                 isError: result.isError, seconds: started.map { now - $0.at },
                                                 lines: result.lines)
            sessionChanged(session, session.tracker.transcriptLine(line, turnID: id, at: now))
        case let .result(id, result):
            session.failedResultTurn = result.isError ? id : nil
            sessionChanged(session, session.tracker.transcriptLine(ClaudeTranscript.footer(result), turnID: id, at: now))
        case let .permission(id, request):
            session.approvals.removeAll { $0.request.requestID == request.requestID }
            session.approvals.append(PendingApproval(turnID: id, request: request))
            if session.approvals.count > InstanceSession.maxApprovals { session.approvals.removeFirst() }
            session.tracker.awaitingUser.insert(id)
            session.tracker.turnProgress(id: id, at: now)
        case let .stalled(_, seconds):
            session.stalledSeconds = seconds
        }
    }

    /// The permission requests of an instance that wait for an answer, oldest first.
    public func approvals(of instance: String) -> [PendingApproval] { sessions[instance]?.approvals ?? [] }

    /// Answers Claude's permission request `requestID` (allow once, allow the tool for the
    /// session, or deny with `message`). Nothing is ever answered by default. Returns false when
    /// no such request waits (already answered, or its turn ended).
    @discardableResult
    public func answerPermission(instance: String, requestID: String, behavior: PermissionBehavior, message: String) -> Bool {
        guard let session = sessions[instance],
              let index = session.approvals.firstIndex(where: { $0.request.requestID == requestID }) else { return false }
        let approval = session.approvals.remove(at: index)
        if !session.approvals.contains(where: { $0.turnID == approval.turnID }) {
            session.tracker.awaitingUser.remove(approval.turnID)
            session.tracker.turnProgress(id: approval.turnID, at: Self.now())
        }
        answerCounter += 1
        engine.sendMessage(.permissionAnswer(id: approval.turnID, requestID: requestID, behavior: behavior,
                                             message: message),
                           to: instance, promptID: "\(Self.answerPrefix)\(answerCounter)")
        updateActivity(session)
        scheduleSessionTick()
        return true
    }

    static let answerPrefix = "answer-"

    /// Drops approvals whose turn is over (it ended, failed, was interrupted, or the agent went
    /// away): Claude no longer waits for them.
    func pruneApprovals(_ session: InstanceSession) {
        let before = session.approvals.count
        session.approvals.removeAll { approval in
            guard let turn = session.tracker.turn(id: approval.turnID) else { return session.liveness.state == .down }
            return !turn.status.isOpen || session.liveness.state == .down
        }
        if session.approvals.count != before {
            let waiting = Set(session.approvals.map(\.turnID))
            session.tracker.awaitingUser = session.tracker.awaitingUser.intersection(waiting)
        }
    }

    /// How the last finished turn ended badly, for the `failed` activity (every protocol).
    func lastTurnFailed(_ session: InstanceSession) -> Bool {
        guard let last = session.tracker.lastFinishedTurn else { return false }
        if last.id == session.failedResultTurn { return true }
        return last.status == .failed || last.status == .timeout
    }
}
