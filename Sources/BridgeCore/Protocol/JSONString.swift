// JSONString: one string as a JSON string literal, escaped exactly as the `ccb-jsonl/1` writer
// escapes its fields (ASCII only: controls and non-ASCII as \uXXXX). For lines built by hand where
// Foundation's JSONSerialization costs more than the rest of a round trip (the Claude mode's
// prompt lines: ~67 µs per line against ~1 µs).

public enum JSONString {
    public static func quoted(_ value: String) -> String {
        // The writer's own escaping, through a one-field object: {"":"…"} → "…".
        var writer = JSONLineWriter()
        writer.field("", string: value)
        let object = writer.finish()
        return String(object.dropFirst(4).dropLast())
    }
}
