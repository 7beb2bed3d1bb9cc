// HistoryLineWriterTests: the hand-written history line reads back, through the history's own
// reader (HistoryRecord.decode), as the record it was written from, for every record kind, with
// and without each optional field, and for awkward strings and numbers; and a record JSON cannot
// carry (a NaN) still goes to the encoder's marker.

import Foundation
import Testing
@testable import BridgeCore

@Suite struct HistoryLineWriterTests {
    static let awkward = [
        "", "plain", "quote \" backslash \\ slash / done", "new\nline\ttab\rcr", "\u{0}\u{1}\u{1F}\u{7F}",
        "é ü 漢字 🙂 \u{FEFF}", "{\"kind\":\"input\"}", String(repeating: "x", count: 5000),
    ]
    static let numbers: [Double] = [0, 1, -1, 0.5, 1e-7, 1.7e308, 5e-324, 1_733_100_000.123456, 123456789012345678, 0.1 + 0.2]

    static func turns() -> [Turn] {
        var out: [Turn] = []
        for (i, text) in awkward.enumerated() {
            let n = numbers[i % numbers.count]
            var turn = Turn(id: "t-\(i)-\(text.prefix(3))", prompt: text, sentAt: n, status: TurnStatus.allCases[i % TurnStatus.allCases.count],
                            origin: i % 5 == 0 ? nil : PromptOrigin.allCases[i % PromptOrigin.allCases.count])
            turn.response = awkward[(i + 3) % awkward.count]
            turn.truncated = i % 2 == 0
            if i % 2 == 1 { turn.firstByteAt = numbers[(i + 1) % numbers.count] }
            if i % 3 != 0 { turn.doneAt = numbers[(i + 2) % numbers.count] }
            if i % 4 != 1 { turn.lastOutputAt = numbers[(i + 4) % numbers.count] }
            if i % 3 == 1 { turn.error = awkward[(i + 5) % awkward.count] }
            if i % 2 == 0 { turn.exitCode = [0, 1, -9, 255, Int(Int32.max)][i % 5] }
            out.append(turn)
        }
        out.append(Turn(id: "bare", prompt: "p", sentAt: 1))   // every optional absent
        return out
    }

    static func records() -> [HistoryRecord] {
        var records = turns().map { HistoryRecord.turn($0) }
        for (i, text) in awkward.enumerated() {
            records.append(.input(InputEntry(text: text, at: numbers[i % numbers.count])))
            records.append(.outbox(OutboxEntry(id: "o\(i)", text: text, state: [.queued, .cancelled, .delivered][i % 3],
                                               queuedAt: numbers[i % numbers.count], changedAt: numbers[(i + 1) % numbers.count],
                                               origin: i % 4 == 0 ? nil : PromptOrigin.allCases[i % PromptOrigin.allCases.count])))
        }
        return records
    }

    @Test func everyRecordReadsBackAsItself() {
        for record in Self.records() {
            var line: [UInt8] = []
            #expect(HistoryLineWriter.append(record, to: &line), "\(record)")
            #expect(HistoryRecord.decode(line: line) == .success(record), "\(String(decoding: line, as: UTF8.self))")
            #expect(!line.contains(0x0A), "one line")
        }
    }

    /// The text is the encoder's (sorted keys, no spaces, "/" as is), so files diff as before;
    /// numbers are compared as numbers (the two may spell a Double differently).
    @Test func theLineIsTheEncodersObject() throws {
        for record in Self.records() {
            var line: [UInt8] = []
            _ = HistoryLineWriter.append(record, to: &line)
            let mine = try JSONValue.parse(line)
            let theirs = try JSONValue.parse(record.encodedLineThroughEncoder())
            #expect(mine == theirs, "\(String(decoding: line, as: UTF8.self))")
            let keys = String(decoding: line, as: UTF8.self)
            #expect(!keys.contains(" :") && !keys.contains("\\/"))
        }
    }

    @Test func aNonFiniteNumberIsLeftToTheEncodersMarker() {
        var turn = Turn(id: "nan", prompt: "p", sentAt: .nan)
        var line: [UInt8] = []
        #expect(!HistoryLineWriter.append(.turn(turn), to: &line) && line.isEmpty)
        #expect(String(decoding: HistoryRecord.turn(turn).encodedLine(), as: UTF8.self) == #"{"kind":"unencodable","v":1}"#)
        turn.sentAt = 1
        turn.doneAt = .infinity
        #expect(!HistoryLineWriter.append(.turn(turn), to: &line))
    }
}
