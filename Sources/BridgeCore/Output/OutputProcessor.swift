// OutputProcessor: turns an instance's raw output bytes, delivered in arbitrary chunks, into
// sanitized styled lines (OutputLine). Terminal semantics for what fits a line model:
// `\n` (and `\r\n`) end a line; a lone `\r` returns to column 0 and later text overwrites;
// `\b` goes back a column; tabs go to the next multiple of 8; ESC[K / ESC[0K erase to the end,
// ESC[2K clears the line; ESC[nG, ESC[nC, ESC[nD move the cursor column. SGR becomes style runs and
// carries over to the next lines. Every other control, escape or string sequence is removed
// (see EscapeParser for the caps on unterminated sequences); invalid UTF-8 becomes U+FFFD.
//
// Speed: bytes are scanned through an unsafe pointer; runs of printable ASCII and valid UTF-8 are
// copied into a reused line buffer in one go, and a finished line is copied into the packed
// OutputBatch: no allocation per line. At the start of a line, the whole lines that follow made of
// printable text and colour changes (the bulk of a flood) skip the line buffer: their text goes
// into the batch in one copy per stretch between colour changes, their runs as the line buffer
// would make them. A line longer than `maxLineBytes` continues on a new line.

import Foundation

public struct OutputProcessor {
    public let maxLineBytes: Int
    private let now: @Sendable () -> Double

    private var line: LineBuffer
    private var style = TextStyle.plain
    private var styleIsPlain = true
    private var escape = EscapeParser()
    private var sgrParams: [SGRParam] = []
    /// First bytes of a UTF-8 sequence split across feeds (at most 3).
    private var pending: [UInt8] = []
    /// The line being read went to the line buffer after the bulk path stopped in it: no second
    /// try until it ends (a line of many colour changes and then a control would be read again
    /// from each change on).
    private var bulkGaveUp = false

    /// When the current line's first byte arrived; nil until then.
    private var lineTimestamp: Double?
    private var feedTime = 0.0
    /// The line changed since it was last emitted.
    private var dirty = false
    /// The last emitted line was the open line (a later emission must replace it).
    private var openLineShown = false

    public init(maxLineBytes: Int = 64 << 10, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.maxLineBytes = max(16, maxLineBytes)
        self.now = now
        line = LineBuffer(capacity: self.maxLineBytes)
        pending.reserveCapacity(8)
        sgrParams.reserveCapacity(16)
    }

    /// The style that text written now gets (SGR state).
    public var currentStyle: TextStyle { style }

    /// Whether the unterminated line holds text.
    public var hasOpenText: Bool { !line.isEmpty }

    /// The unterminated line is `text` and nothing else (trailing spaces aside), as shown.
    public func openLineIs(_ text: [UInt8]) -> Bool {
        guard openLineShown, pending.isEmpty, escape.isGround else { return false }
        var bytes = line.bytes[...]
        while bytes.last == 0x20 { bytes = bytes.dropLast() }
        return bytes.elementsEqual(text)
    }

    /// Forgets the unterminated line without emitting it: the host showed something in its
    /// place (the user's prompt after an agent's ready marker), so what the agent writes next
    /// starts a line of its own instead of continuing the marker's.
    public mutating func dropOpenLine() {
        line.reset()
        bulkGaveUp = false
        openLineShown = false
        dirty = false
        lineTimestamp = nil
    }

    public mutating func feed(_ bytes: [UInt8], into batch: inout OutputBatch) {
        bytes.withUnsafeBytes { feed($0, into: &batch) }
    }

