// HistoryStore: an instance's turns, prompt-line history and outbox, kept in memory and appended
// to `<state dir>/history/<instance>.jsonl` (see HistoryRecord for the format).
//
// Durability: a record is one write(2) of one line; a finished turn and every outbox change are
// followed by fsync. While a turn streams, only its first (pending) record is written; its later
// versions stay in memory until it finishes or `flush()`.
// Damage: loading skips a torn or corrupt line with a warning that names it and keeps the rest.
// Size: on load, and when the file holds about twice max_history turns, it is rewritten with the
// newest max_history turns (temp file, fsync, rename, fsync of the directory).
// Errors: a failed write (ENOSPC above all) becomes `lastError`; the store keeps working in
// memory, and the next write rewrites the whole file from memory, so nothing torn is appended to.
// Not thread-safe: one owner (the event loop thread, or a command).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The calls the store makes to write its file; tests swap them to force ENOSPC or EIO.
public struct HistoryIO: Sendable {
    public var syscalls: Syscalls
    public var fsync: @Sendable (_ fd: Int32) -> Int32
    public var rename: @Sendable (_ from: String, _ to: String) -> Int32

    public init(syscalls: Syscalls = .live,
                fsync: @escaping @Sendable (Int32) -> Int32 = { PlatformFile.fsync($0) },
                rename: @escaping @Sendable (String, String) -> Int32 = { PlatformFile.rename($0, $1) }) {
        self.syscalls = syscalls
        self.fsync = fsync
        self.rename = rename
    }

    public static let live = HistoryIO()
}

public enum HistoryError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Writing, syncing or renaming failed; the data is still in memory.
    case write(SystemError)
    /// The history directory cannot be made or used.
    case directory(String)
    /// The file exists but cannot be read.
    case read(SystemError)

    public var isDiskFull: Bool {
        if case .write(let e) = self { return e.code == ENOSPC || e.code == EDQUOT }
        return false
    }

    public var description: String {
        switch self {
        case .write(let e) where e.code == ENOSPC || e.code == EDQUOT:
            "history not saved, disk full (\(e)); kept in memory, will retry on the next change"
        case .write(let e): "history not saved (\(e)); kept in memory, will retry on the next change"
        case .directory(let why): "history directory: \(why)"
        case .read(let e): "history not loaded (\(e))"
        }
    }
}

public final class HistoryStore {
    public let instance: String
    public let directory: String
    public let path: String
    public let maxHistory: Int
    public let maxInputs: Int
    public let io: HistoryIO

    /// Oldest first, at most maxHistory.
    public private(set) var turns: [Turn] = []
    /// Oldest first, at most maxInputs.
    public private(set) var inputs: [InputEntry] = []
    /// In queue order. Delivered and cancelled entries are dropped at the next compaction.
    public private(set) var outbox: [OutboxEntry] = []
    /// Load warnings, each `<path>:<line>: <problem>`.
    public private(set) var warnings: [String] = []
    /// The most recent write problem; cleared by the next successful write.
    public private(set) var lastError: HistoryError?
    public private(set) var compactions = 0

    private var fd: Int32 = -1
    /// Turn ids that have at least one record in the file since the last rewrite.
    private var fileTurnIDs = Set<String>()
    private var fileLines = 0
    /// Open turns whose latest version is only in memory.
    private var dirty = Set<String>()
    /// Set after a failed write or a torn file end: the next write rewrites the file.
    private var needsRewrite = false

    public static func defaultStateDirectory() -> String { StatePaths.directory() }

    public static func historyPath(instance: String, stateDirectory: String) -> String {
        stateDirectory + "/history/" + instance + ".jsonl"
    }

    public init(instance: InstanceName, stateDirectory: String = HistoryStore.defaultStateDirectory(),
                maxHistory: Int = 100, maxInputs: Int = 1000, io: HistoryIO = .live) {
        self.instance = instance.rawValue
        self.directory = stateDirectory + "/history"
        self.path = Self.historyPath(instance: instance.rawValue, stateDirectory: stateDirectory)
        self.maxHistory = max(maxHistory, 1)
        self.maxInputs = max(maxInputs, 1)
        self.io = io
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { _ = io.syscalls.close(fd) }
        fd = -1
    }

    // MARK: loading

    /// What a history file holds, read without writing anything (for `status` and `history`).
    public struct Contents: Sendable {
        public var turns: [Turn] = []
        public var inputs: [InputEntry] = []
        public var outbox: [OutboxEntry] = []
        public var warnings: [String] = []
        /// Lines read, good or bad.
        public var lines = 0
        /// False when the last line had no newline.
        public var endsCleanly = true
        public var error: HistoryError?
    }

