// HistoryStore: an instance's turns, prompt-line history and outbox, kept in memory and appended
// to `<state dir>/history/<instance>.jsonl` (see HistoryRecord for the format).
//
// Safety: every file is opened through HistoryFile (non-blocking, O_NOFOLLOW, a regular file of
// this user). A history file that cannot be used (a FIFO, another user's, unreadable) is never
// replaced: it is left in place and the history goes to a fresh file beside it
// (`<instance>.jsonl.fresh`); the notice names both. One writer per history: `load()` takes the
// HistoryLock, and a second store that loads the same file reads it and keeps its own changes in
// memory (read-only). A store that never loads (tests, tools) takes no lock.
// Before a rewrite the file is checked against what this store last saw of it; records another
// writer added meanwhile are merged in, so a rewrite never drops turns this store did not load.
// Loading reads from the end, bounded (HistoryReader).
// Durability: a record is one write(2) of one line, done before the call returns (a kill -9
// loses nothing). Every outbox change and `flush()` are followed by fsync; a finished turn's
// fsync runs in the background within 10 ms, one for the turns that finish meanwhile (HistorySync:
// ~6 ms on ext4 kept off the event loop). While a turn
// streams, only its first (pending) record is written; its later versions stay in memory until
// it finishes or `flush()`.
// Damage: loading skips a torn or corrupt line with a warning that names it and keeps the rest.
// Size: on load, and when the file holds about twice max_history turns, it is rewritten with the
// newest max_history turns (fresh temp file, fsync, rename, fsync of the directory). With
// `compactsInBackground` (the SessionHub's stores) the threshold's rewrite is written and synced
// off the caller's thread (HistoryCompaction) while appends go on to the old file, and swapped
// in at the first append after it is done.
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
    /// The file is not one this program may use (a FIFO, another user's, ...).
    case refused(HistoryFileProblem)
    /// This store does not write: another process holds the history's lock, or no usable file.
    case readOnly(String)

    /// The cause alone, without paths.
    public var reason: String {
        switch self {
        case .refused(let problem): problem.reason
        case .read(let e), .write(let e): String(cString: strerror(e.code))
        default: description
        }
    }

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
        case .refused(let problem): "history not loaded: \(problem)"
        case .readOnly(let why): "history not saved: \(why); kept in memory"
        }
    }
}

public final class HistoryStore {
    public let instance: String
    public let directory: String
    /// The file in use: `standardPath`, or the fresh file beside it when that one is refused.
    public private(set) var path: String
    /// `<state dir>/history/<instance>.jsonl`.
    public let standardPath: String
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
    /// Set when this store does not write (another writer holds the lock, or no usable file).
    public private(set) var readOnly: String?

    private var lock: HistoryLock?
    /// What this store last saw of its file (after its load or its own write); nil: not seen.
    private var known: HistoryFile.Identity?
    /// The file holds records this store did not load: merge them before a rewrite.
    private var foreign = false

    private var fd: Int32 = -1
    /// Turn ids that have at least one record in the file since the last rewrite.
    private var fileTurnIDs = Set<String>()
    private var fileLines = 0
    /// Open turns whose latest version is only in memory.
    private var dirty = Set<String>()
    /// Set after a failed write or a torn file end: the next write rewrites the file.
    private var needsRewrite = false
    /// Finished turns' fsyncs, off the caller's thread.
    private lazy var backgroundSync = HistorySync(fsync: io.fsync)
    /// Compact at the size threshold off the caller's thread (HistoryCompaction). Off by
    /// default: tools and tests see the rewrite done when the append that crossed it returns.
    public var compactsInBackground = false
    /// The rewrite under way in the background, if any.
    private var pendingCompaction: HistoryCompaction?
    /// A background rewrite was renamed in and the directory's fsync may not have happened yet.
    private var directoryUnsynced = false

    public static func defaultStateDirectory() -> String { StatePaths.directory() }

    public static func historyPath(instance: String, stateDirectory: String) -> String {
        stateDirectory + "/history/" + instance + ".jsonl"
    }

