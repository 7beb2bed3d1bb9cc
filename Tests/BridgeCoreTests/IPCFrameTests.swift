// IPCFrame / IPCMessage: frames round trip whole and byte by byte; garbage, truncated, oversized
// and over-nested input gives a typed error, never a trap; every message survives encode/decode.

import Foundation
import Testing
@testable import BridgeCore

private let awkward = "line one\nline \"two\"\t\\ back\r\u{0}\u{1B}[31m\u{7F}\u{85} é ❯ 😀 \u{2028}"

private let messages: [IPCMessage] = [
    .welcome(protocol: 1, version: "0.3.0", pid: 4242),
    .auth(protocol: 1, token: String(repeating: "ab", count: 32)),
    .authOK,
    .request(IPCRequest(id: 1, method: "list")),
    .request(IPCRequest(id: 2, method: "send", params: ["instance": "claude-1", "text": .string(awkward), "n": 3.5,
                                                        "flags": [true, false, nil], "deep": ["a": ["b": ["c": 1]]]])),
    .response(id: 2, result: ["delivered": true, "bytes": 12]),
    .response(id: 3, result: nil),
    .error(id: 4, IPCError(.noSuchInstance, "no instance \(awkward)")),
    .error(id: nil, IPCError(.unauthenticated, "wrong token")),
    .error(id: 5, IPCError(IPCErrorCode(rawValue: "from_a_newer_server"), "")),
    .event(IPCEvent(name: IPCEventName.output, data: ["instance": "claude-1", "line": 1_000_000_000_000],
                    attachment: Array(awkward.utf8) + [0xFF, 0x00, 0x0A])),
    .event(IPCEvent(name: IPCEventName.serverStopping)),
]

