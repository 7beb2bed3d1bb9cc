// RuntimeStats: what the running TUI measures about itself for benchmarks: when the first frame
// was on screen, how many frames were drawn (and the most in any one second), and how long each key took from being read to
// being on screen. Written as one JSON object to the file named by $CCB_TUI_STATS on exit
// (and a first-frame line as soon as it happens). Costs nothing when the variable is unset.

import BridgeCore
import Foundation

final class RuntimeStats {
    private let path: String?
    private(set) var frames = 0
    private var firstFrame: Double?
    private var pendingKeys: [Double] = []
    private var keyLatencies: [Double] = []
    private var outputBytesSeen = 0
    /// Frame times of the last second (a sliding window, `windowHead` is its oldest) and the most
    /// frames any 1 s window held: the true peak frame rate, whatever the run's length.
    private var window: [Double] = []
    private var windowHead = 0
    private(set) var peakFramesPerSecond = 0

    init(environment: [String: String]) {
        path = environment["CCB_TUI_STATS"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var enabled: Bool { path != nil }

    func keyRead(at time: Double) {
        guard enabled, pendingKeys.count < 10_000 else { return }
        pendingKeys.append(time)
    }

    func framePresented(at time: Double) {
        frames += 1
        if enabled { countInWindow(time) }
        if firstFrame == nil {
            firstFrame = time
            append(["event": "first_frame", "monotonic": time])
        }
        guard enabled, !pendingKeys.isEmpty else { return }
        for read in pendingKeys where keyLatencies.count < 100_000 { keyLatencies.append(time - read) }
        pendingKeys.removeAll(keepingCapacity: true)
    }

    private func countInWindow(_ time: Double) {
        window.append(time)
        while time - window[windowHead] >= 1.0 { windowHead += 1 }
        peakFramesPerSecond = max(peakFramesPerSecond, window.count - windowHead)
        if windowHead > 256 && windowHead * 2 > window.count {
            window.removeFirst(windowHead)
            windowHead = 0
        }
    }

    func finish() {
        append(["event": "exit", "monotonic": MonotonicClock.now(), "frames": frames,
                "peak_fps_1s": peakFramesPerSecond,
                "first_frame": firstFrame ?? 0, "key_latencies": keyLatencies])
    }

    private func append(_ object: [String: Any]) {
        guard let path, let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: data + Data("\n".utf8))
    }
}