    /// At most this many warnings name a damaged line; the rest are counted in one more warning,
    /// so a file of garbage cannot fill memory with warnings.
    public static let maxWarnings = 100

    /// Reads and parses a history file; a missing file is empty.
    public static func read(path: String, maxHistory: Int = .max, maxInputs: Int = .max,
                            syscalls: Syscalls = .live) -> Contents {
        var contents = Contents()
        let bytes: [UInt8]
        switch readAll(path, syscalls: syscalls) {
        case .success(let b): bytes = b
        case .failure(let e):
            if e.code != ENOENT { contents.error = .read(e) }
            return contents
        }
        var turnIndex: [String: Int] = [:]
        var outboxIndex: [String: Int] = [:]
        var lineNumber = 0
        var start = 0
        var unreported = 0
        while start < bytes.count {
            lineNumber += 1
            let end = bytes[start...].firstIndex(of: 0x0A)
            let line = bytes[start..<(end ?? bytes.count)]
            start = (end ?? bytes.count) + 1
            if end == nil { contents.endsCleanly = false }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            switch HistoryRecord.decode(line: line) {
            case .success(.turn(let turn)):
                if let i = turnIndex[turn.id] { contents.turns[i] = turn } else {
                    turnIndex[turn.id] = contents.turns.count
                    contents.turns.append(turn)
                }
            case .success(.input(let input)):
                contents.inputs.append(input)
            case .success(.outbox(let entry)):
                if let i = outboxIndex[entry.id] { contents.outbox[i] = entry } else {
                    outboxIndex[entry.id] = contents.outbox.count
                    contents.outbox.append(entry)
                }
            case .failure(let problem):
                let torn = end == nil ? "torn last line (no newline; a writer stopped mid-write), skipped"
                                      : "\(problem), skipped"
                if contents.warnings.count < maxWarnings {
                    contents.warnings.append("\(path):\(lineNumber): \(torn)")
                } else {
                    unreported += 1
                }
            }
        }
        if unreported > 0 { contents.warnings.append("\(path): \(unreported) more damaged lines skipped") }
        contents.lines = lineNumber
        if contents.turns.count > maxHistory { contents.turns.removeFirst(contents.turns.count - maxHistory) }
        if contents.inputs.count > maxInputs { contents.inputs.removeFirst(contents.inputs.count - maxInputs) }
        return contents
    }

    /// Loads the file into memory, replacing what the store held. Returns the warnings (also in
    /// `warnings`). With `compact`, a file with superseded records, damage or more than
    /// max_history turns is rewritten.
    @discardableResult
    public func load(compact: Bool = true) -> [String] {
        close()
        let contents = Self.read(path: path, maxHistory: maxHistory, maxInputs: maxInputs, syscalls: io.syscalls)
        turns = contents.turns
        inputs = contents.inputs
        outbox = contents.outbox
        warnings = contents.warnings
        if let error = contents.error { lastError = error }
        dirty = []
        fileTurnIDs = Set(turns.map(\.id))
        fileLines = contents.lines
        needsRewrite = !contents.endsCleanly || !contents.warnings.isEmpty
        let live = turns.count + inputs.count + outbox.count
        if compact && contents.error == nil && contents.lines > 0 && (needsRewrite || contents.lines > live) {
            _ = self.compact()
        }
        return warnings
    }

    // MARK: recording

    /// Upserts a turn (as returned by SessionTracker). A new turn is written at once; later
    /// versions of an open turn wait in memory; a finished turn is written and fsync'd.
    @discardableResult
    public func record(_ turn: Turn) -> HistoryError? {
        let isNew: Bool
        if let i = turns.lastIndex(where: { $0.id == turn.id }) {
            turns[i] = turn
            isNew = false
        } else {
            turns.append(turn)
            if turns.count > maxHistory { turns.removeFirst(turns.count - maxHistory) }
            isNew = true
        }
        if turn.status.isOpen && !isNew && fileTurnIDs.contains(turn.id) {
            dirty.insert(turn.id)
            return nil
        }
        dirty.remove(turn.id)
        fileTurnIDs.insert(turn.id)
        return append([.turn(turn)], sync: !turn.status.isOpen)
    }

    /// Remembers a line typed at the prompt (the ↑/↓ history).
    @discardableResult
    public func recordInput(_ text: String, at time: Double) -> HistoryError? {
        inputs.append(InputEntry(text: text, at: time))
        if inputs.count > maxInputs { inputs.removeFirst(inputs.count - maxInputs) }
        return append([.input(inputs[inputs.count - 1])], sync: false)
    }

