// TurnJSONTests: Turn.jsonValue, built by hand for the server's events and answers, is the
// value the Codable path (JSONEncoder, then the parser) gives, for every optional present or
// absent and awkward strings and numbers, and reads back as the same Turn.

import Testing
@testable import BridgeCore

@Suite struct TurnJSONTests {
    @Test func everyTurnIsWhatTheCodablePathGives() throws {
        for turn in HistoryLineWriterTests.turns() {
            #expect(turn.jsonValue == ServerWire.encode(turn), "\(turn)")
            #expect(try turn.jsonValue.decode(Turn.self) == turn)
        }
    }

    @Test func aNonFiniteNumberGivesWhatTheCodablePathGives() {
        let turn = Turn(id: "nan", prompt: "p", sentAt: .nan)
        #expect(turn.jsonValue == ServerWire.encode(turn))
    }
}
