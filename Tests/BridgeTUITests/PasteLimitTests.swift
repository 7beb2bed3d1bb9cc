// PasteLimitTests: a bracketed paste over the limit is refused whole (never cut to 1 MiB and
// "sent"), a paste that would push the prompt over the limit is refused with both sizes, and
// pasted control bytes (0x03 above all) and escape sequences never reach the prompt.

import Testing
@testable import BridgeTUI
import BridgeCore

@Suite struct PasteLimitTests {
    static func isPaste(_ event: InputEvent) -> Bool {
        if case .paste = event { return true }
        return false
    }

    @Test func aPasteOverTheLimitIsRefusedWholeNotCut() {
        var decoder = InputDecoder()
        let size = PromptText.maxBytes + 1
        var events = decoder.feed(Array("\u{1B}[200~".utf8))
        // In pieces, as a terminal delivers it.
        let piece = [UInt8](repeating: UInt8(ascii: "z"), count: 64 << 10)
        var left = size
        while left > 0 {
            events += decoder.feed(piece.prefix(left))
            left -= min(left, piece.count)
        }
        events += decoder.feed(Array("\u{1B}[201~y".utf8))
        #expect(!events.contains(where: Self.isPaste), "an oversized paste must not arrive cut")
        #expect(events == [.pasteRefused(bytes: size), .key(.char("y"))])
        var h = Harness()
        h.send(.pasteRefused(bytes: size))
        #expect(h.state.status?.text.contains("1,048,577") == true && h.state.status?.text.contains("1,048,576") == true,
                "\(String(describing: h.state.status))")
        #expect(h.active.prompt.isEmpty)
    }

    @Test func aPasteThatWouldPushThePromptOverTheLimitIsRefusedWithBothSizes() {
        var h = Harness()
        let half = String(repeating: "h", count: 600 << 10)
        h.send(.paste(half))
        #expect(h.active.prompt.text.utf8.count == half.utf8.count)
        h.send(.paste(half))
        #expect(h.active.prompt.text.utf8.count == half.utf8.count, "the second paste must not be inserted")
        #expect(h.state.status?.text.contains("1,228,800") == true && h.state.status?.text.contains("1,048,576") == true,
                "\(String(describing: h.state.status))")
    }

    @Test func pastedControlBytesAndEscapeSequencesNeverReachThePrompt() {
        var h = Harness()
        h.send(.paste("stop\u{03}here\u{1B}[31m red\u{1B}[0m\ttab\u{202E}\nnext"))
        #expect(h.active.prompt.text == "stophere red tab\nnext")
        #expect(h.press("submitPrompt") == [.send(instance: "api", promptID: "p1", text: "stophere red tab\nnext")])
    }
}
