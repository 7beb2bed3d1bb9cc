// FuzzTargets: the functions libFuzzer drives (and the replayer runs over files). Each takes one
// input, runs it through a parser of untrusted bytes and traps (fatalError) when an invariant
// breaks, so a violation is a crash libFuzzer reports, not just a wrong answer.
//
//   output    bytes an agent writes: OutputProcessor and StreamDecoder (plain and framed), fed
//             whole and split at a point chosen by the first byte; every line must be free of
//             controls, within the line cap, with sane style runs, the open-line protocol kept,
//             and the finished lines the same for both feeds; a Scrollback fed the same batches
//             holds the same lines (all of them, or with tiny bounds the newest, within the bound).
//   protocol  one line: AgentMessage.decode and HostMessage.decode; whatever decodes must
//             re-encode to something that decodes to the same value. The same line as prompt
//             text: PromptText.clean leaves no control (but `\n` where lines are kept) and no
//             invisible format character, cleaning twice changes nothing, and the plain line is
//             one line ending in its only `\n`.
//   config    config.yaml text: ConfigLoader.parse must return a config or a ConfigError.
//   ipc       bytes on the server socket: IPCFrameDecoder and IPCMessage.decode (FuzzIPC.swift).
//   claude    a Claude Code child's stream-json stdout: the agent's line splitter and decoder
//             (FuzzClaude.swift).

import BridgeCore

enum FuzzTarget: String, CaseIterable {
    case output, `protocol`, config, ipc, claude

    func run(_ data: UnsafeRawBufferPointer) {
        switch self {
        case .output: FuzzOutput.run(data)
        case .protocol: FuzzProtocol.run(data)
        case .config: FuzzConfig.run(data)
        case .ipc: FuzzIPC.run(data)
        case .claude: FuzzClaude.run(data)
        }
    }
}

enum FuzzOutput {
    static let maxLineBytes = 256

    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        // OutputProcessor alone, whole and in two feeds, with a cap the input cannot reach and
        // (below) with a small one: both must give the same lines whatever the split
        // (Tests/Fixtures/fuzz-regressions/output/overwrite-past-cap-split was the input that
        // showed overwrites past the cap depended on where reads ended; fixed in LineBuffer).
        var whole = Collected(), parts = Collected()
        var p1 = OutputProcessor(maxLineBytes: 1 << 20, now: { 0 })
        var p2 = OutputProcessor(maxLineBytes: 1 << 20, now: { 0 })
        var batch = OutputBatch()
        // The whole feed's batches also go into two real scrollbacks: one that holds everything
        // must show exactly the collected lines, one with tiny bounds the newest of them.
        var held = Scrollback(maxLines: 1 << 20, maxBytes: 1 << 30)
        var tiny = Scrollback(maxLines: 3, maxBytes: 1024)
        func takeWhole() {
            whole.apply(batch); held.apply(batch); tiny.apply(batch); batch.removeAll()
            compare(held, whole.lines, "scrollback")
            compare(tiny, Array(whole.lines.suffix(tiny.count)), "bounded scrollback")
            guard tiny.byteCount <= 1024 || tiny.count == 1 else { fatalError("bounded scrollback over its bound") }
        }
        p1.feed(bytes, into: &batch); takeWhole()
        p1.flushIncompleteInput(into: &batch); takeWhole()
        // CAN (ends any unfinished sequence) and a newline finish the open line, so the two runs are
        // compared on finished lines (an open line erased to nothing is shown as an empty open
        // line only if it was shown before, which depends on where reads end: fuzzing found that
        // this is not a difference).
        p1.feed([0x18, 0x0A], into: &batch); takeWhole()
        p2.feed(Array(bytes[..<cut]), into: &batch); parts.apply(batch); batch.removeAll()
        p2.feed(Array(bytes[cut...]), into: &batch); parts.apply(batch); batch.removeAll()
        p2.flushIncompleteInput(into: &batch); parts.apply(batch); batch.removeAll()
        p2.feed([0x18, 0x0A], into: &batch); parts.apply(batch); batch.removeAll()
        check(whole.lines, "processor whole", cap: 1 << 20)
        check(parts.lines, "processor split", cap: 1 << 20)
        guard whole.lines.map(\.text) == parts.lines.map(\.text) else {
            fatalError("output: split feed at \(cut) differs from one feed")
        }
        // The same bytes with a small cap, whole and in the two pieces: every line within the
        // cap, and the same lines either way.
        var capped = Collected(), cappedWhole = Collected()
        var p3 = OutputProcessor(maxLineBytes: maxLineBytes, now: { 0 })
        p3.feed(Array(bytes[..<cut]), into: &batch); capped.apply(batch); batch.removeAll()
        p3.feed(Array(bytes[cut...]), into: &batch); capped.apply(batch); batch.removeAll()
        p3.flushIncompleteInput(into: &batch); capped.apply(batch); batch.removeAll()
        check(capped.lines, "processor capped")
        p3.feed([0x18, 0x0A], into: &batch); capped.apply(batch); batch.removeAll()
        var p4 = OutputProcessor(maxLineBytes: maxLineBytes, now: { 0 })
        p4.feed(bytes, into: &batch); cappedWhole.apply(batch); batch.removeAll()
        p4.flushIncompleteInput(into: &batch); cappedWhole.apply(batch); batch.removeAll()
        p4.feed([0x18, 0x0A], into: &batch); cappedWhole.apply(batch); batch.removeAll()
        guard cappedWhole.lines.map(\.text) == capped.lines.map(\.text) else {
            fatalError("output: with a \(maxLineBytes)-byte cap, split feed at \(cut) differs from one feed")
        }
        // StreamDecoder (may switch to framed mode when the input starts with a hello line).
        var decoder = StreamDecoder(maxLineBytes: maxLineBytes, maxFrameBytes: 1024, now: { 0 })
        var events: [StreamEvent] = []
        var viaDecoder = Collected()
        decoder.feed(Array(bytes[..<cut]), into: &batch, events: &events); viaDecoder.apply(batch); batch.removeAll()
        decoder.feed(Array(bytes[cut...]), into: &batch, events: &events); viaDecoder.apply(batch); batch.removeAll()
        check(viaDecoder.lines, "decoder")
        for event in events {
            if case .notice(let text) = event, !isSanitized(text) { fatalError("decoder: notice not sanitized") }
        }
    }

    /// The scrollback's newest lines must be `expected` (text, runs and timestamps).
    static func compare(_ scrollback: Scrollback, _ expected: [OutputLine], _ what: String) {
        guard scrollback.count == expected.count else {
            fatalError("\(what): \(scrollback.count) lines, expected \(expected.count)")
        }
        for (position, line) in expected.enumerated() where scrollback[position] != line {
            fatalError("\(what): line \(position) is \(scrollback[position]), expected \(line)")
        }
    }

    static func check(_ lines: [OutputLine], _ what: String, cap: Int = maxLineBytes) {
        for line in lines {
            guard isSanitized(line.text) else { fatalError("\(what): control reached a line: \(line.text.debugDescription)") }
            guard line.text.utf8.count <= cap else { fatalError("\(what): line of \(line.text.utf8.count) bytes") }
            var end = 0
            for run in line.runs {
                guard run.start >= end, run.count >= 0 else { fatalError("\(what): overlapping runs") }
                end = run.start + run.count
            }
            guard end <= line.text.utf8.count else { fatalError("\(what): run past the end") }
        }
    }

    /// The lines a viewer would show after applying every batch, checking the open-line protocol.
    struct Collected {
        var lines: [OutputLine] = []
        var lastIsOpen = false

        mutating func apply(_ batch: OutputBatch) {
            guard !batch.lines.isEmpty else { return }
            var rest = batch.lines[...]
            if batch.replacesOpenLine {
                guard lastIsOpen, !lines.isEmpty else { fatalError("batch replaces an open line that is not there") }
                lines[lines.count - 1] = rest.removeFirst()
            }
            lines.append(contentsOf: rest)
            lastIsOpen = batch.endsWithOpenLine
        }
    }
}

