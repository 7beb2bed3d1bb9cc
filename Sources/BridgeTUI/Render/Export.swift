// Export: text the runtime writes for save and copy effects, built from state (pure).

import BridgeCore

public enum ScrollbackExport {
    /// The instance's scrollback as plain text, one line per output line, optionally with
    /// `HH:MM:SS ` timestamps (in the state's time zone offset).
    public static func text(of instance: InstanceState, timestamps: Bool, timeZoneOffset: Int = 0) -> String {
        var out = ""
        for position in 0..<instance.scrollback.count {
            let line = instance.scrollback[position]
            if timestamps { out += TimeFormat.clock(line.timestamp + Double(timeZoneOffset)) + " " }
            out += line.text
            out += "\n"
        }
        return out
    }
}

public enum Clipboard {
    /// The OSC 52 sequence that puts `text` on the system clipboard (terminals that allow it).
    public static func osc52(_ text: String) -> [UInt8] {
        Array("\u{1B}]52;c;".utf8) + base64(Array(text.utf8)) + [0x07]
    }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func base64(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let v = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(v & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return out
    }
}
