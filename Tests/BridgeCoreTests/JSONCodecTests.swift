// JSONCodecTests: the socket's own JSON reader and writer (JSONCodec.swift) against Foundation's
// JSONDecoder on the same texts, round trips of awkward strings and numbers, and the texts it must
// refuse (RFC 8259): lone surrogates, control characters, bad numbers, invalid UTF-8, trailing bytes.

import BridgeCore
import Foundation
import Testing

@Suite struct JSONCodecTests {
    static let valid = [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
        #" { "x" : [ 1 , -2.5 , 3e2 , 0.000125 , -0 , 1E-3 ] } "#,
        #""plain""#,
        #""quote \" backslash \\ slash \/ controls \b\f\n\r\t \u0001 \u00e9 \u2028 \ud83d\ude00""#,
        #"[[],{},"",0]"#,
        "\"raw UTF-8: é 日本語 ✨\"",
        "123456789012",
        "9007199254740993",
    ]

    @Test func agreesWithFoundationOnValidTexts() throws {
        for text in Self.valid {
            let ours = try JSONValue.parse(Array(text.utf8))
            let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(ours == theirs, "\(text): \(ours) vs \(theirs)")
        }
        #expect(try JSONValue.parse(Array(#"{"dup":1,"dup":2}"#.utf8)) == ["dup": 2])
    }

    @Test func whatItWritesReadsBackTheSameAndFoundationReadsItToo() throws {
        let value: JSONValue = [
            "text": .string("a \"q\" \\ / \u{1B}[31m\n\t\u{0}\u{7F} é 日本 😀 \u{2028}"),
            "numbers": [0, -1, 1.5, 1e-7, 123456789012345, 1e300, -2.5e-300, 0.1],
            "nested": ["empty": [:], "list": [], "null": nil, "yes": true, "no": false],
            "": "empty key",
        ]
        let bytes = value.jsonBytes()
        #expect(try JSONValue.parse(bytes) == value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) == value)
        // Keys sorted, no whitespace, "/" not escaped, controls escaped.
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"":"empty key","nested":{"empty":{},"list":[],"no":false,"null":null,"yes":true},"numbers":[0,-1,1.5,"#))
        #expect(text.contains(#"\\ / \u001b[31m\n\t\u0000\u007f"#) == false)   // DEL is not a control JSON must escape
        #expect(text.contains(#"\\ / \u001b[31m\n\t\u0000"#))
        #expect(!text.contains("\n") && !text.contains("\u{1B}"))
        #expect(JSONValue.number(.nan).jsonBytes() == Array("null".utf8))
    }

    @Test func refusesWhatIsNotJSON() {
        let invalid: [[UInt8]] = [
            Array(#""\ud83d""#.utf8), Array(#""\ude00""#.utf8), Array(#""\ud83d\u0041""#.utf8),
            Array("\"a\u{01}b\"".utf8), Array("\"line\nbreak\"".utf8),
            Array("01".utf8), Array("1.".utf8), Array("-".utf8), Array("1e".utf8), Array(".5".utf8), Array("+1".utf8),
            Array("1e999".utf8), Array("NaN".utf8),
            [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22],
            Array(#"{"a":1"#.utf8), Array(#"{"a" 1}"#.utf8), Array(#"{a:1}"#.utf8), Array("[1,]".utf8), Array("[1 2]".utf8),
            Array(#""unterminated"#.utf8), Array(#""bad \x escape""#.utf8), Array(#""\u12""#.utf8),
            Array("true false".utf8), Array("nul".utf8), Array("".utf8), Array("   ".utf8),
            Array(repeating: UInt8(ascii: "["), count: 300) + Array(repeating: UInt8(ascii: "]"), count: 300),
        ]
        for bytes in invalid {
            #expect(throws: JSONParseError.self, "\(String(decoding: bytes, as: UTF8.self).prefix(40).debugDescription)") {
                try JSONValue.parse(bytes)
            }
        }
    }
}
