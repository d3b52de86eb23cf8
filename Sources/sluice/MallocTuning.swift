import CGlibcCompat

/// glibc malloc settings for a process that shares a small function's memory.
///
/// Measured with the layer's binary at 5,000 events/s (BENCHMARKS.md): glibc's defaults let the
/// peak resident set reach 44 MB for a live heap of 13 MB. Two causes, two settings:
/// - one arena per thread that allocates (NIO's event loops, Swift's cooperative pool), each
///   keeping the high-water mark of what passed through it: one arena for the process;
/// - the mmap threshold rising to the largest block freed so far, after which a batch's multi-MB
///   body and records come from the heap and leave holes there: a fixed 64 KiB threshold sends
///   them to mmap, and freeing them returns the memory at once.
/// Together: 33 MB at the same load (anonymous memory 23.5 -> 12 MB). One arena costs nothing
/// here: the work is one pipeline on one or two cores.
enum MallocTuning {
    /// Applies the settings; call it first thing, before any thread starts.
    static func apply() {
        _ = cglibc_tune_malloc(1, 64 << 10, 128 << 10)
    }
}