/// True when `text` holds nothing that could drive a terminal (no C0, DEL or C1).
func isSanitized(_ text: String) -> Bool {
    text.unicodeScalars.allSatisfy { s in
        s.value >= 0x20 && s.value != 0x7F && !(0x80...0x9F).contains(s.value)
    }
}

enum FuzzProtocol {
    static func run(_ data: UnsafeRawBufferPointer) {
        let line = Array(data)
        if case .success(let message) = AgentMessage.decode(line: line) {
            let again = AgentMessage.decode(line: Array(message.encode().utf8))
            guard case .success(let decoded) = again, decoded == message else {
                fatalError("protocol: \(message) does not survive encode/decode: \(again)")
            }
        }
        if case .success(let message) = HostMessage.decode(line: line) {
            let again = HostMessage.decode(line: Array(message.encode().utf8))
            guard case .success(let decoded) = again, decoded == message else {
                fatalError("protocol: \(message) does not survive encode/decode: \(again)")
            }
        }
        checkPromptText(String(decoding: line, as: UTF8.self))
    }

    static func checkPromptText(_ text: String) {
        for keepLines in [true, false] {
            let cleaned = PromptText.clean(text, keepLines: keepLines).text
            let clean = cleaned.unicodeScalars.allSatisfy { s in
                (s == "\n" && keepLines) || (isSanitized(String(s)) && s.properties.generalCategory != .format)
                    || s.value == 0x200C || s.value == 0x200D
            }
            guard clean else { fatalError("prompt text: \(cleaned.debugDescription) keeps a control or format character") }
            guard PromptText.clean(cleaned, keepLines: keepLines).text == cleaned else {
                fatalError("prompt text: cleaning \(cleaned.debugDescription) again changes it")
            }
        }
        let line = PlainPrompt.line(for: text).bytes
        guard line.last == 0x0A, !line.dropLast().contains(0x0A), !line.contains(0x03) else {
            fatalError("prompt text: the plain line of \(text.debugDescription) is not one line")
        }
    }
}

enum FuzzConfig {
    static func run(_ data: UnsafeRawBufferPointer) {
        // The loader reads files as UTF-8 text; invalid bytes become U+FFFD the same way.
        let text = String(decoding: data, as: UTF8.self)
        do {
            _ = try ConfigLoader.parse(text, file: "fuzz.yaml")
        } catch {
            // ConfigError is the expected outcome for bad input; it must name the file.
            guard error.description.contains("fuzz.yaml") else { fatalError("config: error without the file: \(error)") }
        }
    }
}