@Suite struct IPCFrameTests {
    @Test(arguments: messages)
    func messageRoundTripsThroughAFrame(message: IPCMessage) throws {
        var decoder = IPCFrameDecoder()
        decoder.append(message.encoded())
        let frame = try #require(try decoder.next())
        #expect(IPCMessage.decode(frame) == .success(message))
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedBytes == 0)
        try decoder.finish()
    }

    @Test func framesSplitAtEveryByteDecodeTheSame() throws {
        let stream = messages.flatMap { $0.encoded() }
        var decoder = IPCFrameDecoder()
        var decoded: [IPCMessage] = []
        for byte in stream {
            decoder.append([byte])
            while let frame = try decoder.next() { decoded.append(try IPCMessage.decode(frame).get()) }
        }
        #expect(decoded == messages)
        try decoder.finish()
    }

    /// Large attachments (output events) are collected apart from the decoder's buffer: frames
    /// of every size, cut into pieces of every kind of size (inside the header, the JSON, the
    /// attachment, across frames), come out whole and in order, and a cut inside a large
    /// attachment is reported with the right counts.
    @Test(arguments: [1, 7, 4095, 16 << 10, 65_537, 1 << 20])
    func largeAttachmentsCutAnywhereDecodeTheSame(piece: Int) throws {
        func bytes(_ n: Int, _ seed: UInt8) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed } }
        let sizes = [0, 3, (16 << 10) - 1, 16 << 10, 70_000, 5, 300_000, 16 << 10, 1, 100_001]
        let frames = sizes.enumerated().map { index, size in
            IPCFrame(json: Array(#"{"n":\#(index)}"#.utf8), attachment: bytes(size, UInt8(index)))
        }
        let stream = frames.flatMap { $0.encoded() }
        var decoder = IPCFrameDecoder()
        var decoded: [IPCFrame] = []
        var at = 0
        while at < stream.count {
            let end = min(stream.count, at + piece)
            stream[at..<end].withUnsafeBytes { decoder.append($0) }
            at = end
            while let frame = try decoder.next() { decoded.append(frame) }
            #expect(decoder.bufferedBytes <= IPCFrame.headerBytes + 300_000 + 16 + piece)
        }
        #expect(decoded.count == frames.count)
        #expect(decoded == frames)
        #expect(decoder.bufferedBytes == 0)
        try decoder.finish()

        // Cut inside a large attachment: truncated, with what came and what was announced.
        let big = IPCFrame(json: Array("{}".utf8), attachment: bytes(70_000, 9)).encoded()
        var cut = IPCFrameDecoder()
        cut.append(Array(big[..<(big.count - 1000)]))
        #expect(try cut.next() == nil)
        #expect(cut.bufferedBytes == big.count - 1000)
        #expect(throws: IPCFrameError.truncated(have: big.count - 1000, need: big.count)) { try cut.finish() }
        cut.append(Array(big[(big.count - 1000)...]))
        #expect(try cut.next() == IPCFrame(json: Array("{}".utf8), attachment: bytes(70_000, 9)))
    }

    @Test func wireFormIsAsDocumented() {
        let bytes = IPCMessage.request(IPCRequest(id: 7, method: "list")).encoded()
        let json = #"{"id":7,"method":"list","params":null,"type":"request"}"#
        #expect(Array(bytes.prefix(4)) == Array("CCB1".utf8))
        #expect(Array(bytes[4..<12]) == [0, 0, 0, UInt8(json.utf8.count), 0, 0, 0, 0])
        #expect(String(decoding: bytes[12...], as: UTF8.self) == json)
        // The attachment travels raw after the JSON; its length is the second word.
        let event = IPCMessage.event(IPCEvent(name: "output", attachment: [0x1B, 0x0A])).encoded()
        #expect(Array(event[8..<12]) == [0, 0, 0, 2])
        #expect(Array(event.suffix(2)) == [0x1B, 0x0A])
    }

    @Test func garbageIsABadMagicAtTheFirstWrongByte() {
        var decoder = IPCFrameDecoder()
        decoder.append(Array("GET / HTTP/1.1\r\n".utf8))
        #expect(throws: IPCFrameError.badMagic) { try decoder.next() }
        // It stays failed: the stream is out of step.
        decoder.append(IPCMessage.authOK.encoded())
        #expect(throws: IPCFrameError.badMagic) { try decoder.next() }
        var early = IPCFrameDecoder()
        early.append(Array("CX".utf8))
        #expect(throws: IPCFrameError.badMagic) { try early.next() }
    }

    @Test func oversizedFrameIsRefusedFromItsHeaderAlone() {
        var decoder = IPCFrameDecoder(maxFrameBytes: 1024)
        var header = IPCFrame.magic
        IPCFrame.appendU32(1000, to: &header)
        IPCFrame.appendU32(25, to: &header)
        decoder.append(header)
        #expect(throws: IPCFrameError.frameTooLarge(1025, max: 1024)) { try decoder.next() }
        var huge = IPCFrameDecoder()
        var most = IPCFrame.magic
        IPCFrame.appendU32(.max, to: &most)
        IPCFrame.appendU32(.max, to: &most)
        huge.append(most)
        #expect(throws: IPCFrameError.frameTooLarge(2 * Int(UInt32.max), max: IPCFrame.defaultMaxFrameBytes)) { try huge.next() }
        var exact = IPCFrameDecoder(maxFrameBytes: 1024)
        exact.append(IPCFrame(json: Array("{}".utf8), attachment: [UInt8](repeating: 7, count: 1022)).encoded())
        #expect((try? exact.next())??.attachment.count == 1022)
    }

    @Test func tooShortJSONLengthIsRefused() {
        var decoder = IPCFrameDecoder()
        decoder.append(IPCFrame(json: Array("{".utf8)).encoded())
        #expect(throws: IPCFrameError.badLength(1)) { try decoder.next() }
    }

    @Test func truncatedStreamIsReportedAtTheEnd() throws {
        let bytes = IPCMessage.authOK.encoded()
        for cut in 1..<bytes.count {
            var decoder = IPCFrameDecoder()
            decoder.append(bytes[..<cut])
            #expect(try decoder.next() == nil)
            let need = cut >= IPCFrame.headerBytes ? bytes.count : IPCFrame.headerBytes
            #expect(throws: IPCFrameError.truncated(have: cut, need: need)) { try decoder.finish() }
        }
    }

    @Test func jsonThatIsNotAMessageGivesATypedError() {
        func decode(_ text: String) -> Result<IPCMessage, IPCMessageError> {
            IPCMessage.decode(IPCFrame(json: Array(text.utf8)))
        }
        #expect(decode(#"{"type":"request","method":"x"}"#) == .failure(.missingField("id")))
        #expect(decode(#"{"id":1}"#) == .failure(.missingField("type")))
        #expect(decode(#"{"type":"launch"}"#) == .failure(.unknownType("launch")))
        #expect(decode(#"{"type":"request","id":"one","method":"x"}"#).failure != nil)
        #expect(decode("[1,2]").failure != nil)
        #expect(decode("{\"type\":\"auth\",\"protocol\":1,\"token\":\"\u{FF}\"}").failure == nil)
        #expect(IPCMessage.decode(IPCFrame(json: [0x7B, 0xFF, 0xFE, 0x7D])).failure != nil)
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(decode(#"{"type":"request","id":1,"method":"x","params":"# + deep + "}") == .failure(.tooDeep))
        // Brackets inside strings do not count as nesting.
        let brackets = String(repeating: "[", count: 1000)
        #expect(decode(#"{"type":"request","id":1,"method":"\#(brackets)"}"#)
                == .success(.request(IPCRequest(id: 1, method: brackets))))
        // Unknown fields are ignored (a newer client or server).
        #expect(decode(#"{"type":"auth_ok","since":"v2","extra":{"a":[1]}}"#) == .success(.authOK))
    }

    @Test func tokensCompareOnlyWhenEqual() {
        let token = IPCToken.generate()
        #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
        #expect(IPCToken.generate() != token)
        #expect(IPCToken.matches(token, token))
        #expect(!IPCToken.matches(String(token.dropLast()), token))
        #expect(!IPCToken.matches(token + "0", token))
        #expect(!IPCToken.matches("", token))
        var flipped = Array(token.utf8)
        flipped[63] = flipped[63] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(!IPCToken.matches(String(decoding: flipped, as: UTF8.self), token))
    }

    @Test func backoffGrowsByTheFactorUpToTheMaximumWithJitterBelowIt() {
        let backoff = IPCBackoff(base: 0.1, factor: 2, max: 1, jitter: 0.5)
        #expect((0..<6).map { backoff.ceiling(attempt: $0) } == [0.1, 0.2, 0.4, 0.8, 1, 1])
        #expect(backoff.delay(attempt: 2, unit: 1) == 0.4)
        #expect(backoff.delay(attempt: 2, unit: 0) == 0.2)
        for attempt in 0..<10 {
            let delay = backoff.delay(attempt: attempt)
            #expect(delay >= backoff.ceiling(attempt: attempt) / 2 && delay <= backoff.ceiling(attempt: attempt))
        }
        #expect(IPCBackoff(base: 0.1, factor: 2, max: 5, jitter: 0).delay(attempt: 1000, unit: 0.3) == 5)
    }
}
