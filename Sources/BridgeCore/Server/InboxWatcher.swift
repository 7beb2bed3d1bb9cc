// InboxWatcher: the drop directories. Under `root` each instance has `<root>/<instance>/`, where
// a client renames a finished `*.json` or `*.txt` in (InboxFile says what they hold). The watcher
// picks them up in name order, one at a time per instance, each exactly once:
//   1. claim: rename into `processing/` (atomic; a file there is this watcher's);
//   2. read and check it (InboxFile), hand the prompt to the server (`submit`, idempotent id);
//   3. settle: the answer into `done/<name>.result` (`{"prompt_id", "result", "reason"?}`), or the
//      reason into `failed/<name>.error`, each written to a temp name and renamed; then the file
//      itself is renamed next to it.
// A `kill -9` at any moment loses no file and sends none twice: a file is always in the drop
// directory, `processing/`, `done/` or `failed/`; files left in `processing/` are taken first at
// the next start and sent again under the same id, which the server answers from its ledger
// without sending (ServerCore+Inputs).
// Cheap when idle: each tick (`interval`, on the loop's timer) lists the root and stats each
// instance directory (its `processing/` too at the first look; with more than 128 instances, 128
// of them a tick in turn) and reads only a directory whose mtime moved (or moved within the last two seconds,
// as a rename in the same clock tick as the last look leaves the mtime as it was). Loop thread only.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class InboxWatcher {
    /// Hands one prompt to the server; throws a refusal, else calls `done` with the answer.
    public typealias Submit = (_ instance: String, _ prompt: InboxFile.Prompt,
                               _ done: @escaping (ServerSendResult) -> Void) throws -> Void

    public let root: String
    public let maxBytes: Int
    private let loop: EventLoop
    private let interval: Double
    private let knows: (String) -> Bool
    private let isReady: () -> Bool
    private let submit: Submit
    /// One line per settled file (the server's log).
    public var log: (String) -> Void = { _ in }
    private var timer: EventLoop.TimerID?
    private var seen: [String: Double] = [:]
    /// Entries of `root` already found to be valid instance names.
    private var validNames: Set<String> = []
    /// Instance directories looked at per tick, in turn, and where the next tick starts.
    static let perTick = 128
    private var cursor = 0
    /// Seconds within which a directory's mtime counts as a change still (see `tick`).
    private var recent = 2.0
    /// Instances with a file handed to the server and not settled yet.
    private var busy: Set<String> = []
    private var running = false

    public init(loop: EventLoop, root: String, maxBytes: Int, interval: Double = 0.25,
                isReady: @escaping () -> Bool = { true }, knows: @escaping (String) -> Bool, submit: @escaping Submit) {
        self.isReady = isReady
        self.loop = loop
        self.root = root
        self.maxBytes = maxBytes
        self.interval = interval
        self.knows = knows
        self.submit = submit
    }

    public static func directory(root: String, instance: String) -> String { root + "/" + instance }

    public func start() {
        running = true
        try? FifoSafety.ensureDirectory(root)
        timer = loop.schedule(after: interval, repeating: interval) { [weak self] in self?.tick() }
        tick()
    }

    public func stop() {
        running = false
        if let timer { loop.cancel(timer) }
        timer = nil
    }

    /// Makes an instance's drop directory and its `processing/`, `done/`, `failed/`.
    public func prepare(_ instance: String) {
        let dir = Self.directory(root: root, instance: instance)
        for sub in ["", "/processing", "/done", "/failed"] { try? FifoSafety.ensureDirectory(dir + sub) }
    }

    // MARK: scanning

    private func tick() {
        // Not before the server has listed the pipe directory once: until then every instance
        // would look unknown.
        guard running, isReady() else { return }
        // With many instances, at most `perTick` of them a tick, in turn (1,000: each every 2 s).
        let names = Self.entries(root).sorted()
        let count = min(names.count, Self.perTick)
        let start = names.isEmpty ? 0 : cursor % names.count
        cursor = start + count
        // A rename in the same clock tick as a look leaves the mtime as it was: a directory changed
        // within two of its visits is read again.
        recent = 2 + 2 * interval * Double((names.count + Self.perTick - 1) / Self.perTick)
        for k in 0..<count {
            let name = names[(start + k) % names.count]
            if busy.contains(name) { continue }
            if !validNames.contains(name) {
                guard (try? InstanceName(validating: name)) != nil else { continue }
                validNames.insert(name)
            }
            let dir = Self.directory(root: root, instance: name)
            // `processing/` at the first look only (what a run before this one left there): after
            // that only this watcher puts files there, and it takes each at once. So an idle
            // instance costs one lstat(2) a tick (a thousand of them: 4,000 a second, not 12,000).
            let first = seen[dir] == nil
            if first && !Self.isDirectory(dir) { continue }
            let changed = first ? [moved(dir), moved(dir + "/processing")].contains(true) : moved(dir)
            if changed { next(name) }
        }
    }

    /// True when the directory's mtime differs from the last look, or is within `recent` of now.
    private func moved(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        defer { seen[path] = mtime }
        return seen[path] != mtime || Date().timeIntervalSince1970 - mtime < recent
    }

    /// Takes the instance's next file: one left in `processing/` first, else the first by name.
    private func next(_ instance: String) {
        guard running, !busy.contains(instance) else { return }
        let dir = Self.directory(root: root, instance: instance)
        if let left = Self.entries(dir + "/processing").filter(InboxFile.isCandidate).sorted().first {
            return handle(instance, left)
        }
        for name in Self.entries(dir).filter(InboxFile.isCandidate).sorted() {
            prepare(instance)
            if rename(dir + "/" + name, dir + "/processing/" + name) == 0 { return handle(instance, name) }
        }
    }

    private func handle(_ instance: String, _ name: String) {
        let dir = Self.directory(root: root, instance: instance)
        let path = dir + "/processing/" + name
        guard knows(instance) else {
            return settle(instance, name, failure: "no instance \(instance.debugDescription): no FIFOs for it in the pipe directory")
        }
        let prompt: InboxFile.Prompt
        switch InboxFile.read(path, name: name, maxBytes: maxBytes) {
        case .failure(let why): return settle(instance, name, failure: why.description)
        case .success(let read): prompt = read
        }
        busy.insert(instance)
        do {
            try submit(instance, prompt) { [weak self] result in
                // The server stops: the file stays in processing/ for the next run.
                guard let self, self.running else { return }
                self.busy.remove(instance)
                switch result {
                case .failed(_, let error): self.settle(instance, name, failure: error)
                case .delivered, .queued: self.settle(instance, name, result: result)
                }
            }
        } catch {
            busy.remove(instance)
            settle(instance, name, failure: "\(error)")
        }
    }

    // MARK: settling

    private func settle(_ instance: String, _ name: String, failure: String) {
        let dir = Self.directory(root: root, instance: instance)
        prepare(instance)
        Self.writeFile(dir + "/failed/" + name + ".error", Array((failure + "\n").utf8))
        rename(dir + "/processing/" + name, dir + "/failed/" + name)
        log("inbox \(instance)/\(name): refused: \(failure)")
        continueSoon(instance)
    }

    private func settle(_ instance: String, _ name: String, result: ServerSendResult) {
        let dir = Self.directory(root: root, instance: instance)
        var fields = ServerWire.sendResult(result)
        if case .object(var object) = fields {
            object["file"] = .string(name)
            fields = .object(object)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes: [UInt8] = (try? encoder.encode(fields)).map { [UInt8]($0) + [0x0A] } ?? []
        Self.writeFile(dir + "/done/" + name + ".result", bytes)
        rename(dir + "/processing/" + name, dir + "/done/" + name)
        log("inbox \(instance)/\(name): \(fields["result"]?.stringValue ?? "?") as prompt \(fields["prompt_id"]?.stringValue ?? "?")")
        continueSoon(instance)
    }

    /// The next file of the instance, on the next loop turn.
    private func continueSoon(_ instance: String) {
        loop.schedule(after: 0) { [weak self] in self?.next(instance) }
    }

    @discardableResult
    private func rename(_ from: String, _ to: String) -> Int32 { PlatformFile.rename(from, to) }

    // MARK: files

    static func entries(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFDIR)
    }

    /// Written to `<path>.tmp` and renamed, so a reader never sees half of it.
    static func writeFile(_ path: String, _ bytes: [UInt8]) {
        let temp = path + ".tmp"
        unlink(temp)
        guard case .success(let fd) = HistoryFile.open(temp, O_WRONLY | O_CREAT | O_EXCL) else { return }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { break }
        }
        close(fd)
        _ = PlatformFile.rename(temp, path)
    }
}
