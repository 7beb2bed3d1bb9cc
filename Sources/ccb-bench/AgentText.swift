// AgentText: deterministic agent-like output for the benchmarks: lines of 80-120 bytes
// (newline included), one in seven with SGR colours, built once into a block that writers repeat.
// Parent and children generate the same block, so both know how many lines a run carries.

enum AgentText {
    /// About 1 MiB of whole lines.
    static let blockTarget = 1 << 20

    static func block() -> (bytes: [UInt8], lines: Int) {
        let words = ["the", "build", "passed", "reading", "Sources/BridgeCore/Output/Scrollback.swift", "let",
                     "func", "return", "✓", "tests", "error:", "warning:", "value", "index", "swift", "→",
                     "compiling", "module", "done", "in", "0.42s", "agent", "prompt", "FIFO", "line", "bytes"]
        var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: rng >> 33)
        }
        var out: [UInt8] = []
        out.reserveCapacity(blockTarget + 256)
        var lines = 0
        while out.count < blockTarget {
            let target = 80 + next() % 41          // 80...120 bytes with the newline
            let start = out.count
            if lines % 7 == 3 {
                let colour = 31 + next() % 6
                out += Array("\u{1B}[1;\(colour)m●\u{1B}[0m ".utf8)
            }
            while out.count - start < target - 1 {
                let word = words[next() % words.count]
                out += Array(word.utf8)
                out.append(0x20)
            }
            // Trim to the exact length on a UTF-8 boundary, then end the line.
            while out.count - start > target - 1 || (out.last.map { $0 & 0xC0 == 0x80 || $0 >= 0xC0 } ?? false) {
                out.removeLast()
            }
            out.append(0x0A)
            lines += 1
        }
        return (out, lines)
    }

    /// Whole blocks covering at least `bytes`.
    static func blocks(for bytes: Int, blockSize: Int) -> Int { max(1, (bytes + blockSize - 1) / blockSize) }
}