    /// Where the history goes when the standard file is refused. Instance names end in ".jsonl"
    /// here, so no instance's history can have this name.
    public static func besidePath(_ standardPath: String) -> String { standardPath + ".fresh" }

    public init(instance: InstanceName, stateDirectory: String = HistoryStore.defaultStateDirectory(),
                maxHistory: Int = 100, maxInputs: Int = 1000, io: HistoryIO = .live) {
        self.instance = instance.rawValue
        self.directory = stateDirectory + "/history"
        self.standardPath = Self.historyPath(instance: instance.rawValue, stateDirectory: stateDirectory)
        self.path = standardPath
        self.maxHistory = max(maxHistory, 1)
        self.maxInputs = max(maxInputs, 1)
        self.io = io
    }

    deinit { close() }

    /// Closes the file; the lock is kept until the store goes (or `releaseLock`). A background
    /// rewrite under way is dropped (the file it would have replaced holds everything).
    public func close() {
        if let job = pendingCompaction {
            pendingCompaction = nil
            job.abandon(syscalls: io.syscalls)
        }
        closeFile()
    }

    private func closeFile() {
        if fd >= 0 {
            _ = io.syscalls.close(fd)
            fileGeneration += 1
        }
        fd = -1
    }

    /// Counts the descriptors this store closed: a background sync asked for after a reopen is
    /// for another file, even when the descriptor's number is the same.
    private var fileGeneration = 0

    public func releaseLock() {
        close()
        lock?.release()
        lock = nil
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
        /// The file read (the standard one or the fresh file beside it).
        public var path = ""
        /// True when reading got to the start of the file (everything was considered).
        public var complete = true
        public var bytesRead = 0
        public var fileSize = 0
    }

    /// A replaced file larger than this is released on a background queue (see compact()).
    static let closeAsideBytes = 16 << 20

    /// At most this many warnings name a damaged line; the rest are counted in one more warning,
    /// so a file of garbage cannot fill memory with warnings.
    public static let maxWarnings = 100

    /// Reads and parses a history file from its end, within bounds (see HistoryReader); a missing
    /// file is empty. Never blocks, never follows a symlink; a file that is not a regular file
    /// of this user is refused (`error`).
    public static func read(path: String, maxHistory: Int = .max, maxInputs: Int = .max,
                            syscalls: Syscalls = .live) -> Contents {
        read(path: path, limits: ReadLimits(maxHistory: maxHistory, maxInputs: maxInputs), syscalls: syscalls)
    }

    static func read(path: String, limits: ReadLimits, syscalls: Syscalls) -> Contents {
        var contents = Contents()
        switch HistoryFile.open(path, O_RDONLY, syscalls: syscalls) {
        case .success(let fd):
            contents = read(fd: fd, path: path, limits: limits, syscalls: syscalls)
            _ = syscalls.close(fd)
        case .failure(.missing): break
        case .failure(.unusable(let e)): contents.error = .read(e)
        case .failure(let problem): contents.error = .refused(problem)
        }
        contents.path = path
        return contents
    }

    /// An instance's history as the TUI would load it: the standard file, or, when that one is
    /// refused, the fresh file beside it (with a warning that names both).
    public static func read(instance: String, stateDirectory: String, maxHistory: Int = .max,
                            maxInputs: Int = .max, syscalls: Syscalls = .live) -> Contents {
        let standard = historyPath(instance: instance, stateDirectory: stateDirectory)
        let limits = ReadLimits(maxHistory: maxHistory, maxInputs: maxInputs)
        let first = read(path: standard, limits: limits, syscalls: syscalls)
        guard let error = first.error else { return first }
        let beside = besidePath(standard)
        var second = read(path: beside, limits: limits, syscalls: syscalls)
        second.warnings.insert(refusalNotice(standard: standard, error: error, beside: beside, besideError: second.error), at: 0)
        return second
    }

