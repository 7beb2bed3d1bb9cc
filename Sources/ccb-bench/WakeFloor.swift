// WakeFloor: what this machine charges for waking a process that sleeps in poll(2), measured in
// the same run as `server-roundtrip`. Two threads play ping-pong over two pipes, each blocking in
// poll(2) between messages: one exchange is two wake-ups, no work. A prompt through the server is
// four (client → server → agent → server → client), so twice this exchange's median is the floor
// under the server round trip for any design whose processes sleep while they wait. Where the two
// sleepers sit matters more than anything else on a VM (a wake-up on the other vCPU has to rouse
// it), so the exchange is timed twice: the threads pinned to two CPUs, then both to one. The rows
// name the idle driver and its halt polling, which set that price (IdleDriver).

import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// glibc declares these under _GNU_SOURCE only, which Swift's Glibc module does not see.
@_silgen_name("sched_setaffinity") private func setAffinity(_ pid: Int32, _ size: Int, _ mask: UnsafeRawPointer) -> Int32
@_silgen_name("sched_getaffinity") private func getAffinity(_ pid: Int32, _ size: Int, _ mask: UnsafeMutableRawPointer) -> Int32

/// A CPU mask as the kernel takes it (1,024 CPUs, as glibc's cpu_set_t).
private struct CPUMask {
    var words = [UInt64](repeating: 0, count: 16)
    static func current() -> CPUMask {
        var mask = CPUMask()
        _ = mask.words.withUnsafeMutableBytes { getAffinity(0, $0.count, $0.baseAddress!) }
        return mask
    }
    static func only(_ cpu: Int) -> CPUMask {
        var mask = CPUMask()
        mask.words[cpu / 64] = 1 << UInt64(cpu % 64)
        return mask
    }
    /// Applies to the calling thread (Linux: pid 0 is the calling thread).
    func apply() { _ = words.withUnsafeBytes { setAffinity(0, $0.count, $0.baseAddress!) } }
}

private final class PingPongPipes: @unchecked Sendable {
    var toEcho: [Int32] = [0, 0]
    var toCaller: [Int32] = [0, 0]

    init() throws {
        guard pipe(&toEcho) == 0, pipe(&toCaller) == 0 else { throw BenchError("wake floor: pipe: \(errno)") }
    }

    deinit { for fd in toEcho + toCaller { close(fd) } }


    /// Sleeps in poll(2) until `fd` is readable, then reads what is there.
    static func sleepThenRead(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
        var slot = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&slot, 1, -1) < 0 && errno == EINTR {}
        return buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    }
}

extension Bench {
    /// Two wake-ups per exchange, the caller on `cpus.0` and the echo on `cpus.1`; returns the p50
    /// and p99 of one exchange in ms. The calling thread's affinity is put back afterwards.
    func wakeFloor(exchanges: Int, cpus: (Int, Int)) throws -> (p50: Double, p99: Double) {
        let pipes = try PingPongPipes()
        let total = exchanges + 200
        let saved = CPUMask.current()
        defer { saved.apply() }
        CPUMask.only(cpus.0).apply()
        let echoCPU = cpus.1
        let echo = Thread {
            CPUMask.only(echoCPU).apply()
            var buffer = [UInt8](repeating: 0, count: 256)
            for _ in 0..<total {
                let n = PingPongPipes.sleepThenRead(pipes.toEcho[0], into: &buffer)
                guard n > 0 else { return }
                _ = buffer.withUnsafeBytes { write(pipes.toCaller[1], $0.baseAddress, n) }
            }
        }
        echo.start()
        var buffer = [UInt8](repeating: 0, count: 256)
        let message = [UInt8](repeating: UInt8(ascii: "x"), count: 100)
        var latencies: [Double] = []
        latencies.reserveCapacity(exchanges)
        for index in 0..<total {
            let start = MonotonicClock.now()
            _ = message.withUnsafeBytes { write(pipes.toEcho[1], $0.baseAddress, $0.count) }
            guard PingPongPipes.sleepThenRead(pipes.toCaller[0], into: &buffer) > 0 else { throw BenchError("wake floor: echo thread gone") }
            if index >= 200 { latencies.append(MonotonicClock.now() - start) }
        }
        return (percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000)
    }
}
