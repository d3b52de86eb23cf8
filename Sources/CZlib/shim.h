#include <zlib.h>

// deflateInit2 is a macro over deflateInit2_ that Swift cannot import.
static inline int czlib_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