    /// Names both files, the reason first (the TUI's status line may cut the end).
    static func refusalNotice(standard: String, error: HistoryError, beside: String, besideError: HistoryError?) -> String {
        var text = "history not kept in its file (\(error.reason)): \(standard) is left in place, history goes to \(beside)"
        if let besideError { text += ", which cannot be used either (\(besideError.reason)): history is kept in memory only" }
        return text
    }

    /// Loads the file into memory, replacing what the store held. Returns the warnings (also in
    /// `warnings`). With `compact`, a file with superseded records, damage or more than
    /// max_history turns is rewritten (only by the store that holds the lock).
    @discardableResult
    public func load(compact: Bool = true) -> [String] {
        close()
        takeLock()
        let limits = ReadLimits(maxHistory: maxHistory, maxInputs: maxInputs)
        let beside = Self.besidePath(standardPath)
        if readOnly == nil && HistoryFile.kindOf(standardPath) == nil,
           case .success(let bfd) = HistoryFile.open(beside, O_RDONLY, syscalls: io.syscalls) {
            // The refused file was moved away: the fresh one becomes the history again.
            _ = io.syscalls.close(bfd)
            _ = io.rename(beside, standardPath)
        }
        var contents = Self.read(path: standardPath, limits: limits, syscalls: io.syscalls)
        var notice: String?
        path = standardPath
        if let error = contents.error {
            // Never replaced: left in place, the history goes beside it.
            let besideContents = Self.read(path: beside, limits: limits, syscalls: io.syscalls)
            notice = Self.refusalNotice(standard: standardPath, error: error, beside: beside, besideError: besideContents.error)
            contents = besideContents
            path = beside
            if let besideError = contents.error {
                contents = Contents()
                readOnly = readOnly ?? "neither \(standardPath) nor \(beside) can be used (\(besideError))"
            }
        }
        turns = contents.turns
        inputs = contents.inputs
        outbox = contents.outbox
        warnings = (notice.map { [$0] } ?? []) + contents.warnings
        if let readOnly { lastError = .readOnly(readOnly) }
        dirty = []
        fileTurnIDs = Set(turns.map(\.id))
        fileLines = contents.lines
        known = currentIdentity()
        foreign = false
        needsRewrite = !contents.endsCleanly || !contents.warnings.isEmpty || !contents.complete
        let live = turns.count + inputs.count + outbox.count
        if compact && readOnly == nil && contents.lines > 0 && (needsRewrite || contents.lines > live) {
            _ = self.compact()
        }
        return warnings
    }

    /// Takes the writer lock if it is not held yet; without it the store is read-only.
    private func takeLock() {
        guard lock == nil && readOnly == nil else { return }
        if let error = ensureDirectory() {
            readOnly = "\(error)"
            return
        }
        switch HistoryLock.acquire(for: standardPath, syscalls: io.syscalls) {
        case .acquired(let taken): lock = taken
        case .held(let pid):
            let who = pid.map { "process \($0)" } ?? "another process"
            readOnly = "\(standardPath) is written by \(who) (another cc-bridge-tui on the same state directory); "
                + "this one only reads it"
        case .unusable(let problem):
            readOnly = "its lock file cannot be used (\(problem))"
        }
    }

    /// Identity of the file at `path` now (nil when missing or unusable).
    private func currentIdentity() -> HistoryFile.Identity? {
        guard case .success(let rfd) = HistoryFile.open(path, O_RDONLY, syscalls: io.syscalls) else { return nil }
        defer { _ = io.syscalls.close(rfd) }
        return HistoryFile.identity(rfd)
    }

