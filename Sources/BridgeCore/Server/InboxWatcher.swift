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
// Cheap when idle: on Linux the root and each instance directory are watched with inotify
// (DirectoryEvents), so a file renamed in is taken at once and nothing is looked at while nothing
// happens, but a slow sweep every `sweepInterval` (the fallback for what a watch could miss). A
// sweep lists the root, gives each new instance directory its first look (its watch, its
// `processing/`: what a run before this one left there) and stats instance directories, with more
// than 128 instances 128 of them a sweep in turn, reading only a directory whose mtime moved (or,
// without a watch, moved recently: a rename in the same clock tick as the last look leaves the
// mtime as it was; with a watch that rename was an event).
// Where inotify is missing, or refuses a directory (the watch limit), the timer runs every
// `interval` and those directories are looked at that way. Loop thread only.

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
    private let useEvents: Bool
    /// One line per settled file (the server's log).
    public var log: (String) -> Void = { _ in }
    private var timer: EventLoop.TimerID?
    /// The timer's interval now: `interval` while some directory is not watched, else the sweep's.
    private var cadence: Double?
    private var seen: [String: Double] = [:]
    /// Entries of `root` already found to be valid instance names.
    private var validNames: Set<String> = []
    /// Instance directories that had their first look (and their watch, where one could be had).
    private var looked: Set<String> = []
    /// Of those, the ones without a watch (all of them where there is no inotify).
    private var unwatched: Set<String> = []
    /// Instance directories looked at per sweep, in turn, and where the next one starts.
    static let perTick = 128
    private var cursor = 0
    /// The inotify watches (nil where there is no inotify), whether the root is watched, and
    /// whether the kernel may take another watch (false after it refused one, until one goes).
    private var events: DirectoryEvents?
    private var rootWatched = false
    private var mayWatchMore = true
    /// Seconds between sweeps when every directory is watched, and when the next sweep is due.
    private let sweepInterval: Double
    private var nextSweep = 0.0
    /// Seconds within which a directory's mtime counts as a change still (see `moved`).
    private var recent = 2.0
    /// Instances with a file handed to the server and not settled yet.
    private var busy: Set<String> = []
    private var running = false
    /// The key of the root's watch (no instance name has a slash).
    private static let rootKey = "/"

    /// `useEvents: false`: no inotify, every directory is looked at every `interval` (tests of
    /// the fallback).
    public init(loop: EventLoop, root: String, maxBytes: Int, interval: Double = 0.25, sweepInterval: Double = 5,
                useEvents: Bool = true, isReady: @escaping () -> Bool = { true }, knows: @escaping (String) -> Bool,
                submit: @escaping Submit) {
        self.sweepInterval = max(interval, sweepInterval)
        self.useEvents = useEvents
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
        if useEvents {
            events = DirectoryEvents.make(loop: loop) { [weak self] changes in self?.changed(changes) }
        }
        retime()
        tick()
    }

    public func stop() {
        running = false
        if let timer { loop.cancel(timer) }
        timer = nil
        cadence = nil
        events?.close()
        events = nil
    }

    /// Directories watched with inotify now (tests).
    public var watchedDirectories: Int { events?.count ?? 0 }

    /// Makes an instance's drop directory and its `processing/`, `done/`, `failed/`.
    public func prepare(_ instance: String) {
        let dir = Self.directory(root: root, instance: instance)
        for sub in ["", "/processing", "/done", "/failed"] { try? FifoSafety.ensureDirectory(dir + sub) }
    }

    // MARK: scanning

    /// The timer at the interval needed now: `interval` until the server is ready and while a
    /// directory is not watched, else `sweepInterval`.
    private func retime() {
        guard running else { return }
        let wanted = events != nil && rootWatched && isReady() && unwatched.isEmpty ? sweepInterval : interval
        guard wanted != cadence else { return }
        if let timer { loop.cancel(timer) }
        cadence = wanted
        timer = loop.schedule(after: wanted, repeating: wanted) { [weak self] in self?.tick() }
    }

    private func tick() {
        // Not before the server has listed the pipe directory once: until then every instance
        // would look unknown.
        guard running, isReady() else { return }
        let now = MonotonicClock.now()
        if events == nil || !rootWatched || now >= nextSweep {
            // The next sweep is due a little before the timer's tick after `sweepInterval`.
            nextSweep = now + sweepInterval - min(interval, sweepInterval) / 2
            sweep()
        } else {
            lookAtUnwatched()
        }
        retime()
    }

    /// Lists the root: new instance directories get their first look, then (at most `perTick`
    /// a sweep, in turn) known ones are read if their mtime moved.
    private func sweep() {
        if let events, !rootWatched { rootWatched = events.watch(root, key: Self.rootKey) }
        let names = Self.entries(root).sorted()
        for name in names where !looked.contains(name) { firstLook(name) }
        let count = min(names.count, Self.perTick)
        let start = names.isEmpty ? 0 : cursor % names.count
        cursor = start + count
        // A rename in the same clock tick as a look leaves the mtime as it was: a directory changed
        // within two of its visits is read again.
        let every = events != nil && rootWatched ? sweepInterval : interval
        recent = 2 + 2 * every * Double((names.count + Self.perTick - 1) / Self.perTick)
        for k in 0..<count {
            let name = names[(start + k) % names.count]
            if looked.contains(name) { look(name) }
        }
    }

    /// The directories inotify refused, at most `perTick` a tick in turn.
    private func lookAtUnwatched() {
        for name in unwatched.sorted() where mayWatchMore {
            if watch(name) { look(name, force: true) }
        }
        let names = unwatched.sorted()
        guard !names.isEmpty else { return }
        let count = min(names.count, Self.perTick)
        let start = cursor % names.count
        cursor = start + count
        for k in 0..<count { look(names[(start + k) % names.count]) }
    }

    /// An instance directory seen for the first time (or again after it went): its watch, then
    /// its `processing/` and its files. Only at the first look: after that only this watcher puts
    /// files into `processing/`, and it takes each at once.
    private func firstLook(_ name: String) {
        if !validNames.contains(name) {
            guard (try? InstanceName(validating: name)) != nil else { return }
            validNames.insert(name)
        }
        let dir = Self.directory(root: root, instance: name)
        guard Self.isDirectory(dir) else { return }
        // The watch before the look: a file renamed in between is seen by one or the other.
        looked.insert(name)
        unwatched.insert(name)
        watch(name)
        look(name, force: true)
    }

    /// A watch on the instance's directory, unless the kernel refused one since a watch last went.
    @discardableResult
    private func watch(_ name: String) -> Bool {
        guard let events, mayWatchMore else { return false }
        guard events.watch(Self.directory(root: root, instance: name), key: name) else {
            mayWatchMore = false
            return false
        }
        unwatched.remove(name)
        return true
    }

    /// Reads the directory when its mtime moved (or always: `force`) and takes its next file.
    private func look(_ name: String, force: Bool = false) {
        guard !busy.contains(name) else { return }
        // A watched directory's rename in the same clock tick as the last look was an event.
        let dir = Self.directory(root: root, instance: name)
        if moved(dir, orRecently: events?.isWatching(name) != true) || force { next(name) }
    }

    /// What inotify saw: files renamed into instance directories are taken at once; new instance
    /// directories get their first look; lost events make every directory looked at.
    private func changed(_ changes: [DirectoryEvents.Change]) {
        guard running else { return }
        var fresh: Set<String> = []
        var touched: Set<String> = []
        for change in changes {
            switch change {
            case .entry(let key, let name, let isDirectory):
                if key == Self.rootKey {
                    if isDirectory && !name.isEmpty { fresh.insert(name) }
                } else if !isDirectory && InboxFile.isCandidate(name) {
                    touched.insert(key)
                }
            case .gone(let key):
                mayWatchMore = true
                if key == Self.rootKey {
                    rootWatched = false
                } else {
                    // Looked at afresh (and watched again) if it comes back.
                    looked.remove(key)
                    unwatched.remove(key)
                    seen[Self.directory(root: root, instance: key)] = nil
                }
            case .overflow:
                touched.formUnion(looked)
                fresh.formUnion(Self.entries(root))
            }
        }
        // Until the server is ready the sweep that follows looks at everything.
        guard isReady() else { return }
        for name in fresh.sorted() where !looked.contains(name) { firstLook(name) }
        for name in touched.sorted() where looked.contains(name) { look(name, force: true) }
        retime()
    }

    /// True when the directory's mtime differs from the last look, or (`orRecently`) is within
    /// `recent` of now.
    private func moved(_ path: String, orRecently: Bool) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
        defer { seen[path] = mtime }
        return seen[path] != mtime || (orRecently && Date().timeIntervalSince1970 - mtime < recent)
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
