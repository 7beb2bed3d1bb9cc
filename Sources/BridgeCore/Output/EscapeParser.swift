// EscapeParser: the state machine that swallows escape and control sequences byte by byte,
// so a sequence split across reads at any byte is still removed whole.
// Recognises two-byte ESC sequences (ESC =, ESC 7, ESC c, ESC ( B), CSI (7-bit `ESC [` or C1 U+009B)
// and the string sequences OSC, DCS, SOS, PM, APC (7-bit or C1), ended by ST (`ESC \` or U+009C),
// OSC also by BEL. CAN and SUB abort any sequence. Only plain CSI sequences (no private marker,
// no intermediates) are reported to the caller, which interprets SGR, erase-in-line and cursor columns.
//
// Bounds (so a broken or hostile stream cannot hide unbounded output):
// - a string sequence (OSC/DCS/SOS/PM/APC) longer than `maxStringBytes` (4 KiB) is abandoned and the
//   bytes after the cap are shown as normal text;
// - a CSI or ESC-intermediate sequence longer than `maxControlBytes` (256) is abandoned the same way.

struct EscapeParser {
    static let maxStringBytes = 4096
    static let maxControlBytes = 256

    enum State: UInt8 {
        case ground, escape, escapeIntermediate, csi, string, stringEscape, stringC2
    }

    /// What the caller must do after a byte was stepped.
    enum Action: Equatable {
        /// The byte belonged to the sequence; nothing else to do.
        case consumed
        /// The sequence ended before this byte; process it again as normal text.
        case reprocess
        /// A C0 control inside a sequence: execute it as a terminal would.
        case execute(UInt8)
        /// A plain CSI ended with this final byte; parameters are in `params`.
        case csi(UInt8)
    }

    private(set) var state: State = .ground
    /// Parameter bytes of the current CSI (at most `maxControlBytes`).
    private(set) var params: [UInt8] = []
    private var length = 0
    private var isOSC = false
    private var isPrivate = false

    init() { params.reserveCapacity(Self.maxControlBytes) }

    var isGround: Bool { state == .ground }

    /// Enters a sequence after ESC was seen in ground state.
    mutating func startEscape() { state = .escape }

    /// Enters the sequence introduced by a C1 control scalar (U+0080-U+009F) seen in text.
    mutating func startC1(_ c1: UInt8) {
        switch c1 {
        case 0x9B: startCSI()
        case 0x9D: startString(osc: true)
        case 0x90, 0x98, 0x9E, 0x9F: startString(osc: false)
        default: break   // any other C1 control (incl. a stray ST) is dropped alone
        }
    }

    /// Steps one byte while not in ground state.
    mutating func step(_ b: UInt8) -> Action {
        switch state {
        case .ground:
            return .reprocess
        case .escape:
            switch b {
            case UInt8(ascii: "["): startCSI()
            case UInt8(ascii: "]"): startString(osc: true)
            case UInt8(ascii: "P"), UInt8(ascii: "X"), UInt8(ascii: "^"), UInt8(ascii: "_"):
                startString(osc: false)
            case 0x20...0x2F: state = .escapeIntermediate; length = 1
            case 0x30...0x7E: state = .ground           // ESC 7, ESC =, ESC c, stray ESC \ ...
            default: return controlInSequence(b)
            }
            return .consumed
        case .escapeIntermediate:
            switch b {
            case 0x20...0x2F:
                length += 1
                if length > Self.maxControlBytes { state = .ground }
            case 0x30...0x7E: state = .ground           // ESC ( B and friends
            default: return controlInSequence(b)
            }
            return .consumed
        case .csi:
            switch b {
            case 0x30...0x3F:
                if length == 0 && b >= 0x3C { isPrivate = true }
                length += 1
                if length > Self.maxControlBytes { state = .ground; return .consumed }
                params.append(b)
            case 0x20...0x2F:
                isPrivate = true                          // intermediates: not a sequence we interpret
                length += 1
                if length > Self.maxControlBytes { state = .ground }
            case 0x40...0x7E:
                state = .ground
                return isPrivate ? .consumed : .csi(b)
            default: return controlInSequence(b)
            }
            return .consumed
        case .string:
            switch b {
            case 0x1B: state = .stringEscape
            case 0x07 where isOSC: state = .ground
            case 0x18, 0x1A: state = .ground
            case 0xC2: state = .stringC2
            default: break
            }
            length += 1
            if length > Self.maxStringBytes { state = .ground }
            return .consumed
        case .stringEscape:
            if b == UInt8(ascii: "\\") { state = .ground; return .consumed }
            // ESC followed by anything else ends the string and starts a new sequence.
            state = .escape
            return step(b)
        case .stringC2:
            if b == 0x9C { state = .ground; return .consumed }
            state = .string
            return step(b)
        }
    }

    /// Bytes that are not part of the grammar of the current (non-string) sequence.
    private mutating func controlInSequence(_ b: UInt8) -> Action {
        switch b {
        case 0x1B: state = .escape; return .consumed
        case 0x18, 0x1A: state = .ground; return .consumed
        case 0x7F: return .consumed
        case 0x00..<0x20: return .execute(b)
        default:
            // A non-ASCII byte cannot continue a sequence: abandon it, the byte is text again.
            state = .ground
            return .reprocess
        }
    }

    private mutating func startCSI() {
        state = .csi
        params.removeAll(keepingCapacity: true)
        length = 0
        isPrivate = false
    }

    private mutating func startString(osc: Bool) {
        state = .string
        isOSC = osc
        length = 0
    }
}