    /// Adds what another writer put in the file since this store last saw it: turns, inputs and
    /// outbox entries it does not hold. This store's own versions win.
    private func mergeForeignRecords() {
        let theirs = Self.read(path: path, limits: ReadLimits(maxHistory: maxHistory, maxInputs: maxInputs), syscalls: io.syscalls)
        guard theirs.error == nil else { return }
        let ours = Set(turns.map(\.id))
        let added = theirs.turns.filter { !ours.contains($0.id) }
        if !added.isEmpty {
            turns = (turns + added).enumerated().sorted { a, b in
                a.element.sentAt != b.element.sentAt ? a.element.sentAt < b.element.sentAt : a.offset < b.offset
            }.map(\.element)
            if turns.count > maxHistory { turns.removeFirst(turns.count - maxHistory) }
        }
        let newInputs = theirs.inputs.filter { !inputs.contains($0) }
        if !newInputs.isEmpty {
            inputs = (inputs + newInputs).sorted { $0.at < $1.at }
            if inputs.count > maxInputs { inputs.removeFirst(inputs.count - maxInputs) }
        }
        for entry in theirs.outbox {
            if let i = outbox.firstIndex(where: { $0.id == entry.id }) {
                if entry.changedAt > outbox[i].changedAt { outbox[i] = entry }
            } else {
                outbox.append(entry)
            }
        }
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
        return append([.turn(turn)], sync: !turn.status.isOpen, inBackground: true)
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
        finishBackgroundCompaction(waiting: true)
        let pending = turns.filter { dirty.contains($0.id) }
        dirty = []
        return append(pending.map { .turn($0) }, sync: true)
    }

    /// Rewrites the file from memory: newest max_history turns, max_inputs inputs, queued outbox.
    /// Records another writer added since this store last saw the file are merged in first.
    @discardableResult
    public func compact() -> HistoryError? {
        // The rewrite holds everything in memory, a batch's records too.
        batched?.records = []
        close()
        if let readOnly { return refuseWrite(readOnly) }
        if let error = ensureDirectory() { return fail(error) }
        // The file about to be replaced must be this store's, and nothing in it may be lost.
        var replaced: Int32 = -1
        switch HistoryFile.open(path, O_RDONLY, syscalls: io.syscalls) {
        case .success(let rfd):
            let now = HistoryFile.identity(rfd)
            // Freeing a big file's blocks happens when its last reference goes, which would be
            // inside rename(2) (~50 ms for 1 GB): hold it open and let it go off this thread.
            if (now?.size ?? 0) > Self.closeAsideBytes { replaced = rfd } else { _ = io.syscalls.close(rfd) }
            if foreign || now != known { mergeForeignRecords() }
        case .failure(.missing): break
        case .failure(let problem):
            if path != standardPath { return fail(.refused(problem)) }
            moveBeside(problem)
            return compact()
        }
        defer {
            if replaced >= 0 {
                let close = io.syscalls.close
                DispatchQueue.global(qos: .utility).async { [replaced] in _ = close(replaced) }
            }
        }
        outbox.removeAll { $0.state != .queued }
        var records = turns.map { HistoryRecord.turn($0) }
        records += inputs.map { .input($0) }
        records += outbox.map { .outbox($0) }
        var bytes: [UInt8] = []
        for record in records {
            record.appendLine(to: &bytes)
            bytes.append(0x0A)
        }
        // A fresh temp file: whatever is at its name (a stale temp, a planted FIFO) goes first,
        // and O_EXCL makes sure the file written is the one just made.
        let temp = path + ".tmp"
        _ = unlink(temp)
        let tfd: Int32
        switch HistoryFile.open(temp, O_WRONLY | O_CREAT | O_EXCL, syscalls: io.syscalls) {
        case .success(let opened): tfd = opened
        case .failure(.unusable(let e)): return fail(.write(e))
        case .failure(let problem): return fail(.refused(problem))
        }
        var failure: HistoryError?
        if let e = writeAll(tfd, bytes, path: temp) { failure = .write(e) }
        else if io.fsync(tfd) != 0 { failure = .write(SystemError("fsync", path: temp)) }
        let written = HistoryFile.identity(tfd)
        _ = io.syscalls.close(tfd)
        if failure == nil && io.rename(temp, path) != 0 { failure = .write(SystemError("rename", path: path)) }
        if let failure {
            unlink(temp)
            return fail(failure)
        }
        syncDirectory()
        directoryUnsynced = false
        known = written
        foreign = false
        fileTurnIDs = Set(turns.map(\.id))
        fileLines = records.count
        dirty = []
        needsRewrite = false
        lastError = nil
        compactions += 1
        return nil
    }

