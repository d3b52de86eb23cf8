#include <zlib.h>

// deflateInit2 is a macro over deflateInit2_ that Swift cannot import.
// windowBits 9...15 (a gzip member: 16 is added here), memLevel 1...9.
static inline int czlib_deflate_init_gzip(z_streamp stream, int level, int window_bits, int mem_level) {
    return deflateInit2(stream, level, Z_DEFLATED, window_bits + 16, mem_level, Z_DEFAULT_STRATEGY);
}
