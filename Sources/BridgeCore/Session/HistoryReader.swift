// HistoryReader: loads a history file from its END, bounded. Lines are found backwards in 64 KiB
// reads; the newest version of each record wins (so older versions are never decoded), and
// reading stops once the newest max_history turns and max_inputs inputs are in hand, or when a
// byte budget is spent. A 1 GB file therefore costs the same as its last few hundred KiB, and
// memory holds only the kept records and one line (a line over `maxLineBytes` is skipped, not
// held). A damaged line is skipped with a warning naming it by line number when the reader got
// to the start of the file, else by byte offset.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

extension HistoryStore {
    /// Bounds of one load.
    public struct ReadLimits: Sendable {
        public var maxHistory: Int
        public var maxInputs: Int
        /// Bytes read before giving up on finding more records.
        public var scanBytes: Int
        /// Bytes handed to the JSON decoder before giving up.
        public var decodeBytes: Int
        /// A longer line is skipped with a warning.
        public var maxLineBytes: Int
        /// Distinct outbox entries kept.
        public var maxOutbox: Int

        public init(maxHistory: Int = .max, maxInputs: Int = .max, scanBytes: Int = 64 << 20,
                    decodeBytes: Int? = nil, maxLineBytes: Int = 8 << 20, maxOutbox: Int = 4096) {
            self.maxHistory = max(maxHistory, 1)
            self.maxInputs = max(maxInputs, 0)
            self.scanBytes = scanBytes
            // Room for max_history turns of the largest reply, but never more than the scan.
            let perTurn = 320 << 10
            let history = maxHistory > (1 << 20) ? 1 << 20 : maxHistory
            self.decodeBytes = decodeBytes ?? min(scanBytes, (8 << 20) + history * perTurn)
            self.maxLineBytes = maxLineBytes
            self.maxOutbox = maxOutbox
        }
    }

    /// One line found while reading backwards.
    struct FoundLine {
        var offset: Int
        /// 1 for the last line of the file.
        var fromEnd: Int
        var hasNewline: Bool
        /// nil when the line was longer than the limit (its bytes were not kept).
        var bytes: [UInt8]?
        var length: Int
    }

    /// Calls `body` with each line of `fd`, last line first, until it returns false. Returns the
    /// bytes read and whether the start of the file was reached.
    static func eachLineBackwards(_ fd: Int32, size: Int, path: String, maxLineBytes: Int, scanBytes: Int,
                                  syscalls: Syscalls, _ body: (FoundLine) -> Bool)
        -> Result<(scanned: Int, reachedStart: Bool), SystemError> {
        let chunkSize = 64 << 10
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var pos = size
        // The end of the current line is known, its start not yet: its bytes so far (in file
        // order) and its length.
        var pieces: [[UInt8]] = []   // newest piece first
        var tailLength = 0
        var tailOverflow = false
        var tailHasNewline = false
        var started = false   // the file's last byte was seen
        var fromEnd = 0
        var scanned = 0
        func emit(offset: Int) -> Bool {
            fromEnd += 1
            let bytes: [UInt8]? = tailOverflow ? nil : pieces.count == 1 ? pieces[0] : Array(pieces.reversed().joined())
            let line = FoundLine(offset: offset, fromEnd: fromEnd, hasNewline: tailHasNewline, bytes: bytes, length: tailLength)
            pieces.removeAll(keepingCapacity: true)
            tailLength = 0
            tailOverflow = false
            tailHasNewline = true
            return body(line)
        }
        while pos > 0 {
            if scanned >= scanBytes { return .success((scanned, false)) }
            let start = max(0, pos - chunkSize)
            let want = pos - start
            var got = 0
            if lseek(fd, off_t(start), SEEK_SET) < 0 { return .failure(SystemError("lseek", path: path)) }
            while got < want {
                let n = chunk.withUnsafeMutableBytes { syscalls.read(fd, $0.baseAddress! + got, want - got) }
                if n > 0 { got += n; continue }
                if n < 0 && errno == EINTR { continue }
                if n == 0 { break }   // the file shrank under us: use what is there
                return .failure(SystemError("read", path: path))
            }
            if got < want { return .success((scanned, false)) }
            scanned += want
            var end = want   // bytes of the chunk not yet assigned to a line
            if !started {
                started = true
                if chunk[want - 1] == 0x0A {
                    end -= 1
                    tailHasNewline = true
                } else {
                    tailHasNewline = false
                }
            }
            while end > 0 {
                let hit = chunk.withUnsafeBytes { raw -> Int? in
                    var i = end - 1
                    while i >= 0 && raw[i] != 0x0A { i -= 1 }
                    return i >= 0 ? i : nil
                }
                let from = (hit ?? -1) + 1
                let piece = end - from
                tailLength += piece
                if !tailOverflow {
                    if tailLength > maxLineBytes {
                        tailOverflow = true
                        pieces = []
                    } else if piece > 0 {
                        pieces.append(Array(chunk[from..<end]))
                    }
                }
                guard let newline = hit else { break }
                if !emit(offset: start + newline + 1) { return .success((scanned, false)) }
                end = newline
            }
            pos = start
        }
        // The first line of the file.
        if started { _ = emit(offset: 0) }
        return .success((scanned, true))
    }