    /// Records made inside `body` are written together, in one write(2), when it returns (a
    /// prompt's turn and its ↑/↓ input line: one write and one fstat instead of two of each).
    /// The strongest sync any of them asked for is done. Returns the write's error, if any.
    @discardableResult
    public func batch(_ body: () -> Void) -> HistoryError? {
        guard batched == nil else { body(); return nil }
        batched = (records: [], sync: false, inBackground: true)
        body()
        guard let held = batched else { return nil }
        batched = nil
        return append(held.records, sync: held.sync, inBackground: held.inBackground)
    }

    /// Inside `batch`: the records held for its one write, and the sync they need.
    private var batched: (records: [HistoryRecord], sync: Bool, inBackground: Bool)?

    // MARK: internals

    private func append(_ records: [HistoryRecord], sync: Bool, inBackground: Bool = false) -> HistoryError? {
        guard !records.isEmpty else { return nil }
        if var held = batched {
            held.records += records
            if sync {
                held.inBackground = held.sync ? held.inBackground && inBackground : inBackground
                held.sync = true
            }
            batched = held
            return nil
        }
        if let readOnly { return refuseWrite(readOnly) }
        if let code = backgroundSync.takeFailure() { _ = fail(.write(SystemError("fsync", code, path: path))) }
        if needsRewrite { return compact() }
        finishBackgroundCompaction(waiting: false)
        if needsRewrite { return compact() }
        let opened = fd < 0
        if fd < 0 {
            if let error = ensureDirectory() { return fail(error) }
            switch HistoryFile.open(path, O_WRONLY | O_APPEND | O_CREAT, syscalls: io.syscalls) {
            case .success(let opened): fd = opened
            case .failure(.unusable(let e)): return fail(.write(e))
            case .failure(let problem):
                // Something that is not ours appeared at the path: leave it, move beside.
                if path != standardPath { return fail(.refused(problem)) }
                moveBeside(problem)
                return compact()
            }
            _ = fchmod(fd, 0o600)
        }
        // Someone else wrote since this store last saw the file (or it never loaded it). A file
        // still empty holds nothing to merge: the one this store just made is not another's.
        // Asked once per descriptor: later appends count what they wrote (O_APPEND), and a writer
        // in between shows as a file that is not `known` at the next rewrite, which compares the
        // two and merges what it finds (an fstat fewer per record, two per prompt).
        let before = opened || known == nil ? HistoryFile.identity(fd) : known
        if before != known && !(known == nil && before?.size == 0) { foreign = true }
        var bytes: [UInt8] = []
        for record in records {
            record.appendLine(to: &bytes)
            bytes.append(0x0A)
        }
        if let e = writeAll(fd, bytes, path: path) { return fail(.write(e)) }
        pendingCompaction?.appended(bytes, records: records, mustSync: sync && !inBackground)
        if sync && inBackground {
            backgroundSync.schedule(fd, generation: fileGeneration)
        } else if sync && io.fsync(fd) != 0 {
            return fail(.write(SystemError("fsync", path: path)))
        } else if sync && directoryUnsynced {
            syncDirectory()
            directoryUnsynced = false
        }
        // O_APPEND: the file grew by what was written (no fstat).
        known = before.map { HistoryFile.Identity(device: $0.device, inode: $0.inode, size: $0.size + bytes.count) }
        fileLines += records.count
        lastError = nil
        if fileTurnIDs.count > 2 * maxHistory || fileLines > 4 * maxHistory + 2 * maxInputs + 64 {
            if !compactsInBackground { return compact() }
            if pendingCompaction == nil { return startBackgroundCompaction() }
        }
        return nil
    }

