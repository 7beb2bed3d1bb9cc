// TerminalNotifier: the bytes that tell the user something while the TUI runs, and the terminal
// title. `tui.notify`: `bell` (BEL), `osc9` (`ESC ] 9 ; text ESC \`: iTerm2, WezTerm, kitty,
// foot), `osc777` (`ESC ] 777 ; notify ; title ; text ESC \`: rxvt, VTE), `off`. Inside tmux
// (TMUX set) an OSC is wrapped in tmux's passthrough (`ESC P tmux; ... ESC \`, each ESC doubled)
// and followed by a bell: tmux drops passthrough unless `allow-passthrough` is on (it is off by
// default), while a bell always reaches tmux (its bell flag, `monitor-bell`, `visual-bell`).
// The title (OSC 2) is the TUI's own: the old one is pushed on start (`CSI 22;0t`) and popped on
// exit (`CSI 23;0t`). Text is reduced to printable characters here, whatever the caller passed,
// so no notification can carry a control sequence.

import BridgeCore

public enum TerminalNotifier {
    static let esc = "\u{1B}"
    static let st = "\u{1B}\\"

    /// Printable text only, bounded: controls (ESC, BEL, C1) become `?`, `;` stays.
    static func clean(_ text: String, limit: Int = 200) -> String {
        ClaudeTranscript.oneLine(text, limit: limit)
    }

    /// The bytes of a notification for `mode`; empty for `off`.
    public static func bytes(_ text: String, mode: NotifyMode, inTmux: Bool) -> [UInt8] {
        let body = clean(text)
        let osc: String
        switch mode {
        case .off: return []
        case .bell: return [0x07]
        case .osc9: osc = "\(esc)]9;\(body)\(st)"
        case .osc777: osc = "\(esc)]777;notify;cc-bridge-tui;\(body)\(st)"
        }
        guard inTmux else { return Array(osc.utf8) }
        let wrapped = "\(esc)Ptmux;" + osc.replacingOccurrences(of: esc, with: esc + esc) + st
        return Array(wrapped.utf8) + [0x07]
    }

    /// OSC 2: the window title.
    public static func title(_ text: String) -> [UInt8] { Array("\(esc)]2;\(clean(text, limit: 120))\(st)".utf8) }

    /// Saves the terminal's title on its stack, and brings it back.
    public static let pushTitle: [UInt8] = Array("\(esc)[22;0t".utf8)
    public static let popTitle: [UInt8] = Array("\(esc)[23;0t".utf8)
}
