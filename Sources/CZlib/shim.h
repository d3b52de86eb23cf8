#include <zlib.h>

// deflateInit2 is a macro over deflateInit2_ that Swift cannot import.
// windowBits 9...15, memLevel 1...9. Raw deflate (the windowBits are negated here): the caller
// writes the gzip member's header and trailer, with a CRC-32 faster than zlib's.
static inline int czlib_deflate_init_raw(z_streamp stream, int level, int window_bits, int mem_level) {
    return deflateInit2(stream, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY);
}
