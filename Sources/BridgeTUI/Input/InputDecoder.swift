// InputDecoder: turns the raw byte stream of the terminal into keys, pastes and mouse reports.
//
// Decision (recorded here, see also the backend): the TUI reads stdin bytes itself and feeds
// them to this decoder; ncurses only owns output. With get_wch, bracketed paste arrives as a
// stream of unrelated keys (its first newline would submit the prompt), SGR mouse reports need
// ncurses' own mouse mode, and none of it could be tested without a terminal. Reading bytes
// ourselves makes paste, mouse and Alt-keys exact and lets tests feed split sequences.
//
// The decoder is a pure state machine: `feed` returns every event that is complete; bytes of an
// unfinished sequence stay buffered. A lone ESC is ambiguous (Esc key, or the start of a
// sequence whose rest is still in flight): when `pendingTimeout` is non-nil the runtime calls
// `flushPending()` if no more input came within that many seconds.

import BridgeCore

public enum InputEvent: Hashable, Sendable {
    case key(KeyEvent)
    case paste(String)
    /// A bracketed paste larger than `InputDecoder.maxPasteBytes`: refused whole (never cut, never
    /// typed as keys); `bytes` is its full size.
    case pasteRefused(bytes: Int)
    case mouse(MouseEvent)
}

public struct InputDecoder: Sendable {
    /// How long a lone ESC waits for the rest of a sequence before it counts as the Esc key.
    public static let escapeTimeout = 0.025
    /// Pastes larger than this are refused whole (their bytes are counted, not kept).
    public static let maxPasteBytes = PromptText.maxBytes

    private var buffer: [UInt8] = []
    private var inPaste = false
    private var pasteBytes: [UInt8] = []
    /// Bytes of the current paste, kept or not.
    private var pasteTotal = 0

    public init() {}

    /// Seconds after which `flushPending()` should be called when no further bytes arrive, or nil
    /// when nothing ambiguous is buffered.
    public var pendingTimeout: Double? {
        (!inPaste && buffer.first == 0x1B) ? InputDecoder.escapeTimeout : nil
    }

    /// True while inside a bracketed paste (its end marker not seen yet).
    public var isInPaste: Bool { inPaste }

