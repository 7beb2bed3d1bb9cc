// Reducer+General: application commands (quit, health panel, mouse), the screen size and the
// clock.

import BridgeCore

extension AppState {
    mutating func performGeneral(_ command: Command) -> [Effect] {
        switch command {
        case .quit:
            guard keymap.confirmed.contains(.quit), let work = workInFlight, !confirmingQuit else { return [.quit] }
            // Quitting now would drop a reply or leave prompts behind: one more key decides.
            confirmingQuit = true
            let key = keymap.label(for: .quit) ?? "q"
            status = StatusMessage("\(work): \(key) again quits, any other key stays", kind: .error, expires: nil)
        case .suspend:
            return [.suspend]
        case .toggleHealth:
            healthVisible.toggle()
            if healthVisible && healthRows.isEmpty { return [.refreshHealth] }
        case .refreshHealth:
            info("checking health…")
            return [.refreshHealth]
        case .toggleMouse:
            mouse.toggle()
            info(mouse ? "mouse on" : "mouse off: the terminal's own selection works")
            return [.setMouse(mouse)]
        default:
            break
        }
        return []
    }

    mutating func resize(rows: Int, cols: Int) {
        size = Size(rows: max(0, rows), cols: max(0, cols))
        needsFullRepaint = true
    }

    mutating func tick(_ time: Double) {
        now = time
        if let expires = status?.expires, expires <= time { status = nil }
        for index in instances.indices where (instances[index].cleared?.until ?? .infinity) <= time {
            instances[index].cleared = nil
        }
    }
}
