// SessionActions: turns the session hub's events into the reducer's actions. Pure; the words
// come from SessionWording.

import BridgeCore

enum SessionActions {
    static func actions(for event: SessionEvent, now: Double) -> [Action] {
        switch event {
        case .instancesChanged(let list, let directoryError):
            return [.instancesChanged(list)] + (directoryError.map { [.notice(StatusMessage($0, kind: .error))] } ?? [])
        case .instanceRemoved(let name, let grace):
            return [.instanceRemoved(instance: name, after: grace)]
        case .output(let name, let batch):
            return [.output(instance: name, batch: batch)]
        case .stream(let name, let event):
            switch event {
            case .modeChanged(let mode):
                return [.streamState(instance: name, text: SessionWording.protocolName(mode))]
            case .notice(let text):
                return [.streamState(instance: name, text: text)]
            case .claude(let frame):
                return [.claude(instance: name, frame: frame, at: now)]
            case .hello, .chunkStarted, .done, .heartbeat, .replyMarker:
                return []
            }
        case .attachment(let name, let attachment):
            switch attachment {
            // Until an agent says `hello`, the stream is read as the plain protocol.
            case .attached: return [.streamState(instance: name, text: SessionWording.protocolName(.plain))]
            case .reattaching(let why): return [.streamState(instance: name, text: why)]
            case .failed(let why): return [.streamState(instance: name, text: "error: \(why)")]
            }
        case .historyRestored(let name, let turns, let inputs, let queue):
            return [.historyRestored(instance: name, turns: turns, inputs: inputs, queue: queue)]
        case .promptAccepted(let name, let id, let text, let time, let origin):
            return [.promptAccepted(instance: name, promptID: id, text: text, at: time, origin: origin)]
        case .promptQueued(let name, let id, let reason):
            return [.sendQueued(instance: name, promptID: id, reason: SessionWording.queueReason(reason))]
        case .promptFailed(let name, let id, let error):
            return [.sendResult(instance: name, promptID: id, error: error)]
        case .turnsChanged(let name, let turns):
            return [.turnsChanged(instance: name, turns: turns)]
        case .outboxChanged(let name, let entries):
            return [.outboxChanged(instance: name, entries: entries)]
        case .activityChanged(let name, let activity):
            return [.activityChanged(instance: name, activity: activity)]
        case .lifecycle(let name, let change):
            return [.agentLifecycle(instance: name, change: change, at: now)]
        case .notice(let name, let notice):
            var actions: [Action] = [.notice(SessionWording.message(notice, instance: name, now: now))]
            if case .readerRefused = notice { actions.append(.streamState(instance: name, text: "not read here: another process reads it")) }
            return actions
        }
    }
}
