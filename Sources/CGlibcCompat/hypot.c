// Makes every call of hypot and hypotf in the executable bind to the GLIBC_2.2.5 versions.
//
// glibc 2.35 gave hypot and hypotf new symbol versions (GLIBC_2.35: the same function without the
// old error-handling wrapper). A link against a newer glibc binds them to GLIBC_2.35, which Lambda's
// provided.al2023 (glibc 2.34) does not have, so the binary would not start there. The callers are
// swift-numerics' RealModule (Double.hypot, Float.hypot; pulled in through swift-algorithms) and,
// with the static Swift standard library, the Glibc overlay (libswiftGlibc.a). Every glibc since
// 2.2.5 exports the old versions, which give the same results (they set errno through the wrapper).
//
// The definitions are hidden: the linker resolves the executable's own references to them, but the
// dynamic linker never sees them, so the versioned references below cannot bind back to them.
//
// Elsewhere (musl, macOS, other architectures) it defines nothing.
#include <math.h>

#if defined(__linux__) && defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))

// The first version of each architecture's glibc ABI.
#if defined(__x86_64__)
#define SLUICE_GLIBC_BASE "GLIBC_2.2.5"
#else
#define SLUICE_GLIBC_BASE "GLIBC_2.17"
#endif

double sluice_glibc_base_hypot(double x, double y);
float sluice_glibc_base_hypotf(float x, float y);
__asm__(".symver sluice_glibc_base_hypot, hypot@" SLUICE_GLIBC_BASE);
__asm__(".symver sluice_glibc_base_hypotf, hypotf@" SLUICE_GLIBC_BASE);

__attribute__((visibility("hidden"))) double hypot(double x, double y) { return sluice_glibc_base_hypot(x, y); }

__attribute__((visibility("hidden"))) float hypotf(float x, float y) { return sluice_glibc_base_hypotf(x, y); }
#endif
