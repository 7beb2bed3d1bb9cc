// UTF8ValidityTests: UTF8Scan.isValid (a server client's check of an output event's text, ASCII
// 32 and eight bytes at a time) says what String(validating:) says, on hand-picked edge cases at
// every offset around the steps and on seeded random mixes of ASCII, valid and broken UTF-8.

import Testing
@testable import BridgeCore

@Suite struct UTF8ValidityTests {
    static func reference(_ bytes: [UInt8]) -> Bool { String(validating: bytes, as: UTF8.self) != nil }

    static func ours(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { UTF8Scan.isValid($0) }
    }

    @Test func edgeCasesAtEveryOffsetAgreeWithTheStandardLibrary() {
        let cases: [[UInt8]] = [
            [], [0x41], Array("日本語 ✓ → é".utf8), Array("😀".utf8), [0xC2, 0x80], [0xC2, 0x9F],   // C1 controls are valid UTF-8
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xF0, 0x80, 0x80, 0x80],            // overlong
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
            [0x80], [0xBF], [0xE2, 0x9C], [0xF0, 0x9F, 0x98], [0xE2, 0x28, 0xA1], [0xFF], [0xFE],
            [0x0A], [0x0A, 0x0A], [0x0B, 0x0A, 0x09], [0x0A, 0xE2, 0x9C, 0x93, 0x0A], Array("✓\n→\n\n".utf8),
        ]
        for piece in cases {
            for before in 0..<42 {
                for after in [0, 1, 7, 8, 9, 31, 32, 33] {
                    let bytes = Array(repeating: UInt8(ascii: "a"), count: before) + piece + Array(repeating: UInt8(ascii: "z"), count: after)
                    #expect(Self.ours(bytes) == Self.reference(bytes), "\(piece) after \(before), before \(after)")
                }
            }
        }
    }

    @Test func randomMixesAgreeWithTheStandardLibrary() {
        var rng: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> Int {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return Int(truncatingIfNeeded: rng >> 1)
        }
        let valid = Array("ok é ✓ 😀 日本\n".utf8)
        var invalidSeen = 0
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            for _ in 0..<(next() % 12) {
                switch next() % 6 {
                case 0, 1: bytes += Array(repeating: UInt8(0x20 + next() % 90), count: next() % 20)
                case 2, 3: bytes += valid
                case 4: bytes.append(UInt8(0x80 + next() % 128))
                default: bytes += Array(valid.prefix(next() % valid.count))
                }
            }
            if !Self.reference(bytes) { invalidSeen += 1 }
            #expect(Self.ours(bytes) == Self.reference(bytes), "\(bytes)")
        }
        #expect(invalidSeen > 300 && invalidSeen < 2900, "the mix must hold both kinds (\(invalidSeen) invalid)")
    }
}
