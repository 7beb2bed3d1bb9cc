// Excerpt: short one-line excerpts of prompts for overlay lists and status messages.

/// Short one-line excerpts of prompts for lists and messages.
public enum Excerpt {
    public static func of(_ text: String, _ limit: Int) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ⏎ ")
        return flat.count <= limit ? flat : String(flat.prefix(max(0, limit - 1))) + "…"
    }
}