    /// Processes `bytes`, appending to `batch` the lines finished and, at the end, the open line
    /// when it changed. `batch` should be empty or the one the previous feed filled.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, into batch: inout OutputBatch) {
        guard bytes.count > 0 else { return }
        feedTime = now()
        if lineTimestamp == nil { lineTimestamp = feedTime }
        bytes.withMemoryRebound(to: UInt8.self) { buffer in
            let p = buffer.baseAddress!
            let n = buffer.count
            var i = pending.isEmpty ? 0 : resumePending(p, n, &batch)
            while i < n {
                if escape.isGround {
                    i = scanText(p, i, n, &batch)
                } else {
                    i = scanSequence(p, i, n, &batch)
                }
            }
        }
        if dirty {
            if !line.isEmpty || openLineShown { emitLine(open: true, &batch) }
            dirty = false
        }
        if line.isEmpty && line.pad == 0 && !dirty { lineTimestamp = nil }
    }

    /// At the end of the input (the writer went away for good): bytes of an incomplete UTF-8
    /// sequence held for the next feed become one U+FFFD, shown in the open line.
    public mutating func flushIncompleteInput(into batch: inout OutputBatch) {
        guard !pending.isEmpty else { return }
        pending.removeAll(keepingCapacity: true)
        if escape.isGround {
            if lineTimestamp == nil { feedTime = now(); lineTimestamp = feedTime }
            UTF8Scan.replacement.withUnsafeBufferPointer { write($0.baseAddress!, 3, &batch) }
            emitLine(open: true, &batch)
            dirty = false
        }
    }

    /// The writer went away for good (its agent exited): its unterminated line is finished as it
    /// stands and its colours and half-read sequences are dropped, so what the next writer sends
    /// starts a line of its own in the plain style instead of being glued onto the fragment.
    public mutating func endWriter(into batch: inout OutputBatch) {
        flushIncompleteInput(into: &batch)
        pending.removeAll(keepingCapacity: true)
        escape = EscapeParser()
        style = .plain
        styleIsPlain = true
        bulkGaveUp = false
        if !line.isEmpty || openLineShown { finishLine(&batch) }
    }

    /// A reply ended (a framed `done`): its unterminated line is finished as it stands; the
    /// style and the writer go on (unlike `endWriter`).
    public mutating func endLine(into batch: inout OutputBatch) {
        flushIncompleteInput(into: &batch)
        if !line.isEmpty || openLineShown { finishLine(&batch) }
    }

    // MARK: Text

    /// Scans from `i` in ground state; returns where it stopped (end, or the start of a sequence).
    @inline(__always)
    private mutating func scanText(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int, _ batch: inout OutputBatch) -> Int {
        var i = start
        while i < n {
            if line.isEmpty && line.pad == 0 && !openLineShown && !bulkGaveUp {
                i = takeWholeLines(p, i, n, &batch)
                guard i < n else { return n }
                // The line at `i` needs the line buffer (or has no newline yet): no second try.
                bulkGaveUp = true
            }
            let runStart = i
            // Fast path: printable ASCII and valid, non-C1 UTF-8.
            while true {
                i = Self.firstNotPrintableASCII(p, i, n)
                guard i < n, p[i] >= 0x80, case .valid(let length) = UTF8Scan.classify(p, i, n) else { break }
                i &+= length
            }
            guard i < n else {
                if i > runStart { write(p + runStart, i - runStart, &batch) }
                return n
            }
            let b = p[i]
            if i > runStart { write(p + runStart, i - runStart, &batch) }
            if b >= 0x80 {
                switch UTF8Scan.classify(p, i, n) {
                case .valid(let length):
                    i += length   // not reached: valid scalars are taken by the fast path
                case .invalid(let length):
                    UTF8Scan.replacement.withUnsafeBufferPointer { write($0.baseAddress!, 3, &batch) }
                    i += length
                case .c1(let c1):
                    escape.startC1(c1)
                    i += 2
                    if !escape.isGround { return i }
                case .incomplete:
                    pending.append(contentsOf: UnsafeBufferPointer(start: p + i, count: n - i))
                    return n
                }
            } else if b == 0x1B {
                if let end = completeSGR(p, i, n) {
                    applySGR(UnsafeBufferPointer(start: p + i + 2, count: end - i - 2))
                    i = end + 1
                    continue
                }
                escape.startEscape()
                return i + 1
            } else {
                control(b, &batch)
                i += 1
            }
        }
        return n
    }

    /// At the start of a line: takes the whole lines from `start` on that are made of printable
    /// text (ASCII, valid UTF-8 but C1) and complete SGR sequences straight into `batch`, up to the
    /// first line that needs the line buffer (a control, another escape, invalid UTF-8 or a C1,
    /// more than `maxLineBytes`) or has no newline yet; that line is left as it was found (its
    /// colour changes undone). Returns where that line starts (`start` when none was taken).
    @inline(__always)
    private mutating func takeWholeLines(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int, _ batch: inout OutputBatch) -> Int {
        var i = start, lineStart = start
        // Input from `copyFrom` on is not in the batch yet: input offset j (>= copyFrom) is at
        // batch offset `batch.text.count + j - copyFrom` once copied.
        var copyFrom = start
        var lineText = batch.text.count, lineRuns = batch.runCount
        var lineStyle = style, lineStyleIsPlain = styleIsPlain
        var segment = start   // where the text in the current style began
        var stamp = lineTimestamp ?? feedTime
        var took = false
        /// Ends the stretch of text in the current style at `i` (a run when the style is not plain).
        func endSegment(at i: Int) {
            guard !styleIsPlain && i > segment else { return }
            let at = batch.text.count &+ (segment &- copyFrom) &- lineText
            batch.appendRun(StyleRun(start: at, count: i - segment, style: style), lineRunStart: lineRuns)
        }
        while true {
            let lineBytes = batch.text.count &+ (i &- copyFrom) &- lineText
            // A newline at or past `limit` would end a line longer than maxLineBytes.
            let room = maxLineBytes &- lineBytes
            let limit = room < n &- i ? i &+ room &+ 1 : n
            i = Self.firstNotPrintableASCII(p, i, limit)
            guard i < limit else { break }
            let b = p[i]
            if b == 0x0A || b == 0x0D && i &+ 1 < n && p[i &+ 1] == 0x0A {
                let end = batch.text.count &+ (i &- copyFrom)
                endSegment(at: i)
                batch.appendLineEntry(textStart: lineText, textCount: end - lineText, runStart: lineRuns, timestamp: stamp)
                stamp = feedTime
                took = true
                if b == 0x0D {
                    // `\r\n` ends the line as `\n` does (the return changes nothing before it);
                    // the batch keeps the newline only.
                    batch.appendText(p + copyFrom, count: i - copyFrom)
                    batch.appendNewline()
                    i &+= 2
                    copyFrom = i
                } else {
                    i &+= 1
                }
                lineStart = i
                segment = i
                lineText = end + 1
                lineRuns = batch.runCount
                lineStyle = style
                lineStyleIsPlain = styleIsPlain
            } else if b >= 0x80 {
                guard case .valid(let length) = UTF8Scan.classify(p, i, n) else { break }
                i &+= length
            } else if b == 0x1B, let end = completeSGR(p, i, n) {
                // The text so far goes in now; the sequence's bytes are skipped.
                endSegment(at: i)
                batch.appendText(p + copyFrom, count: i - copyFrom)
                applySGR(UnsafeBufferPointer(start: p + i + 2, count: end - i - 2))
                i = end + 1
                copyFrom = i
                segment = i
            } else {
                break
            }
        }
        // The line it stopped in is left to the line buffer as it was found.
        if copyFrom <= lineStart {
            batch.appendText(p + copyFrom, count: lineStart - copyFrom)
        } else {
            batch.truncate(textCount: lineText, runCount: lineRuns)
        }
        style = lineStyle
        styleIsPlain = lineStyleIsPlain
        if took {
            batch.endsWithOpenLine = false
            lineTimestamp = feedTime
            dirty = false
        }
        return lineStart
    }

    /// The index of the first byte from `start` that is not printable ASCII (0x20...0x7E), or `end`.
    @inline(__always)
    private static func firstNotPrintableASCII(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var i = start
        let space16 = SIMD16<UInt8>(repeating: 0x20), printableSpan16 = SIMD16<UInt8>(repeating: 0x5F)
        while i &+ 16 <= end {
            // Sixteen bytes at a time while they are all printable ASCII, then straight to the
            // first byte that is not (no data-dependent branch for which half).
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<UInt8>.self)
            if !any((v &- space16) .>= printableSpan16) { i &+= 16; continue }
            let low = notPrintableASCII(UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
            let high = notPrintableASCII(UnsafeRawPointer(p + i + 8).loadUnaligned(as: UInt64.self))
            return i &+ (low != 0 ? low.trailingZeroBitCount &>> 3 : 8 &+ (high.trailingZeroBitCount &>> 3))
        }
        if i &+ 8 <= end {
            let special = notPrintableASCII(UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
            if special != 0 { return i &+ (special.trailingZeroBitCount &>> 3) }
            i &+= 8
        }
        while i < end && p[i] &- 0x20 < 0x5F { i &+= 1 }
        return i
    }

    /// The high bit of each byte of `w` that is not printable ASCII (below 0x20, 0x7F or above);
    /// exact for the lowest such byte (borrows only run upwards), which is all the scan needs.
    @inline(__always)
    private static func notPrintableASCII(_ w: UInt64) -> UInt64 {
        let high: UInt64 = 0x8080_8080_8080_8080
        let below20 = (w &- 0x2020_2020_2020_2020) & ~w
        let del = w ^ 0x7F7F_7F7F_7F7F_7F7F
        let isDel = (del &- 0x0101_0101_0101_0101) & ~del
        return (w | below20 | isDel) & high
    }

    /// Completes a UTF-8 sequence whose first bytes came in the previous feed. Returns how many
    /// bytes of this feed it used.
    private mutating func resumePending(_ p: UnsafePointer<UInt8>, _ n: Int, _ batch: inout OutputBatch) -> Int {
        let had = pending.count
        let take = min(n, 4 - had)
        pending.append(contentsOf: UnsafeBufferPointer(start: p, count: take))
        let result = pending.withUnsafeBufferPointer { UTF8Scan.classify($0.baseAddress!, 0, $0.count) }
        defer { if result != .incomplete { pending.removeAll(keepingCapacity: true) } }
        switch result {
        case .valid(let length):
            pending.withUnsafeBufferPointer { write($0.baseAddress!, length, &batch) }
            return length - had
        case .invalid(let length):
            UTF8Scan.replacement.withUnsafeBufferPointer { write($0.baseAddress!, 3, &batch) }
            return max(0, length - had)
        case .c1(let c1):
            escape.startC1(c1)
            return 2 - had
        case .incomplete:
            return n   // still not complete (the feed was tiny); `pending` holds all of it
        }
    }

    /// Writes sanitized text at the cursor, starting new lines when the line is full.
    @inline(__always)
    private mutating func write(_ p: UnsafePointer<UInt8>, _ count: Int, _ batch: inout OutputBatch) {
        var p = p, count = count
        dirty = true
        while true {
            let written = line.write(p, count: count, style: style, plain: styleIsPlain)
            if written == count { return }
            finishLine(&batch)
            dirty = true
            p += written
            count -= written
        }
    }

    private mutating func control(_ b: UInt8, _ batch: inout OutputBatch) {
        switch b {
        case 0x0A: finishLine(&batch)
        case 0x0D: line.carriageReturn()
        case 0x08: line.backspace()
        case 0x09: line.tab()
        default: break   // NUL, BEL, CAN, SUB, DEL and the rest: removed
        }
    }

    // MARK: Sequences

    private mutating func scanSequence(_ p: UnsafePointer<UInt8>, _ start: Int, _ n: Int, _ batch: inout OutputBatch) -> Int {
        var i = start
        while i < n && !escape.isGround {
            switch escape.step(p[i]) {
            case .consumed: i += 1
            case .reprocess: return i
            case .execute(let c0): control(c0, &batch); i += 1
            case .csi(let final): csi(final); i += 1
            }
        }
        return i
    }

    /// When `p[i]` starts an SGR sequence (`ESC [`, digits and `;`, `m`) that is whole in the
    /// buffer, the index of its `m`: the common colour change then skips the byte-wise parser.
    @inline(__always)
    private func completeSGR(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int? {
        guard i + 2 < n && p[i + 1] == UInt8(ascii: "[") else { return nil }
        var j = i + 2
        let limit = min(n, i + 2 + 32)
        while j < limit {
            let b = p[j]
            if b == UInt8(ascii: "m") { return j }
            guard b &- 0x30 < 10 || b == UInt8(ascii: ";") else { return nil }
            j += 1
        }
        return nil
    }

    private mutating func applySGR(_ params: UnsafeBufferPointer<UInt8>) {
        // The reset (`ESC[m`, `ESC[0m`), half of all colour changes, without the parser.
        if params.isEmpty || params.count == 1 && params[0] == UInt8(ascii: "0") {
            style = .plain
            styleIsPlain = true
            return
        }
        SGRParser.parse(params, into: &sgrParams)
        SGRParser.apply(sgrParams, to: &style)
        styleIsPlain = style.isPlain
    }

    private mutating func csi(_ final: UInt8) {
        switch final {
        case UInt8(ascii: "m"):
            escape.params.withUnsafeBufferPointer { applySGR($0) }
        case UInt8(ascii: "K"):
            switch firstParam(default: 0) {
            case 0: line.eraseToEnd(); dirty = true
            case 2: line.eraseLine(); dirty = true
            default: break   // ESC[1K (erase to start) is not modelled
            }
        case UInt8(ascii: "G"), UInt8(ascii: "`"):
            line.moveCursor(toColumn: firstParam(default: 1) - 1)
        case UInt8(ascii: "C"):
            line.moveCursor(toColumn: line.cursorColumn + max(1, firstParam(default: 1)))
        case UInt8(ascii: "D"):
            line.moveCursor(toColumn: line.cursorColumn - max(1, firstParam(default: 1)))
        default:
            break   // cursor rows, erase display, scroll regions, ...: removed
        }
    }

    /// The first numeric CSI parameter (empty means `defaultValue`), capped to avoid overflow.
    private func firstParam(default defaultValue: Int) -> Int {
        var value = -1
        for b in escape.params {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { break }
            value = min(max(value, 0) * 10 + Int(b - 0x30), 1 << 30)
        }
        return value < 0 ? defaultValue : value
    }

    // MARK: Lines

    private mutating func finishLine(_ batch: inout OutputBatch) {
        bulkGaveUp = false
        emitLine(open: false, &batch)
        line.reset()
        lineTimestamp = feedTime
        dirty = false
    }

    /// Appends the line as it is now to `batch`; an open line shown before is replaced.
    private mutating func emitLine(open: Bool, _ batch: inout OutputBatch) {
        if openLineShown {
            if batch.endsWithOpenLine && !batch.isEmpty {
                batch.removeLast()                   // same batch: update the element in place
            } else if batch.isEmpty {
                batch.replacesOpenLine = true
            }
            openLineShown = false
        }
        line.copy(to: &batch, timestamp: lineTimestamp ?? feedTime)
        batch.endsWithOpenLine = open
        openLineShown = open
    }
}
