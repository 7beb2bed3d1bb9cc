// AllocatorTuning: glibc malloc settings for a process that streams output through short-lived
// buffers of up to a few MiB (the server: each drain's batch, the line log's copies, the frames).
// With glibc's defaults such a buffer above the dynamic mmap threshold is mmap'd and unmapped
// again, and freed memory at the top of the heap is trimmed as soon as 128 KiB (later twice the
// threshold) is free, so every drain refilled fresh pages: page faults and the kernel zeroing
// them were ~10 % of the server's CPU in a flood (55–68 k minor faults per 256 MiB ingest; ~8.5 k
// with these settings and the line log's prompt release of trimmed batches). A fixed 4 MiB mmap
// threshold keeps such buffers in the heap; a 32 MiB trim threshold keeps up to that much freed
// heap for the next drain instead of handing it back at once (docs/DECISIONS.md).

#if canImport(Glibc)
import Glibc

@_silgen_name("mallopt") private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

public enum AllocatorTuning {
    /// glibc's `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` (malloc.h, not in Swift's Glibc module).
    static let trimThreshold: Int32 = -1
    static let mmapThreshold: Int32 = -3

    /// Applies the streaming settings to this process; false when glibc refused one.
    @discardableResult
    public static func applyForStreaming() -> Bool {
        let trim = glibcMallopt(trimThreshold, 32 << 20)
        let mmap = glibcMallopt(mmapThreshold, 4 << 20)
        return trim == 1 && mmap == 1
    }
}
#else
public enum AllocatorTuning {
    @discardableResult
    public static func applyForStreaming() -> Bool { false }
}
#endif
