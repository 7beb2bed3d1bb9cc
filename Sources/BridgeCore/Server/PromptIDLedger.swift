// PromptIDLedger: the prompt ids clients chose for one instance, each with the first answer it
// got, so the same id sent again (while the first is on its way, long after, or after the server
// was restarted, a `kill -9` included) is delivered once and answered with the first result.
//
// File: `<state dir>/inputs/<instance>.ids.jsonl`, one JSON line per change, opened through
// HistoryFile (never a symlink or a FIFO; a regular file of this user). An id is written as
// `sending` (and synced) before its prompt goes to the hub, its result when it is known. An id
// still `sending` when the file is loaded was on its way when the server died: it may be in the
// agent's pipe, so it is never sent again (at most once); ServerCore resolves it from the history
// (its turn, its outbox entry) or answers that nobody can tell whether it arrived.
// Bounded: the newest `capacity` ids (default 10,000) in memory; the file is rewritten (temp
// file, fsync, rename) once it holds twice that many lines. A line that does not parse is
// skipped. Loop thread only.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class PromptIDLedger {
    /// The first answer an id got (`sending` until it is known).
    public struct Record: Codable, Equatable, Sendable {
        public enum State: String, Codable, Sendable { case sending, delivered, queued, failed }
        public var id: String
        public var state: State
        /// The queue reason (queued) or the error (failed).
        public var detail: String?
        public var at: Double
    }

    public let path: String
    public let capacity: Int
    private var records: [String: Record] = [:]
    /// Ids oldest first (each once), for the bound.
    private var order: [String] = []
    private var orderStart = 0
    private var fileLines = 0
    private var fd: Int32 = -1
    /// The last write problem (the ledger keeps working in memory).
    public private(set) var lastError: String?

    /// A client's prompt id: 1 to 128 of `A-Z a-z 0-9 . _ : -` (the socket, the CLI's `--id`
    /// and the drop directory check it alike).
    public static let maxIDLength = 128

    public static func isValidID(_ id: String) -> Bool {
        guard !id.isEmpty, id.utf8.count <= maxIDLength else { return false }
        return id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x3A || byte == 0x2D
        }
    }

    public static func path(instance: String, stateDirectory: String) -> String {
        stateDirectory + "/inputs/" + instance + ".ids.jsonl"
    }

    public init(instance: String, stateDirectory: String, capacity: Int = 10_000) {
        path = Self.path(instance: instance, stateDirectory: stateDirectory)
        self.capacity = max(1, capacity)
        load()
    }

    deinit { if fd >= 0 { close(fd) } }

    public func record(_ id: String) -> Record? { records[id] }

    public var count: Int { records.count }

    /// An id about to be sent: written and synced before the prompt goes anywhere.
    public func begin(_ id: String, at time: Double) {
        set(Record(id: id, state: .sending, detail: nil, at: time), sync: true)
    }

    /// The first answer for `id` (later answers for it do not replace a settled one).
    public func settle(_ id: String, _ result: ServerSendResult, at time: Double) {
        if let old = records[id], old.state != .sending { return }
        let record: Record
        switch result {
        case .delivered: record = Record(id: id, state: .delivered, detail: nil, at: time)
        case .queued(_, let reason): record = Record(id: id, state: .queued, detail: Self.encode(reason), at: time)
        case .failed(_, let error): record = Record(id: id, state: .failed, detail: error, at: time)
        }
        set(record, sync: false)
    }

    /// The answer a settled record stands for; nil while it is `sending`.
    public static func result(_ record: Record) -> ServerSendResult? {
        switch record.state {
        case .sending: nil
        case .delivered: .delivered(promptID: record.id)
        case .queued: .queued(promptID: record.id, reason: decode(record.detail))
        case .failed: .failed(promptID: record.id, error: record.detail ?? "not delivered")
        }
    }

    static func encode(_ reason: QueueReason) -> String {
        switch reason {
        case .agentNotListening: "agent_not_listening"
        case .pipesGone: "pipes_gone"
        case .behind(let count): "behind:\(count)"
        }
    }

    static func decode(_ text: String?) -> QueueReason {
        switch text {
        case "pipes_gone": .pipesGone
        case let text? where text.hasPrefix("behind:"): .behind(Int(text.dropFirst(7)) ?? 1)
        default: .agentNotListening
        }
    }

    // MARK: file

    private func set(_ record: Record, sync: Bool) {
        if records[record.id] == nil {
            order.append(record.id)
            trim()
        }
        records[record.id] = record
        append(record, sync: sync)
    }

    private func trim() {
        while order.count - orderStart > capacity {
            records[order[orderStart]] = nil
            orderStart += 1
        }
        if orderStart > capacity {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    private func load() {
        guard case .success(let rfd) = HistoryFile.open(path, O_RDONLY) else { return }
        defer { close(rfd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(rfd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        let decoder = JSONDecoder()
        for line in bytes.split(separator: 0x0A) {
            fileLines += 1
            guard let record = try? decoder.decode(Record.self, from: Data(line)) else { continue }
            if records[record.id] == nil { order.append(record.id) }
            // The first settled answer stays.
            if let old = records[record.id], old.state != .sending { continue }
            records[record.id] = record
        }
        trim()
    }

    private func append(_ record: Record, sync: Bool) {
        if fileLines >= 2 * capacity { return rewrite() }
        if fd < 0 {
            do { try FifoSafety.ensureDirectory((path as NSString).deletingLastPathComponent) } catch {
                lastError = error.description
                return
            }
            switch HistoryFile.open(path, O_WRONLY | O_APPEND | O_CREAT) {
            case .success(let opened): fd = opened
            case .failure(let problem):
                lastError = "\(path): \(problem)"
                return
            }
        }
        guard let line = try? Self.line(record) else { return }
        if !writeAll(fd, line) || (sync && PlatformFile.fsync(fd) != 0) {
            lastError = "\(SystemError("write", path: path))"
            close(fd)
            fd = -1
            return
        }
        fileLines += 1
        lastError = nil
    }

    /// The newest `capacity` ids, to a fresh file renamed over the old one.
    private func rewrite() {
        if fd >= 0 { close(fd) }
        fd = -1
        let temp = path + ".tmp"
        unlink(temp)
        guard case .success(let tfd) = HistoryFile.open(temp, O_WRONLY | O_CREAT | O_EXCL) else {
            lastError = "cannot write \(temp)"
            return
        }
        var bytes: [UInt8] = []
        for id in order[orderStart...] { if let record = records[id], let line = try? Self.line(record) { bytes += line } }
        let ok = writeAll(tfd, bytes) && PlatformFile.fsync(tfd) == 0
        close(tfd)
        guard ok, PlatformFile.rename(temp, path) == 0 else {
            unlink(temp)
            lastError = "\(SystemError("rename", path: path))"
            return
        }
        fileLines = records.count
        lastError = nil
    }

    private static func line(_ record: Record) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(record)) + [0x0A]
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            return false
        }
        return true
    }
}
