// InboxFile: one file dropped into an instance's drop directory, read safely and checked.
// `*.json` holds `{"text": "...", "id": "..."?}`; `*.txt` holds the text (trailing line breaks
// dropped). The prompt id is the JSON `id`, else the file name without its extension, so a file
// handled again after a crash is the same prompt (and is not sent twice): name files uniquely
// (a timestamp, a counter). An id is 1 to 128 of `A-Z a-z 0-9 . _ : -`.
// Opening never blocks and never follows a link: `O_NOFOLLOW | O_NONBLOCK`, then `fstat` must say
// a regular file, so a symlink, a FIFO, a device or a directory is refused without being read.
// At most `maxBytes` of text (a JSON file may hold up to 8 times that, for its escapes, plus 4 KiB)
// is read. Every refusal is a sentence for the `.error` file.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum InboxFile {
    public struct Prompt: Equatable, Sendable {
        public var text: String
        public var id: String
    }

    /// Why a file is not sent (the `.error` file's text).
    public struct Refusal: Error, Equatable, CustomStringConvertible, ExpressibleByStringInterpolation {
        public var description: String
        public init(stringLiteral value: String) { description = value }
        public init(stringInterpolation: DefaultStringInterpolation) { description = String(stringInterpolation: stringInterpolation) }
    }

    /// Is `name` a file the drop directory takes (`*.json`, `*.txt`, not hidden)?
    public static func isCandidate(_ name: String) -> Bool {
        !name.hasPrefix(".") && (name.hasSuffix(".json") || name.hasSuffix(".txt"))
    }

    /// Reads and checks the file at `path` (named `name` in the drop directory).
    public static func read(_ path: String, name: String, maxBytes: Int) -> Result<Prompt, Refusal> {
        let json = name.hasSuffix(".json")
        let stem = String(name.dropLast(json ? 5 : 4))
        let limit = json ? maxBytes * 8 + 4096 : maxBytes
        let bytes: [UInt8]
        switch load(path, limit: limit) {
        case .failure(let why): return .failure(why)
        case .success(let loaded): bytes = loaded
        }
        if bytes.count > limit {
            return .failure(json ? "the file is larger than \(limit) bytes: its text would be larger than the limit of \(maxBytes) bytes (server.max_prompt_bytes)"
                                 : "the text is larger than the limit of \(maxBytes) bytes (server.max_prompt_bytes)")
        }
        guard case .success(let decoded) = PromptText.decodeUTF8(bytes) else {
            return .failure("the file is not valid UTF-8")
        }
        var text = decoded
        var id: String?
        if json {
            let value: JSONValue
            do {
                value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
            } catch {
                return .failure("malformed JSON: expected {\"text\": \"...\", \"id\": \"...\"}")
            }
            guard let fields = value.objectValue else { return .failure("malformed JSON: the file must hold one JSON object") }
            switch PromptFields.check(fields, maxBytes: maxBytes) {
            case .success(let prompt): (text, id) = (prompt.text, prompt.id)
            case .failure(let problem): return .failure(refusal(problem, maxBytes: maxBytes))
            }
        } else {
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            if let problem = PromptFields.problem(text: text, maxBytes: maxBytes) { return .failure(refusal(problem, maxBytes: maxBytes)) }
        }
        guard let id = id ?? (PromptIDLedger.isValidID(stem) ? stem : nil) else {
            return .failure("the file name \(stem.debugDescription) is not a usable prompt id (\(PromptFields.idRule)); rename it, or give an \"id\" in a .json file")
        }
        return .success(Prompt(text: text, id: id))
    }

    /// The `.error` file's sentence for a prompt that breaks the core's rule.
    static func refusal(_ problem: PromptFields.Problem, maxBytes: Int) -> Refusal {
        switch problem {
        case .missingText: "missing \"text\""
        case .textNotAString: "\"text\" must be a string"
        case .tooLarge(let bytes): "the text is \(bytes) bytes, larger than the limit of \(maxBytes) bytes (server.max_prompt_bytes)"
        case .emptyText: "the text is empty: an empty prompt is not sent"
        case .badID: "\"id\" must be a string of \(PromptFields.idRule)"
        }
    }

    /// At most `limit + 1` bytes of a regular file, opened without blocking or following a link.
    static func load(_ path: String, limit: Int) -> Result<[UInt8], Refusal> {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ELOOP { return .failure("it is a symbolic link, not a regular file (links are not followed)") }
            return .failure("it cannot be read: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure("it cannot be read: \(String(cString: strerror(errno)))") }
        let type = UInt32(st.st_mode) & UInt32(S_IFMT)
        guard type == UInt32(S_IFREG) else {
            return .failure("it is a \(PathKind.describe(mode: UInt32(st.st_mode))), not a regular file")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while bytes.count <= limit {
            let n = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, min($0.count, limit + 1 - bytes.count)) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n < 0 { return .failure("it cannot be read: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        return .success(bytes)
    }
}

/// read(2) under a name InboxFile.read does not hide.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(fd, buffer, count)
    #else
    Darwin.read(fd, buffer, count)
    #endif
}
