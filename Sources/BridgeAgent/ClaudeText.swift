// ClaudeText: the small text helpers of the Claude stream-json mode: cutting a string to a byte
// bound at a character boundary (every field a frame carries is bounded, ClaudeFrameLimits),
// compact JSON for a tool input, and the one-line summary of a tool call (`⏺ Bash  npm test`).

import Foundation
import BridgeCore

enum ClaudeText {
    /// `text` cut to at most `maxBytes` bytes of UTF-8 without splitting a character; a cut
    /// string ends in `…` (counted in the bound).
    static func bounded(_ text: String, _ maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        let ellipsis = "…"
        let room = max(0, maxBytes - ellipsis.utf8.count)
        var used = 0
        var end = text.startIndex
        for index in text.indices {
            let next = text.index(after: index)
            let size = text.utf8.distance(from: index, to: next)
            if used + size > room { break }
            used += size
            end = next
        }
        return String(text[..<end]) + (maxBytes >= ellipsis.utf8.count ? ellipsis : "")
    }

    /// One line: newlines become ` ↵ `, other C0 controls a space.
    static func oneLine(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(min(text.utf8.count, 1024))
        for scalar in text.unicodeScalars {
            if scalar == "\n" { out += " ↵ " }
            else if scalar.value < 0x20 || scalar.value == 0x7F { out += " " }
            else { out.unicodeScalars.append(scalar) }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    /// Compact JSON text of a parsed value (keys sorted, so equal inputs read the same).
    static func json(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject([value]),
              let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return String(describing: value)
        }
        // Wrapped in an array so fragments (a string, a number) serialize too; unwrap it.
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }

    /// The field that says what a tool call does, by tool; compact JSON for other tools.
    static let summaryKeys: [String: [String]] = [
        "Bash": ["command"], "BashOutput": ["bash_id"], "KillShell": ["shell_id"],
        "Read": ["file_path"], "Edit": ["file_path"], "MultiEdit": ["file_path"], "Write": ["file_path"],
        "NotebookEdit": ["notebook_path"], "NotebookRead": ["notebook_path"],
        "Grep": ["pattern", "path"], "Glob": ["pattern", "path"],
        "WebFetch": ["url"], "WebSearch": ["query"], "Task": ["description"], "LS": ["path"],
    ]

    /// A short one-line form of a tool's input, at most ClaudeFrameLimits.summary bytes.
    static func toolSummary(name: String, input: Any?) -> String {
        let limit = ClaudeFrameLimits.summary
        guard let input else { return "" }
        if let keys = summaryKeys[name], let object = input as? [String: Any],
           let first = object[keys[0]] as? String {
            var text = first
            for key in keys.dropFirst() {
                if let more = object[key] as? String, !more.isEmpty { text += "  in " + more }
            }
            return bounded(oneLine(text), limit)
        }
        return bounded(oneLine(json(input)), limit)
    }
}
