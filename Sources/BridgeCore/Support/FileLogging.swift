// FileLogging: swift-log output to a file under $XDG_STATE_HOME/cc-bridge-tui/, never to the
// terminal the TUI owns.

import Foundation
import Logging

public enum StatePaths {
    /// `$XDG_STATE_HOME/cc-bridge-tui` (default `~/.local/state/cc-bridge-tui`).
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/cc-bridge-tui" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/state/cc-bridge-tui"
    }
}

public enum FileLogging {
    /// Points swift-log at `<state dir>/cc-bridge-tui.log`. Safe to call once per process.
    public static func bootstrap(level: Logger.Level = .info, fileName: String = "cc-bridge-tui.log") {
        let directory = StatePaths.directory()
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + fileName
        LoggingSystem.bootstrap { label in
            var handler = FileLogHandler(label: label, path: path)
            handler.logLevel = level
            return handler
        }
    }
}

/// Appends one line per message; a file that cannot be opened silently drops logs (the TUI
/// must keep working on a read-only or full disk).
public struct FileLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let sink: LogSink

    public init(label: String, path: String) {
        self.label = label
        sink = LogSink.shared(for: path)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let meta = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .current,
                                                formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        sink.write("\(stamp) \(event.level) \(label):\(meta) \(event.message)\n")
    }
}

final class LogSink: @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle?
    nonisolated(unsafe) private static var sinks: [String: LogSink] = [:]
    private static let sinksLock = NSLock()

    private init(path: String) {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        handle = FileHandle(forWritingAtPath: path)
        _ = try? handle?.seekToEnd()
    }

    static func shared(for path: String) -> LogSink {
        sinksLock.lock()
        defer { sinksLock.unlock() }
        if let sink = sinks[path] { return sink }
        let sink = LogSink(path: path)
        sinks[path] = sink
        return sink
    }

    func write(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        try? handle?.write(contentsOf: Data(line.utf8))
    }
}