    /// Upserts an outbox entry; always fsync'd, since a queued prompt must survive a restart.
    @discardableResult
    public func recordOutbox(_ entry: OutboxEntry) -> HistoryError? {
        if let i = outbox.firstIndex(where: { $0.id == entry.id }) { outbox[i] = entry } else { outbox.append(entry) }
        return append([.outbox(entry)], sync: true)
    }

    /// Writes the in-memory versions of open turns and syncs.
    @discardableResult
    public func flush() -> HistoryError? {
        let pending = turns.filter { dirty.contains($0.id) }
        dirty = []
        return append(pending.map { .turn($0) }, sync: true)
    }

    /// Rewrites the file from memory: newest max_history turns, max_inputs inputs, queued outbox.
    @discardableResult
    public func compact() -> HistoryError? {
        close()
        if let error = ensureDirectory() { return fail(error) }
        outbox.removeAll { $0.state != .queued }
        var records = turns.map { HistoryRecord.turn($0) }
        records += inputs.map { .input($0) }
        records += outbox.map { .outbox($0) }
        var bytes: [UInt8] = []
        for record in records {
            bytes += record.encodedLine()
            bytes.append(0x0A)
        }
        let temp = path + ".tmp"
        let tfd = io.syscalls.open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if tfd < 0 { return fail(.write(SystemError("open", path: temp))) }
        var failure: HistoryError?
        if let e = writeAll(tfd, bytes, path: temp) { failure = .write(e) }
        else if io.fsync(tfd) != 0 { failure = .write(SystemError("fsync", path: temp)) }
        _ = io.syscalls.close(tfd)
        if failure == nil && io.rename(temp, path) != 0 { failure = .write(SystemError("rename", path: path)) }
        if let failure {
            unlink(temp)
            return fail(failure)
        }
        syncDirectory()
        fileTurnIDs = Set(turns.map(\.id))
        fileLines = records.count
        dirty = []
        needsRewrite = false
        lastError = nil
        compactions += 1
        return nil
    }

    // MARK: internals

    private func append(_ records: [HistoryRecord], sync: Bool) -> HistoryError? {
        guard !records.isEmpty else { return nil }
        if needsRewrite { return compact() }
        if fd < 0 {
            if let error = ensureDirectory() { return fail(error) }
            fd = io.syscalls.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 { return fail(.write(SystemError("open", path: path))) }
            _ = fchmod(fd, 0o600)
        }
        var bytes: [UInt8] = []
        for record in records {
            bytes += record.encodedLine()
            bytes.append(0x0A)
        }
        if let e = writeAll(fd, bytes, path: path) { return fail(.write(e)) }
        if sync && io.fsync(fd) != 0 { return fail(.write(SystemError("fsync", path: path))) }
        fileLines += records.count
        lastError = nil
        if fileTurnIDs.count > 2 * maxHistory || fileLines > 4 * maxHistory + 2 * maxInputs + 64 {
            return compact()
        }
        return nil
    }

    /// A failure leaves the file suspect (maybe a torn line): rewrite it before the next append.
    private func fail(_ error: HistoryError) -> HistoryError {
        close()
        needsRewrite = true
        lastError = error
        return error
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) -> SystemError? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { io.syscalls.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n > 0 { offset += n; continue }
            let code = n < 0 ? errno : EIO
            if code == EINTR || code == EAGAIN { continue }
            return SystemError("write", code, path: path)
        }
        return nil
    }

    private func ensureDirectory() -> HistoryError? {
        do {
            try FifoSafety.ensureDirectory(directory)
        } catch {
            return .directory(error.description)
        }
        return nil
    }

    private func syncDirectory() {
        let dfd = io.syscalls.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        if dfd >= 0 {
            _ = io.fsync(dfd)
            _ = io.syscalls.close(dfd)
        }
    }

    static func readAll(_ path: String, syscalls: Syscalls) -> Result<[UInt8], SystemError> {
        let fd = syscalls.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0)
        if fd < 0 { return .failure(SystemError("open", path: path)) }
        defer { _ = syscalls.close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { syscalls.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { result += buffer[0..<n]; continue }
            if n == 0 { return .success(result) }
            if errno == EINTR { continue }
            return .failure(SystemError("read", path: path))
        }
    }
}

/// The libc calls Syscalls does not carry, qualified once for both platforms.
public enum PlatformFile {
    public static func fsync(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.fsync(fd)
        #else
        Darwin.fsync(fd)
        #endif
    }

    public static func rename(_ from: String, _ to: String) -> Int32 {
        #if canImport(Glibc)
        Glibc.rename(from, to)
        #else
        Darwin.rename(from, to)
        #endif
    }
}
