// Reducer: the only place AppState changes. Pure: the same state and action always give the
// same new state and effects (time comes in through `tick`, prompt ids from a counter).
// This file is the router: every Action and every Command goes to the file of its feature
// (Reducer+Input, +General, +Navigation, +Output, +Search, +Prompt, +Overlays, +EngineEvents).

import BridgeCore

/// Applies one action; returns what the runtime must do.
public func reduce(state: inout AppState, action: Action) -> [Effect] {
    let effects = route(state: &state, action: action)
    return effects + state.settle()
}

private func route(state: inout AppState, action: Action) -> [Effect] {
    switch action {
    case .key(let event): return state.handleKey(event)
    case .paste(let text): state.applyPaste(text); return []
    case .pasteRefused(let bytes): state.error(PromptText.sizeRefusal(bytes, what: "paste") ?? ""); return []
    case .mouse(let event): return state.handleMouse(event)
    case .resize(let rows, let cols): state.resize(rows: rows, cols: cols); return []
    case .instancesChanged(let infos): state.updateInstances(infos); return []
    case .hostsChanged(let hosts): state.hosts = hosts; return []
    case .instanceRemoved(let name, let grace): state.removeGoneInstance(name, after: grace); return []
    case .output(let name, let batch):
        state.appendOutput(name, batch)
        state.withInstance(name) { $0.classifyTranscript() }
        return []
    case .sendResult(let name, let id, let error): state.handleSendResult(name, id, error); return []
    case .queueChanged(let name, let count): state.handleQueueChanged(name, count); return []
    case .historyRestored(let name, let turns, let inputs, let queue):
        state.restoreHistory(name, turns: turns, inputs: inputs, queue: queue)
        return []
    case .turnsChanged(let name, let turns):
        let effects = state.turnsEnded(name, turns)
        state.withInstance(name) { $0.upsertTurns(turns) }
        return effects
    case .outboxChanged(let name, let entries): state.handleOutboxChanged(name, entries); return []
    case .sendQueued(let name, let id, let reason): state.handleSendQueued(name, id, reason); return []
    case .promptAccepted, .agentLifecycle, .activityChanged, .marker: return state.reduceSession(action)
    case .healthUpdated(let rows, let perInstance):
        let effects = state.healthChanged(perInstance)
        state.handleHealth(rows, perInstance)
        return effects
    case .claude(let name, let frame, let time): return state.reduceClaude(name, frame, at: time)
    case .streamState(let name, let text): state.withInstance(name) { $0.streamState = text }; return []
    case .tick(let now): state.tick(now); return state.notifications.flush(now: now)
    case .notice(let message): state.status = message; return []
    case .command(let command): return state.perform(command)
    }
}

extension AppState {
    static let statusSeconds = 5.0
    static let maxTurnStarts = 200
    static let maxClipboardBytes = 64 << 10

    /// Runs a named command: one case per command, each handled in its feature's file.
    mutating func perform(_ command: Command) -> [Effect] {
        switch command {
        case .quit, .toggleHealth, .refreshHealth, .toggleMouse, .suspend:
            return performGeneral(command)
        case .selectNext, .selectPrevious, .focusOutput, .focusList, .toggleFocus, .attach, .detach:
            return performNavigation(command)
        case .scrollUp, .scrollDown, .pageUp, .pageDown:
            return focus.isOverlay ? performOverlay(command) : performOutput(command)
        case .halfPageUp, .halfPageDown, .scrollTop, .followTail, .scrollLeft, .scrollRight,
             .toggleWrap, .toggleTimestamps, .clearPane, .undoClear, .saveScrollback, .copyTurn, .interrupt,
             .toggleToolOutput:
            return performOutput(command)
        case .showApproval, .allowOnce, .allowSession, .denyApproval, .sendDenial:
            return performApproval(command)
        case .search, .filter, .confirmInput, .cancelInput, .nextMatch, .previousMatch, .toggleRegex:
            return performSearch(command)
        case .enterPrompt, .leavePrompt, .submitPrompt, .insertNewline, .cancelPrompt,
             .cursorLeft, .cursorRight, .lineStart, .lineEnd, .wordLeft, .wordRight,
             .deleteBackward, .deleteForward, .killToEnd, .killToStart, .killWordBackward:
            return performPrompt(command)
        case .historyPrevious, .historyNext:
            // The search and filter fields keep their own history.
            return (focus == .search || focus == .filter) ? performSearch(command) : performPrompt(command)
        case .toggleHelp, .closeOverlay, .toggleOutbox, .cancelQueued, .toggleTurns, .jumpToTurn, .resendTurn:
            return performOverlay(command)
        }
    }

    // MARK: - Shared helpers

    mutating func info(_ text: String) {
        status = StatusMessage(text, kind: .info, expires: now + AppState.statusSeconds)
    }

    mutating func error(_ text: String) {
        status = StatusMessage(text, kind: .error, expires: now + 2 * AppState.statusSeconds)
    }

    mutating func withInstance(_ name: String, _ body: (inout InstanceState) -> Void) {
        guard let index = instances.firstIndex(where: { $0.name == name }) else { return }
        body(&instances[index])
    }

    mutating func withActive(_ body: (inout InstanceState) -> Void) {
        guard let index = activeIndex else { return }
        body(&instances[index])
    }

    /// The focus with attach mode taken into account (there is no list to focus when attached).
    var effectiveFocus: Focus { (focus == .list && isAttached) ? .output : focus }

    var outputPane: Rect { layout.output }
}
