// This target links definitions of hypot and hypotf that bind to their GLIBC_2.2.5 versions (see
// hypot.c), so that `sluice` runs with the glibc 2.34 of Lambda's provided.al2023; and it gives
// Swift glibc's malloc settings, whose header the Glibc module does not include.

#include <malloc.h>

/// One malloc arena for the process, and fixed mmap and trim thresholds (bytes): see
/// MallocTuning.swift in the sluice target. Returns 1 when glibc took all three.
static inline int cglibc_tune_malloc(int arenas, int mmap_threshold, int trim_threshold) {
    return mallopt(M_ARENA_MAX, arenas) == 1 && mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
        && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}
