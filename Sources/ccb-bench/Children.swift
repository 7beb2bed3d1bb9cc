// Children: the hidden subcommands the harness runs in separate processes, so that a writer's
// work and the harness's own memory never count against what is measured.
//   child-write BYTES PATH...           writes AgentText blocks (>= BYTES) into each FIFO, 64 KiB at a time;
//                                       with $CCB_BENCH_STAMP set, first writes the CLOCK_MONOTONIC time
//                                       the FIFOs were open (its start-up and data generation excluded) there
//   child-ingest hub|upstream BYTES DIR NAME...
//       starts the reader on DIR's instances (hub: the TUI's path, InstanceHub events through the
//       TUI's reducer), then spawns child-write for them, and prints one JSON object: seconds,
//       cpu, vmhwm_kb, bytes, lines.
//   child-feed BYTES                    decoder + scrollback in one process, no pipe (ns per byte of
//                                       each); its decode figure is the guard's engine rate

import BridgeCore
import BridgeTUI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum ChildWrite {
    static func run(_ args: [String]) throws {
        guard args.count >= 2, let bytes = Int(args[0]) else { throw BenchError("child-write BYTES PATH...") }
        signal(SIGPIPE, SIG_IGN)
        let (block, _) = AgentText.block()
        let blocks = AgentText.blocks(for: bytes, blockSize: block.count)
        let fds = args.dropFirst().map { open($0, O_WRONLY | O_CLOEXEC) }
        guard !fds.contains(where: { $0 < 0 }) else { throw BenchError("child-write: open failed (\(errno))") }
        if let stamp = ProcessInfo.processInfo.environment["CCB_BENCH_STAMP"] {
            try String(MonotonicClock.now()).write(toFile: stamp, atomically: false, encoding: .utf8)
        }
        let chunk = 64 << 10
        try block.withUnsafeBytes { raw in
            for _ in 0..<blocks {
                var offset = 0
                while offset < raw.count {
                    let n = min(chunk, raw.count - offset)
                    for fd in fds {
                        var done = 0
                        while done < n {
                            let w = write(fd, raw.baseAddress! + offset + done, n - done)
                            if w < 0 { if errno == EINTR { continue }; throw BenchError("child-write: write \(errno)") }
                            done += w
                        }
                    }
                    offset += n
                }
            }
        }
        for fd in fds { close(fd) }
    }
}

struct IngestResult: Codable {
    var seconds: Double
    var cpu: Double
    var vmhwmKB: Int
    var bytes: Int
    var lines: Int
}

