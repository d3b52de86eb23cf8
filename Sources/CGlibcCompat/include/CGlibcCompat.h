// This target links definitions of hypot and hypotf that bind to their GLIBC_2.2.5 versions (see
// hypot.c), so that `sluice` runs with the glibc 2.34 of Lambda's provided.al2023; it gives
// Swift glibc's malloc settings, whose header the Glibc module does not include, and sets Swift
// Concurrency's executor hooks (concurrency_hooks.c).

#include <malloc.h>

/// One malloc arena for the process, and fixed mmap and trim thresholds (bytes): see
/// MallocTuning.swift in the sluice target. Returns 1 when glibc took all three.
static inline int cglibc_tune_malloc(int arenas, int mmap_threshold, int trim_threshold) {
    return mallopt(M_ARENA_MAX, arenas) == 1 && mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
        && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}

/// Sends every job of Swift Concurrency to `run` instead of its thread pool: a job to run now
/// (`delay_ns` 0) or after `delay_ns` nanoseconds (`Task.sleep` and every other timer). Its runtime
/// is linked in statically, so its hooks are set here rather than found with `dlsym`. See
/// OneThread.swift in the sluice target.
void cglibc_run_concurrency_jobs_with(void (*_Nonnull run)(void *_Nonnull job, long long delay_ns));
