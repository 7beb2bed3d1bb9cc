// HTTPResponseParser: just enough HTTP/1.1 to read the Docker Engine API's answers: a status
// line, headers, and a body framed by Content-Length, chunked transfer encoding, or the end of
// the connection. Pure: it looks at the bytes received so far and says whether they are a whole
// response yet.

public struct HTTPResponse: Equatable, Sendable {
    public var status: Int
    public var reason: String
    /// Header names in lower case; a repeated header keeps its last value.
    public var headers: [String: String]
    public var body: [UInt8]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

public enum HTTPParseResult: Equatable, Sendable {
    case incomplete
    case complete(HTTPResponse)
    case invalid(String)
}

public enum HTTPResponseParser {
    public static let maxHeadBytes = 64 << 10
    public static let maxBodyBytes = 16 << 20

    /// `atEOF`: the peer closed the connection, so a body without a length ends here.
    public static func parse(_ bytes: [UInt8], atEOF: Bool) -> HTTPParseResult {
        guard let headEnd = find([0x0D, 0x0A, 0x0D, 0x0A], in: bytes, from: 0) else {
            if bytes.count > maxHeadBytes { return .invalid("response headers longer than \(maxHeadBytes) bytes") }
            return atEOF ? .invalid(bytes.isEmpty ? "the connection closed without a response" : "the connection closed inside the response headers") : .incomplete
        }
        let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...999).contains(status) else {
            return .invalid("not an HTTP/1.x status line: \"\(statusLine.prefix(80))\"")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return .invalid("malformed header line \"\(line.prefix(80))\"") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var response = HTTPResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: [])
        let bodyStart = headEnd + 4
        if status == 204 || status == 304 || (100..<200).contains(status) { return .complete(response) }

        if let encoding = headers["transfer-encoding"], encoding.lowercased().contains("chunked") {
            switch dechunk(bytes, from: bodyStart) {
            case .incomplete: return atEOF ? .invalid("the connection closed inside a chunked body") : .incomplete
            case .invalid(let why): return .invalid(why)
            case .done(let body):
                response.body = body
                return .complete(response)
            }
        }
        if let lengthText = headers["content-length"] {
            guard let length = Int(lengthText), length >= 0 else { return .invalid("bad Content-Length \"\(lengthText)\"") }
            guard length <= maxBodyBytes else { return .invalid("body of \(length) bytes is too large") }
            if bytes.count - bodyStart < length {
                return atEOF ? .invalid("the connection closed after \(bytes.count - bodyStart) of \(length) body bytes") : .incomplete
            }
            response.body = Array(bytes[bodyStart..<(bodyStart + length)])
            return .complete(response)
        }
        // No framing: the body runs to the end of the connection.
        if bytes.count - bodyStart > maxBodyBytes { return .invalid("body too large") }
        guard atEOF else { return .incomplete }
        response.body = Array(bytes[bodyStart...])
        return .complete(response)
    }

    enum Dechunked {
        case incomplete
        case invalid(String)
        case done([UInt8])
    }

    static func dechunk(_ bytes: [UInt8], from start: Int) -> Dechunked {
        var body: [UInt8] = []
        var i = start
        while true {
            guard let lineEnd = find([0x0D, 0x0A], in: bytes, from: i) else { return .incomplete }
            let sizeLine = String(decoding: bytes[i..<lineEnd], as: UTF8.self)
            let sizeText = sizeLine.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else { return .invalid("bad chunk size \"\(sizeLine.prefix(40))\"") }
            i = lineEnd + 2
            if size == 0 {
                // Trailers, then an empty line.
                while true {
                    guard let end = find([0x0D, 0x0A], in: bytes, from: i) else { return .incomplete }
                    if end == i { return .done(body) }
                    i = end + 2
                }
            }
            guard body.count + size <= maxBodyBytes else { return .invalid("chunked body too large") }
            guard bytes.count >= i + size + 2 else { return .incomplete }
            body += bytes[i..<(i + size)]
            guard bytes[i + size] == 0x0D, bytes[i + size + 1] == 0x0A else { return .invalid("chunk not followed by CRLF") }
            i += size + 2
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var i = start
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

import Foundation
