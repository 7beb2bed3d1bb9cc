// TestSupport: temporary pipe directories and child processes for tests on real FIFOs.

import Foundation
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// A private temporary directory, removed when the value is released.
final class TempDir {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "ccb-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: made!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// An in-FIFO in `tmp` with a reader that holds it open and never reads (the caller closes it).
func fifoWithIdleReader(in tmp: TempDir) throws -> (path: String, reader: Int32) {
    let path = tmp.file("a.in.fifo")
    try FifoSafety.create(path)
    return (path, open(path, O_RDONLY | O_NONBLOCK))
}

/// Starts `/bin/sh -c script` (or python3) and lets the test wait for it with a deadline.
final class Child {
    let process = Process()
    let stdout = Pipe()

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = stdout
        try process.run()
    }

    static func python(_ source: String, _ arguments: [String] = []) throws -> Child {
        try Child("/usr/bin/env", ["python3", "-c", source] + arguments)
    }

    /// True when the process ended before the deadline.
    func waitForExit(timeout: Double) -> Bool {
        let deadline = MonotonicClock.now() + timeout
        while process.isRunning && MonotonicClock.now() < deadline { usleep(2000) }
        return !process.isRunning
    }

    /// Everything the child wrote; kills it first if it is still running, so this never hangs.
    func output() -> String {
        kill()
        return String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    func kill(_ signal: Int32 = SIGKILL) {
        if process.isRunning { Glibc.kill(process.processIdentifier, signal) }
        process.waitUntilExit()
    }

    deinit { kill() }
}

/// Runs the loop until `condition` holds or the timeout passes; returns whether it held.
func spin(_ loop: EventLoop, timeout: Double, until condition: () -> Bool) -> Bool {
    let deadline = MonotonicClock.now() + timeout
    while !condition() {
        let left = deadline - MonotonicClock.now()
        if left <= 0 { return false }
        loop.runOnce(timeout: min(left, 0.05))
    }
    return true
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