    public mutating func feed<S: Sequence>(_ bytes: S) -> [InputEvent] where S.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        return drain(final: false)
    }

    /// Resolves whatever is buffered: a lone ESC becomes the Esc key, an unfinished sequence is
    /// taken as Esc followed by its bytes as plain keys.
    public mutating func flushPending() -> [InputEvent] {
        drain(final: true)
    }

    // MARK: - Decoding

    private static let pasteEnd: [UInt8] = Array("\u{1B}[201~".utf8)

    private mutating func drain(final: Bool) -> [InputEvent] {
        var events: [InputEvent] = []
        var i = 0
        var flushingEscape = final
        while i < buffer.count {
            if inPaste {
                if let end = find(InputDecoder.pasteEnd, in: buffer, from: i) {
                    appendPaste(buffer[i..<end])
                    i = end + InputDecoder.pasteEnd.count
                    inPaste = false
                    events.append(pasteTotal > InputDecoder.maxPasteBytes
                                  ? .pasteRefused(bytes: pasteTotal) : .paste(InputDecoder.pasteText(pasteBytes)))
                    pasteBytes = []
                    pasteTotal = 0
                } else {
                    // Keep a tail that could be the start of the end marker.
                    var keep = 0
                    for k in stride(from: min(InputDecoder.pasteEnd.count - 1, buffer.count - i), to: 0, by: -1)
                    where buffer[(buffer.count - k)...].elementsEqual(InputDecoder.pasteEnd[0..<k]) {
                        keep = k
                        break
                    }
                    appendPaste(buffer[i..<(buffer.count - keep)])
                    i = buffer.count - keep
                    break
                }
                continue
            }
            switch decodeOne(at: i, allowEscapeSequences: !flushingEscape) {
            case .incomplete:
                if final {
                    // Only an ESC-led sequence can be incomplete here for long: emit Esc, then
                    // read the remaining bytes without escape interpretation of that ESC.
                    if buffer[i] == 0x1B {
                        events.append(.key(KeyEvent(.esc)))
                        i += 1
                        flushingEscape = false
                        continue
                    }
                    // A truncated UTF-8 sequence: replacement character.
                    events.append(.key(.char("\u{FFFD}")))
                    i = buffer.count
                }
                buffer.removeFirst(i)
                return events
            case .event(let event, let length):
                if let event { events.append(event) }
                i += length
                flushingEscape = false
            case .startPaste(let length):
                i += length
                inPaste = true
                pasteBytes = []
                pasteTotal = 0
            }
        }
        buffer.removeFirst(min(i, buffer.count))
        return events
    }

    private mutating func appendPaste(_ bytes: ArraySlice<UInt8>) {
        pasteTotal += bytes.count
        if pasteTotal <= InputDecoder.maxPasteBytes {
            pasteBytes.append(contentsOf: bytes)
        } else if !pasteBytes.isEmpty {
            pasteBytes = []   // over the limit: it will be refused whole, so keep nothing
        }
    }

    /// Paste text with CR and CRLF turned into LF (terminals send Enter as CR).
    static func pasteText(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var k = 0
        while k < bytes.count {
            let b = bytes[k]
            if b == 0x0D {
                out.append(0x0A)
                if k + 1 < bytes.count && bytes[k + 1] == 0x0A { k += 1 }
            } else {
                out.append(b)
            }
            k += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private enum Step {
        case incomplete
        case event(InputEvent?, length: Int)
        case startPaste(length: Int)
    }

    private func decodeOne(at i: Int, allowEscapeSequences: Bool) -> Step {
        let b = buffer[i]
        if b == 0x1B && allowEscapeSequences {
            guard i + 1 < buffer.count else { return .incomplete }
            let next = buffer[i + 1]
            if next == UInt8(ascii: "[") { return decodeCSI(at: i) }
            if next == UInt8(ascii: "O") { return decodeSS3(at: i) }
            if next == 0x1B { return .event(.key(KeyEvent(.esc)), length: 1) }
            // ESC + key = Alt + key.
            switch decodeOne(at: i + 1, allowEscapeSequences: false) {
            case .incomplete: return .incomplete
            case .event(.key(let key)?, let length):
                var spec = key.spec
                spec.alt = true
                return .event(.key(KeyEvent(spec)), length: length + 1)
            case .event(let other, let length): return .event(other, length: length + 1)
            case .startPaste: return .event(nil, length: 1)
            }
        }
        if b < 0x80 { return .event(.key(InputDecoder.controlOrASCII(b)), length: 1) }
        // UTF-8 multi-byte character.
        let need: Int
        switch b {
        case 0xC2...0xDF: need = 2
        case 0xE0...0xEF: need = 3
        case 0xF0...0xF4: need = 4
        default: return .event(.key(.char("\u{FFFD}")), length: 1)
        }
        guard i + need <= buffer.count else {
            // Incomplete unless an invalid continuation byte is already visible.
            for k in (i + 1)..<buffer.count where buffer[k] & 0xC0 != 0x80 {
                return .event(.key(.char("\u{FFFD}")), length: k - i)
            }
            return .incomplete
        }
        let slice = buffer[i..<(i + need)]
        let text = String(decoding: slice, as: UTF8.self)
        let c = text.first ?? "\u{FFFD}"
        return .event(.key(.char(c)), length: need)
    }

    static func controlOrASCII(_ b: UInt8) -> KeyEvent {
        switch b {
        case 0x0D: return KeyEvent(.enter)
        case 0x09: return KeyEvent(.tab)
        case 0x7F, 0x08: return KeyEvent(.backspace)
        case 0x1B: return KeyEvent(.esc)
        case 0x00: return KeyEvent(.char(" "), ctrl: true)
        case 0x01...0x1A: return KeyEvent(.char(Character(Unicode.Scalar(b + 0x60))), ctrl: true)
        case 0x1C...0x1F: return KeyEvent(.char(Character(Unicode.Scalar(b + 0x40))), ctrl: true)
        default: return .char(Character(Unicode.Scalar(b)))
        }
    }

    /// CSI: ESC [ params final. Keys, SGR mouse, bracketed paste start.
    private func decodeCSI(at i: Int) -> Step {
        var j = i + 2
        // Parameter and intermediate bytes 0x20-0x3F, final byte 0x40-0x7E.
        while j < buffer.count && (0x20...0x3F).contains(buffer[j]) {
            j += 1
            if j - i > 64 { return .event(nil, length: j - i) }  // runaway: drop it
        }
        guard j < buffer.count else { return .incomplete }
        let final = buffer[j]
        let length = j - i + 1
        guard (0x40...0x7E).contains(final) else { return .event(nil, length: length) }
        let paramBytes = buffer[(i + 2)..<j]
        if paramBytes.first == UInt8(ascii: "<") && (final == UInt8(ascii: "M") || final == UInt8(ascii: "m")) {
            return .event(InputDecoder.sgrMouse(Array(paramBytes.dropFirst()), release: final == UInt8(ascii: "m")), length: length)
        }
        let params = String(decoding: paramBytes, as: UTF8.self).split(separator: ";", omittingEmptySubsequences: false).map { Int($0) }
        let first = params.first.flatMap { $0 }
        let modifier = params.count > 1 ? (params[1] ?? 1) : 1
        if final == UInt8(ascii: "~") {
            if first == 200 { return .startPaste(length: length) }
            if first == 201 { return .event(nil, length: length) }
            let key: KeySpec.Key?
            switch first {
            case 1, 7: key = .home
            case 2: key = .insert
            case 3: key = .delete
            case 4, 8: key = .end
            case 5: key = .pageUp
            case 6: key = .pageDown
            case 11: key = .function(1)
            case 12: key = .function(2)
            case 13: key = .function(3)
            case 14: key = .function(4)
            case 15: key = .function(5)
            case 17: key = .function(6)
            case 18: key = .function(7)
            case 19: key = .function(8)
            case 20: key = .function(9)
            case 21: key = .function(10)
            case 23: key = .function(11)
            case 24: key = .function(12)
            default: key = nil
            }
            guard let key else { return .event(nil, length: length) }
            return .event(.key(InputDecoder.modified(key, modifier)), length: length)
        }
        // xterm modifyOtherKeys / CSI u for Enter: ESC [ 13 ; 3 u (Alt-Enter) and similar.
        if final == UInt8(ascii: "u"), let code = first, let scalar = Unicode.Scalar(code) {
            let base = InputDecoder.controlOrASCII(code < 0x80 ? UInt8(code) : 0x20)
            let key: KeySpec.Key = code < 0x80 ? base.key : .char(Character(scalar))
            return .event(.key(InputDecoder.modified(key, modifier)), length: length)
        }
        if let key = InputDecoder.letterKey(final) {
            return .event(.key(InputDecoder.modified(key, modifier)), length: length)
        }
        if final == UInt8(ascii: "Z") { return .event(.key(KeyEvent(.backTab)), length: length) }
        return .event(nil, length: length)
    }

    /// SS3: ESC O final (application cursor keys, F1-F4).
    private func decodeSS3(at i: Int) -> Step {
        guard i + 2 < buffer.count else { return .incomplete }
        let final = buffer[i + 2]
        if let key = InputDecoder.letterKey(final) { return .event(.key(KeyEvent(key)), length: 3) }
        if final == UInt8(ascii: "M") { return .event(.key(KeyEvent(.enter)), length: 3) }
        return .event(nil, length: 3)
    }

    static func letterKey(_ final: UInt8) -> KeySpec.Key? {
        switch final {
        case UInt8(ascii: "A"): .up
        case UInt8(ascii: "B"): .down
        case UInt8(ascii: "C"): .right
        case UInt8(ascii: "D"): .left
        case UInt8(ascii: "H"): .home
        case UInt8(ascii: "F"): .end
        case UInt8(ascii: "P"): .function(1)
        case UInt8(ascii: "Q"): .function(2)
        case UInt8(ascii: "R"): .function(3)
        case UInt8(ascii: "S"): .function(4)
        default: nil
        }
    }

    /// xterm modifier parameter: 1 + (shift 1 | alt 2 | ctrl 4).
    static func modified(_ key: KeySpec.Key, _ modifier: Int) -> KeyEvent {
        let bits = max(0, modifier - 1)
        var key = key
        if bits & 1 != 0, key == .tab { key = .backTab }
        return KeyEvent(key, ctrl: bits & 4 != 0, alt: bits & 2 != 0)
    }

    static func sgrMouse(_ params: [UInt8], release: Bool) -> InputEvent? {
        let numbers = String(decoding: params, as: UTF8.self).split(separator: ";").compactMap { Int($0) }
        guard numbers.count == 3 else { return nil }
        let code = numbers[0], col = numbers[1] - 1, row = numbers[2] - 1
        let kind: MouseEvent.Kind
        if code & 64 != 0 {
            kind = code & 1 == 0 ? .wheelUp : .wheelDown
        } else if release {
            kind = .release
        } else if code & 32 != 0 {
            kind = .drag
        } else {
            kind = .press(button: code & 3)
        }
        return .mouse(MouseEvent(kind, row: max(0, row), col: max(0, col)))
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count - start >= needle.count else { return nil }
        var k = start
        while k + needle.count <= haystack.count {
            if haystack[k] == needle[0] && haystack[k..<(k + needle.count)].elementsEqual(needle) { return k }
            k += 1
        }
        return nil
    }
}