    /// Starts the threshold's rewrite off this thread (see HistoryCompaction). Records another
    /// writer added (or that were there before this store first wrote) are merged in first, as
    /// `compact()` does; a file that is big or not ours is left to `compact()`, here and now.
    private func startBackgroundCompaction() -> HistoryError? {
        guard case .success(let rfd) = HistoryFile.open(path, O_RDONLY, syscalls: io.syscalls) else { return compact() }
        let now = HistoryFile.identity(rfd)
        _ = io.syscalls.close(rfd)
        if (now?.size ?? 0) > Self.closeAsideBytes { return compact() }
        if foreign || now != known {
            mergeForeignRecords()
            foreign = false
            known = now
        }
        let temp = path + ".tmp"
        _ = unlink(temp)
        guard case .success(let tfd) = HistoryFile.open(temp, O_WRONLY | O_CREAT | O_EXCL, syscalls: io.syscalls) else {
            return compact()
        }
        outbox.removeAll { $0.state != .queued }
        pendingCompaction = HistoryCompaction(temp: temp, tempFD: tfd, turns: turns, inputs: inputs, outbox: outbox, io: io)
        return nil
    }

    /// Swaps in a background rewrite that is done (or, `waiting`, once it is): the lines
    /// appended meanwhile go to its end, then it is renamed over the history. A rewrite that
    /// failed, or a file another writer touched meanwhile, is dropped (the old file has it all);
    /// a failure is reported as any failed write is, and the next append rewrites the file.
    private func finishBackgroundCompaction(waiting: Bool) {
        guard let job = pendingCompaction, waiting || job.isDone else { return }
        pendingCompaction = nil
        var failure = job.wait().map { HistoryError.write($0) }
        if failure == nil && (foreign || currentIdentity() != known) {
            job.abandon(syscalls: io.syscalls)
            return
        }
        if failure == nil, let e = writeAll(job.tempFD, job.tail, path: job.temp) { failure = .write(e) }
        if failure == nil && job.tailNeedsSync && io.fsync(job.tempFD) != 0 {
            failure = .write(SystemError("fsync", path: job.temp))
        }
        let written = HistoryFile.identity(job.tempFD)
        if failure == nil && io.rename(job.temp, path) != 0 { failure = .write(SystemError("rename", path: path)) }
        if let failure {
            job.abandon(syscalls: io.syscalls)
            _ = fail(failure)
            return
        }
        closeFile()
        // The tail's finished turns and the rename reach the disk in the background, as a
        // finished turn's fsync does; the next record that must be on disk syncs the directory.
        HistoryCompaction.syncLater(fd: job.tail.isEmpty || job.tailNeedsSync ? Int32(-1) : dup(job.tempFD), directory: directory, io: io)
        directoryUnsynced = true
        _ = io.syscalls.close(job.tempFD)
        known = written
        fileTurnIDs = job.snapshotTurnIDs.union(job.tailTurnIDs)
        fileLines = job.snapshotLines + job.tailLines
        lastError = nil
        compactions += 1
    }

    /// A failure leaves the file suspect (maybe a torn line): rewrite it before the next append.
    private func fail(_ error: HistoryError) -> HistoryError {
        close()
        needsRewrite = true
        lastError = error
        return error
    }

    /// The standard file turned out not to be usable: it stays as it is, and the whole history
    /// is written to the fresh file beside it (merged with whatever that one holds).
    private func moveBeside(_ problem: HistoryFileProblem) {
        close()
        let beside = Self.besidePath(standardPath)
        let notice = Self.refusalNotice(standard: standardPath, error: .refused(problem), beside: beside, besideError: nil)
        warnings.insert(notice, at: 0)
        lastError = .refused(problem)
        path = beside
        foreign = true
        needsRewrite = true
    }

    /// A store that may not write keeps everything in memory and says why (once per episode).
    private func refuseWrite(_ why: String) -> HistoryError {
        let error = HistoryError.readOnly(why)
        lastError = error
        return error
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) -> SystemError? {
        Self.writeAll(fd, bytes, path: path, syscalls: io.syscalls)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String, syscalls: Syscalls) -> SystemError? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { syscalls.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
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
        let dfd = io.syscalls.open(directory, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC, 0)
        if dfd >= 0 {
            _ = io.fsync(dfd)
            _ = io.syscalls.close(dfd)
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
