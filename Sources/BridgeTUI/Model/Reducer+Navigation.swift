// Reducer+Navigation: choosing an instance, moving focus between the list and the output
// pane, attaching to one instance and detaching.

import BridgeCore

extension AppState {
    mutating func performNavigation(_ command: Command) -> [Effect] {
        switch command {
        case .selectNext, .selectPrevious:
            guard !instances.isEmpty else { break }
            let current = selectedIndex ?? 0
            select(command == .selectNext ? min(instances.count - 1, current + 1) : max(0, current - 1))
        case .focusOutput:
            focusStack.reset(to: .output)
        case .focusList:
            if !isAttached { focusStack.reset(to: .list) }
        case .toggleFocus:
            if !isAttached { focusStack.reset(to: focus == .list ? .output : .list) }
        case .attach:
            if isAttached { return performNavigation(.detach) }
            guard let index = selectedIndex else { break }
            mode = .attach(instances[index].name)
            instances[index].unread = 0
            focusStack.reset(to: .output)
            focusStack.push(.prompt)
        case .detach:
            guard case .attach(let name) = mode else { break }
            // Through quit, so a streaming reply or queued prompts still ask once.
            if detachQuits { return performGeneral(.quit) }
            mode = .all
            selected = name
            focusStack.reset(to: .list)
        default:
            break
        }
        return []
    }

    mutating func select(_ index: Int) {
        guard instances.indices.contains(index) else { return }
        selected = instances[index].name
        instances[index].unread = 0
    }
}
