// SGRParser: applies the parameters of an SGR sequence (`ESC [ ... m`) to a TextStyle.
// Handles reset, bold/dim/italic/underline/reverse and their resets, the 16 ANSI colours,
// 256-colour palette and 24-bit colours in both `38;5;n`/`38;2;r;g;b` and colon forms
// (`38:5:n`, `38:2::r:g:b`, `38:2:r:g:b`). Unknown codes are ignored, as a terminal does.

/// One SGR parameter; `isSub` marks a colon-separated sub-parameter of the preceding one.
struct SGRParam: Equatable {
    /// The number, or -1 when the parameter was empty (means 0 / default).
    var value: Int
    var isSub: Bool
}

enum SGRParser {
    /// Splits parameter bytes (digits, `;`, `:`) into `params` (cleared first, capacity kept).
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, into params: inout [SGRParam]) {
        params.removeAll(keepingCapacity: true)
        var value = -1
        var isSub = false
        for b in bytes {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = min(max(value, 0) * 10 + Int(b &- 0x30), 1_000_000)
            case UInt8(ascii: ";"), UInt8(ascii: ":"):
                params.append(SGRParam(value: value, isSub: isSub))
                value = -1
                isSub = b == UInt8(ascii: ":")
            default:
                continue   // stray private-marker bytes: ignore
            }
        }
        params.append(SGRParam(value: value, isSub: isSub))
    }

    /// Applies already parsed parameters to `style`.
    static func apply(_ params: [SGRParam], to style: inout TextStyle) {
        var i = 0
        let n = params.count
        while i < n {
            let code = max(params[i].value, 0)
            var j = i + 1
            while j < n && params[j].isSub { j += 1 }
            if j > i + 1 {
                // Colon form: the sub-parameters belong to this code only.
                let subs = params[(i + 1)..<j].map { max($0.value, 0) }
                switch code {
                case 38: if let c = extendedColor(colon: subs) { style.foreground = c }
                case 48: if let c = extendedColor(colon: subs) { style.background = c }
                case 4: style.underline = subs[0] != 0   // 4:0 off, 4:1...4:5 underline kinds
                default: break
                }
                i = j
                continue
            }
            switch code {
            case 0: style = .plain
            case 1: style.bold = true
            case 2: style.dim = true
            case 3: style.italic = true
            case 4, 21: style.underline = true
            case 7: style.reverse = true
            case 22: style.bold = false; style.dim = false
            case 23: style.italic = false
            case 24: style.underline = false
            case 27: style.reverse = false
            case 30...37: style.foreground = .ansi(UInt8(code - 30))
            case 39: style.foreground = nil
            case 40...47: style.background = .ansi(UInt8(code - 40))
            case 49: style.background = nil
            case 90...97: style.foreground = .ansi(UInt8(code - 90 + 8))
            case 100...107: style.background = .ansi(UInt8(code - 100 + 8))
            case 38, 48, 58:
                // Semicolon form: the colour takes the following parameters.
                guard i + 1 < n else { return }
                let kind = max(params[i + 1].value, 0)
                var color: TerminalColor?
                if kind == 5 {
                    guard i + 2 < n else { return }
                    color = byte(params[i + 2].value).map { TerminalColor.palette($0) }
                    i += 3
                } else if kind == 2 {
                    guard i + 4 < n else { return }
                    if let r = byte(params[i + 2].value), let g = byte(params[i + 3].value),
                       let b = byte(params[i + 4].value) {
                        color = .rgb(r, g, b)
                    }
                    i += 5
                } else {
                    return   // unknown colour kind: the rest cannot be interpreted
                }
                if let color {
                    if code == 38 { style.foreground = color } else if code == 48 { style.background = color }
                }
                continue
            default: break
            }
            i += 1
        }
    }

    private static func extendedColor(colon subs: [Int]) -> TerminalColor? {
        switch subs[0] {
        case 5:
            return subs.count >= 2 ? byte(subs[1]).map { .palette($0) } : nil
        case 2:
            // 38:2:<colourspace>:r:g:b (ITU T.416) or the common 38:2:r:g:b.
            let rgb = subs.count >= 5 ? subs[2...4] : subs.count == 4 ? subs[1...3] : []
            guard rgb.count == 3 else { return nil }
            let c = Array(rgb)
            guard let r = byte(c[0]), let g = byte(c[1]), let b = byte(c[2]) else { return nil }
            return .rgb(r, g, b)
        default:
            return nil
        }
    }

    private static func byte(_ value: Int) -> UInt8? {
        value <= 255 ? UInt8(max(value, 0)) : nil
    }
}
