// DirectoryEvents: Linux inotify on a set of directories, read on the EventLoop. It tells its
// owner which watched directory had an entry created or moved in (and, when asked for,
// removed or moved out, or an entry's or the directory's own mode or owner changed), which
// watched directory went (deleted or moved away), and that events were lost (the kernel's queue
// overflowed: look at everything). Where inotify is missing (Darwin) `make` gives nil; where it
// refuses a directory (the per-user watch limit, a path that is no directory) `watch` gives
// false. In both cases the owner keeps looking at those directories itself. Loop thread only.

#if canImport(Glibc)
import Glibc
#endif

public final class DirectoryEvents {
    public enum Change: Equatable {
        /// An entry `name` was created or moved in in the directory `key` (or, with `.removals` and `.attributes`, removed, moved out or changed its mode or
        /// owner; `name` is empty for the directory itself).
        case entry(key: String, name: String, isDirectory: Bool)
        /// The directory `key` went (deleted, moved away, unmounted): it is no longer watched.
        case gone(key: String)
        /// Events were lost.
        case overflow
    }

    /// What a watch reports beyond entries created or moved in.
    public struct Interest: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Entries removed or moved out.
        public static let removals = Interest(rawValue: 1)
        /// An entry's (or the directory's) mode, owner or times changed.
        public static let attributes = Interest(rawValue: 2)
    }

    private let loop: EventLoop
    private let fd: Int32
    private var loopWatch: EventLoop.WatchID?
    private var keys: [Int32: String] = [:]
    private var descriptors: [String: Int32] = [:]
    private let onChanges: ([Change]) -> Void
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    /// Watching, or nil where inotify is not available.
    public static func make(loop: EventLoop, onChanges: @escaping ([Change]) -> Void) -> DirectoryEvents? {
        #if canImport(Glibc)
        let fd = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        return DirectoryEvents(loop: loop, fd: fd, onChanges: onChanges)
        #else
        return nil
        #endif
    }

    private init(loop: EventLoop, fd: Int32, onChanges: @escaping ([Change]) -> Void) {
        self.loop = loop
        self.fd = fd
        self.onChanges = onChanges
        loopWatch = loop.watch(fd, for: .readable) { [weak self] _ in self?.drain() }
    }

    deinit { close() }

    public func close() {
        guard let loopWatch else { return }
        loop.unwatch(loopWatch)
        self.loopWatch = nil
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #endif
        keys = [:]
        descriptors = [:]
    }

    /// Directories watched now.
    public var count: Int { descriptors.count }

    public func isWatching(_ key: String) -> Bool { descriptors[key] != nil }

    /// Watches the directory at `path` (not following a symlink) under `key`; false when the
    /// kernel refuses (see the header).
    @discardableResult
    public func watch(_ path: String, key: String, also interest: Interest = []) -> Bool {
        #if canImport(Glibc)
        guard loopWatch != nil else { return false }
        if descriptors[key] != nil { return true }
        var mask = UInt32(IN_CREATE) | UInt32(IN_MOVED_TO) | UInt32(IN_DELETE_SELF)
            | UInt32(IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_DONT_FOLLOW)
        if interest.contains(.removals) { mask |= UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM) }
        if interest.contains(.attributes) { mask |= UInt32(IN_ATTRIB) }
        let wd = inotify_add_watch(fd, path, mask)
        guard wd >= 0 else { return false }
        // The same directory under another key (the kernel gives its one descriptor again).
        if let other = keys[wd], other != key { return false }
        keys[wd] = key
        descriptors[key] = wd
        return true
        #else
        return false
        #endif
    }

    public func unwatch(_ key: String) {
        guard let wd = descriptors.removeValue(forKey: key) else { return }
        keys[wd] = nil
        #if canImport(Glibc)
        _ = inotify_rm_watch(fd, wd)
        #endif
    }

    private func drain() {
        #if canImport(Glibc)
        var changes: [Change] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            buffer.withUnsafeBytes { raw in parse(UnsafeRawBufferPointer(rebasing: raw[0..<n]), into: &changes) }
        }
        if !changes.isEmpty { onChanges(changes) }
        #endif
    }

    #if canImport(Glibc)
    /// `struct inotify_event`: wd, mask, cookie, len (4 bytes each), then `len` bytes of name.
    private func parse(_ raw: UnsafeRawBufferPointer, into changes: inout [Change]) {
        var offset = 0
        while offset + 16 <= raw.count {
            let wd = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let nameBytes = raw[(offset + 16)..<min(raw.count, offset + 16 + length)]
            offset += 16 + length
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                changes.append(.overflow)
                continue
            }
            guard let key = keys[wd] else { continue }
            if mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_IGNORED) | UInt32(IN_UNMOUNT)) != 0 {
                // Moved away, the watch would follow it elsewhere: let it go.
                unwatch(key)
                changes.append(.gone(key: key))
                continue
            }
            let name = String(decoding: nameBytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            changes.append(.entry(key: key, name: name, isDirectory: mask & UInt32(IN_ISDIR) != 0))
        }
    }
    #endif
}