    /// Reads an open history file from the end within `limits`.
    static func read(fd: Int32, path: String, limits: ReadLimits, syscalls: Syscalls) -> Contents {
        var contents = Contents()
        guard let identity = HistoryFile.identity(fd) else {
            contents.error = .read(SystemError("fstat", path: path))
            return contents
        }
        contents.fileSize = identity.size
        // Newest first while reading; reversed at the end.
        var turns: [(turn: Turn, first: Int)] = []
        var turnIndex: [String: Int] = [:]
        var inputs: [InputEntry] = []
        var outbox: [(entry: OutboxEntry, first: Int)] = []
        var outboxIndex: [String: Int] = [:]
        var problems: [(line: FoundLine, text: String)] = []
        var unreported = 0
        var decoded = 0
        let turnPrefix = Array(#"{"kind":"turn","#.utf8), inputPrefix = Array(#"{"kind":"input","#.utf8)
        let result = eachLineBackwards(fd, size: identity.size, path: path, maxLineBytes: limits.maxLineBytes,
                                       scanBytes: limits.scanBytes, syscalls: syscalls) { line in
            let turnsFull = turnIndex.count >= limits.maxHistory, inputsFull = inputs.count >= limits.maxInputs
            if turnsFull && inputsFull { return false }
            contents.lines += 1
            if line.fromEnd == 1 && !line.hasNewline { contents.endsCleanly = false }
            guard let bytes = line.bytes else {
                let why = line.hasNewline ? "record longer than \(limits.maxLineBytes >> 20) MiB, skipped"
                                          : "torn last line (no newline; a writer stopped mid-write), skipped"
                if problems.count < maxWarnings { problems.append((line, why)) } else { unreported += 1 }
                return true
            }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return true }
            // A kind already full is skipped without decoding (the encoder sorts keys: kind first).
            if turnsFull && bytes.starts(with: turnPrefix) { return true }
            if inputsFull && bytes.starts(with: inputPrefix) { return true }
            if decoded >= limits.decodeBytes { return false }
            decoded += bytes.count
            switch HistoryRecord.decode(line: bytes) {
            case .success(.turn(let turn)):
                if let i = turnIndex[turn.id] { turns[i].first = line.offset }
                else if !turnsFull {
                    turnIndex[turn.id] = turns.count
                    turns.append((turn, line.offset))
                }
            case .success(.input(let input)):
                if !inputsFull { inputs.append(input) }
            case .success(.outbox(let entry)):
                if let i = outboxIndex[entry.id] { outbox[i].first = line.offset }
                else if outbox.count < limits.maxOutbox {
                    outboxIndex[entry.id] = outbox.count
                    outbox.append((entry, line.offset))
                }
            case .failure(let problem):
                let why = line.hasNewline ? "\(problem), skipped"
                                          : "torn last line (no newline; a writer stopped mid-write), skipped"
                if problems.count < maxWarnings { problems.append((line, why)) } else { unreported += 1 }
            }
            return true
        }
        switch result {
        case .failure(let error):
            contents.error = .read(error)
            return contents
        case .success(let (scanned, reachedStart)):
            contents.complete = reachedStart
            contents.bytesRead = scanned
        }
        // Oldest first; a record's place is where its first version was.
        contents.turns = turns.sorted { $0.first < $1.first }.map(\.turn)
        contents.inputs = inputs.reversed()
        contents.outbox = outbox.sorted { $0.first < $1.first }.map(\.entry)
        if !contents.complete {
            contents.warnings.append("\(path): only the newest \(contents.bytesRead >> 10) KiB of \(contents.fileSize >> 10) KiB "
                                     + "were read (the newest \(limits.maxHistory) turns); older records are not kept")
        }
        // At most maxWarnings + 1 in all: the oldest named problems give way to the count.
        let room = maxWarnings - contents.warnings.count
        if problems.count > room {
            unreported += problems.count - room
            problems.removeLast(problems.count - room)
        }
        for (line, why) in problems.reversed() {
            let place = contents.complete ? ":\(contents.lines - line.fromEnd + 1)" : " (byte \(line.offset))"
            contents.warnings.append("\(path)\(place): \(why)")
        }
        if unreported > 0 { contents.warnings.append("\(path): \(unreported) more damaged lines skipped") }
        return contents
    }
}
