// Helpers for the output tests: run bytes through an OutputProcessor and collect the visible lines
// the way a Scrollback would, checking the open-line protocol of every batch on the way.

@testable import BridgeCore

/// The lines a viewer would show after applying every batch.
struct CollectedOutput {
    var lines: [OutputLine] = []
    var lastIsOpen = false
    /// Batches that claimed to replace an open line when none was shown.
    var protocolViolations = 0

    mutating func apply(_ batch: OutputBatch) {
        guard !batch.lines.isEmpty else { return }
        var rest = batch.lines[...]
        if batch.replacesOpenLine {
            if lastIsOpen && !lines.isEmpty { lines[lines.count - 1] = rest.removeFirst() } else { protocolViolations += 1 }
        }
        lines.append(contentsOf: rest)
        lastIsOpen = batch.endsWithOpenLine
    }

    var texts: [String] { lines.map(\.text) }
}

/// Feeds `chunks` one by one (a fresh batch per feed) and collects the result.
func collect(_ chunks: [[UInt8]], maxLineBytes: Int = 64 << 10) -> CollectedOutput {
    var processor = OutputProcessor(maxLineBytes: maxLineBytes, now: { 0 })
    var out = CollectedOutput()
    var batch = OutputBatch()
    for chunk in chunks {
        processor.feed(chunk, into: &batch)
        out.apply(batch)
        batch.removeAll(keepingCapacity: true)
    }
    return out
}

func collect(_ text: String, maxLineBytes: Int = 64 << 10) -> CollectedOutput {
    collect([Array(text.utf8)], maxLineBytes: maxLineBytes)
}

/// Splits `bytes` into two feeds at `k`.
func split(_ bytes: [UInt8], at k: Int) -> [[UInt8]] {
    [Array(bytes[..<k]), Array(bytes[k...])]
}

/// True when `text` holds nothing that could drive a terminal.
func isSanitized(_ text: String) -> Bool {
    text.unicodeScalars.allSatisfy { s in
        s.value >= 0x20 && s.value != 0x7F && !(0x80...0x9F).contains(s.value)
    }
}

/// A small deterministic PRNG (SplitMix64) so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