enum ChildIngest {
    static func run(_ args: [String]) throws {
        guard args.count >= 4, let bytes = Int(args[1]) else { throw BenchError("child-ingest hub|upstream BYTES DIR NAME...") }
        let mode = args[0], directory = args[2], names = Array(args[3...])
        let (block, linesPerBlock) = AgentText.block()
        let blocks = AgentText.blocks(for: bytes, blockSize: block.count)
        let expectedLines = blocks * linesPerBlock
        let result: IngestResult
        switch mode {
        case "hub": result = try hub(directory: directory, names: names, bytes: bytes, expectedLines: expectedLines)
        case "upstream": result = try upstream(directory: directory, name: names[0], bytes: bytes, expectedLines: expectedLines)
        default: throw BenchError("child-ingest: unknown mode \(mode)")
        }
        var total = result
        total.bytes = blocks * block.count * names.count
        let data = try JSONEncoder().encode(total)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func spawnWriter(bytes: Int, paths: [String]) throws -> pid_t {
        try Proc.spawn([Proc.selfExe, "child-write", String(bytes)] + paths, environment: ["CCB_BENCH_STAMP": stampPath])
    }

    static let stampPath = "/tmp/ccb-bench-stamp.\(getpid())"

    /// When the writer had its FIFOs open (falls back to `fallback`).
    static func writerStart(fallback: Double) -> Double {
        defer { unlink(stampPath) }
        return (try? String(contentsOfFile: stampPath, encoding: .utf8)).flatMap(Double.init) ?? fallback
    }

    /// The TUI's path, as TUIRuntime runs it: EventLoop + InstanceHub (OutputChannel,
    /// StreamDecoder) reporting `.instancesChanged` and `.output` events, each dispatched to the
    /// TUI's reducer (`reduce(state:action:)` on an `AppState` with the TUI's default settings), which
    /// splits the shared scrollback budget over the instances and copies each batch into the
    /// instance's scrollback.
    static func hub(directory: String, names: [String], bytes: Int, expectedLines: Int) throws -> IngestResult {
        let loop = try EventLoop()
        var settings = TUISettings()
        // For calibrating Scrollback.lineCost: RSS at two totals gives the real cost per byte bound.
        if let total = ProcessInfo.processInfo.environment["CCB_BENCH_TOTAL_BYTES"].flatMap(Int.init) {
            settings.scrollbackTotalBytes = total
        }
        var state = AppState(settings: settings)
        var finished = Set<String>()
        var attached = 0
        var options = InstanceHub.Options(directory: directory)
        options.only = Set(names)
        options.maxLineBytes = settings.maxLineBytes
        options.rescanInterval = 3600
        let hub = InstanceHub(loop: loop, options: options) { event in
            switch event {
            case .instancesChanged(let list, _):
                _ = reduce(state: &state, action: .instancesChanged(list))
            case .output(let name, let batch):
                _ = reduce(state: &state, action: .output(instance: name, batch: batch))
                if let s = state.instance(named: name)?.scrollback, s.endLineNumber == expectedLines && !s.lastIsOpen {
                    finished.insert(name)
                }
            case .attachment(_, .attached): attached += 1
            case .attachment(let name, .failed(let why)): FileHandle.standardError.write(Data("\(name): \(why)\n".utf8))
            default: break
            }
        }
        hub.start()
        guard attached == names.count else { throw BenchError("child-ingest: attached \(attached) of \(names.count)") }
        let cpu0 = Proc.selfCPU()
        let t0 = MonotonicClock.now()
        let writer = try spawnWriter(bytes: bytes, paths: names.map { directory + "/" + $0 + InstanceScanner.outSuffix })
        while finished.count < names.count {
            loop.runOnce(timeout: 5)
            if MonotonicClock.now() - t0 > 600 { throw BenchError("child-ingest: timed out") }
        }
        let t1 = MonotonicClock.now()
        let cpu = Proc.selfCPU() - cpu0
        try Proc.wait(writer)
        let start = writerStart(fallback: t0)
        hub.stop()
        return IngestResult(seconds: t1 - start, cpu: cpu, vmhwmKB: Proc.statusKB("VmHWM"), bytes: 0, lines: expectedLines)
    }

    /// The upstream reference client's reader: 4096-byte reads, 100 ms sleep whenever the FIFO is
    /// empty; the bytes go through the same decoder and scrollback as ours.
    static func upstream(directory: String, name: String, bytes: Int, expectedLines: Int) throws -> IngestResult {
        let path = directory + "/" + name + InstanceScanner.outSuffix
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        let keepAlive = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0, keepAlive >= 0 else { throw BenchError("upstream: open \(path) failed") }
        defer { close(fd); close(keepAlive) }
        let settings = TUISettings()
        var scrollback = Scrollback(maxLines: settings.scrollbackLines, maxBytes: settings.scrollbackBytes)
        var decoder = StreamDecoder(maxLineBytes: settings.maxLineBytes)
        var batch = OutputBatch()
        var events: [StreamEvent] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        let cpu0 = Proc.selfCPU()
        let t0 = MonotonicClock.now()
        let writer = try spawnWriter(bytes: bytes, paths: [path])
        while !(scrollback.endLineNumber == expectedLines && !scrollback.lastIsOpen) {
            let n = read(fd, buffer.baseAddress, 4096)
            if n > 0 {
                batch.removeAll(keepingCapacity: true)
                events.removeAll(keepingCapacity: true)
                decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), into: &batch, events: &events)
                scrollback.apply(batch)
            } else {
                usleep(100_000)
            }
            if MonotonicClock.now() - t0 > 600 { throw BenchError("upstream: timed out") }
        }
        let t1 = MonotonicClock.now()
        let cpu = Proc.selfCPU() - cpu0
        try Proc.wait(writer)
        let start = writerStart(fallback: t0)
        return IngestResult(seconds: t1 - start, cpu: cpu, vmhwmKB: Proc.statusKB("VmHWM"), bytes: 0, lines: expectedLines)
    }
}

/// `child-feed BYTES`: the user-space half of ingest alone, in one process with no pipe: AgentText
/// in 256 KiB pieces through StreamDecoder (→ OutputProcessor → OutputBatch) and Scrollback.apply,
/// timed separately. For profiling and for trying changes to the scanner; its decode figure is the
/// engine's own rate that the guard rows hold the user paths against.
enum ChildFeed {
    static func run(_ args: [String]) throws {
        guard let bytes = args.first.flatMap(Int.init) else { throw BenchError("child-feed BYTES") }
        var (block, _) = AgentText.block()
        // Experiments: CCB_FEED_ASCII=1 turns non-ASCII bytes into 'x'; CCB_FEED_NOSGR=1 turns ESC into 'x'.
        let env = ProcessInfo.processInfo.environment
        if env["CCB_FEED_ASCII"] != nil { block = block.map { $0 >= 0x80 ? 0x78 : $0 } }
        if env["CCB_FEED_NOSGR"] != nil { block = block.map { $0 == 0x1B ? 0x78 : $0 } }
        let blocks = AgentText.blocks(for: bytes, blockSize: block.count)
        let settings = TUISettings()
        var decoder = StreamDecoder(maxLineBytes: settings.maxLineBytes)
        var scrollback = Scrollback(maxLines: settings.scrollbackLines, maxBytes: settings.scrollbackBytes)
        var batch = OutputBatch()
        var events: [StreamEvent] = []
        var decodeTime = 0.0, applyTime = 0.0
        let piece = 256 << 10
        block.withUnsafeBytes { raw in
            for _ in 0..<blocks {
                var offset = 0
                while offset < raw.count {
                    let n = min(piece, raw.count - offset)
                    let t0 = MonotonicClock.now()
                    decoder.feed(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]), into: &batch, events: &events)
                    let t1 = MonotonicClock.now()
                    scrollback.apply(consuming: &batch)
                    applyTime += MonotonicClock.now() - t1
                    decodeTime += t1 - t0
                    events.removeAll(keepingCapacity: true)
                    offset += n
                }
            }
        }
        let total = Double(blocks * block.count)
        print(String(format: "decode %.3f ns/byte, apply %.3f ns/byte, %d lines held", decodeTime / total * 1e9,
                     applyTime / total * 1e9, scrollback.count))
    }
}
