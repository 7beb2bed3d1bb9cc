// PastePolicy: what a bracketed paste may put into a text field. Its text is cleaned by the
// prompt rules (PromptText, line breaks kept): control bytes such as 0x03, escape sequences and
// invisible format characters never reach a prompt, so nothing pasted can act as an interrupt.
// A paste that would make the prompt larger than PromptText.maxBytes is refused with both sizes.

import BridgeCore

extension AppState {
    /// Inserts a paste the way `handlePaste` does, after the checks above; says what it removed.
    mutating func applyPaste(_ raw: String) {
        let cleaned = PromptText.clean(raw, keepLines: true)
        let intoPrompt = switch effectiveFocus {
        case .prompt, .list, .output: true
        default: false
        }
        if intoPrompt, let active = activeInstance {
            let size = active.prompt.text.utf8.count + cleaned.text.utf8.count
            if let refusal = PromptText.sizeRefusal(size, what: "prompt with the paste") {
                error(refusal.replacingOccurrences(of: "nothing was sent", with: "nothing was inserted"))
                return
            }
        }
        handlePaste(cleaned.text)
        if cleaned.removed > 0 {
            info("removed \(cleaned.removed) control character\(cleaned.removed == 1 ? "" : "s") or escape sequence\(cleaned.removed == 1 ? "" : "s") from the paste")
        }
    }
}
