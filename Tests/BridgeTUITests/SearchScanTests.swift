// SearchScanTests: the `/` search scans the scrollback's packed blocks (Scrollback.lineNumbers)
// instead of making a String per line; it must find exactly the lines a line-by-line search
// finds, across blocks, after trimming, after an open line was replaced, with smart case.

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct SearchScanTests {
    static func lineByLine(_ scrollback: Scrollback, _ match: TextMatch) -> [Int] {
        (scrollback.firstLineNumber..<scrollback.endLineNumber).filter { match.matches(scrollback.line(at: $0)!.text) }
    }

    @Test func theBlockScanFindsWhatALineByLineSearchFinds() {
        // Small bounds: many blocks, and the oldest trimmed as lines arrive.
        var scrollback = Scrollback(maxLines: 3000, maxBytes: 96 << 10)
        var rng: UInt64 = 7
        let words = ["alpha", "Beta", "gamma", "FIFO", "line", "fifo", "needle", "x", "日本", "needleneedle"]
        for i in 0..<5000 {
            var text = ""
            for _ in 0..<(i % 9) {
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                text += words[Int(rng >> 33) % words.count] + " "
            }
            scrollback.append(OutputLine(text: text, timestamp: 0))
        }
        // An open line replaced by a longer one leaves no stale bytes that could match.
        var batch = OutputBatch(lines: [OutputLine(text: "needle partial", timestamp: 0)], endsWithOpenLine: true)
        _ = scrollback.apply(batch)
        batch = OutputBatch(lines: [OutputLine(text: "replaced", timestamp: 0)], replacesOpenLine: true, endsWithOpenLine: false)
        _ = scrollback.apply(batch)
        #expect(scrollback.firstLineNumber > 0)
        for query in ["needle", "FIFO", "fifo", "line", "Beta", "e n", "日本", "needleneedle", "a", "zzz"] {
            let match = TextMatch(query)
            let fast = scrollback.lineNumbers { bytes, from in match.firstRange(in: bytes, from: from) }
            #expect(fast == SearchScanTests.lineByLine(scrollback, match), "query \(query)")
        }
        #expect(!scrollback.lineNumbers { bytes, from in TextMatch("needle partial").firstRange(in: bytes, from: from) }
            .contains(scrollback.endLineNumber - 1))
    }
}
