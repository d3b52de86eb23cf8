// CRC-32 as gzip computes it (reflected polynomial 0xEDB88320, initial and final value all ones).
//
// The fast path folds 64 bytes at a time with carry-less multiplication, after "Fast CRC
// Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Gopal, Ozturk et al., Intel,
// 2009), with the constants of that paper's CRC-32 example; the table covers the tail and CPUs
// without the instruction.

#include "CDigest.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

static uint32_t table[256];
static int table_ready = 0;

static void make_table(void) {
    if (__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) return;
    // Every thread that gets here writes the same values; the flag publishes them.
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[n] = c;
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

// `crc` here is the running register (not yet inverted at the end).
static uint32_t bytes_portable(uint32_t crc, const uint8_t *data, size_t count) {
    make_table();
    while (count--) crc = table[(crc ^ *data++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
// Folds `count` bytes (at least 64, a multiple of 16) into the running register `crc`.
__attribute__((target("pclmul,sse4.1"))) static uint32_t fold_pclmul(uint32_t crc, const uint8_t *data, size_t count) {
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i x1 = _mm_loadu_si128((const __m128i *)(data + 0x00));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(data + 0x10));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(data + 0x20));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(data + 0x30));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
    data += 64;
    count -= 64;

    // Four lanes of 16 bytes, each folded 64 bytes ahead.
    __m128i k = k1k2;
    while (count >= 64) {
        __m128i x5 = _mm_clmulepi64_si128(x1, k, 0x00);
        __m128i x6 = _mm_clmulepi64_si128(x2, k, 0x00);
        __m128i x7 = _mm_clmulepi64_si128(x3, k, 0x00);
        __m128i x8 = _mm_clmulepi64_si128(x4, k, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k, 0x11);
        x2 = _mm_clmulepi64_si128(x2, k, 0x11);
        x3 = _mm_clmulepi64_si128(x3, k, 0x11);
        x4 = _mm_clmulepi64_si128(x4, k, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), _mm_loadu_si128((const __m128i *)(data + 0x00)));
        x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), _mm_loadu_si128((const __m128i *)(data + 0x10)));
        x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), _mm_loadu_si128((const __m128i *)(data + 0x20)));
        x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), _mm_loadu_si128((const __m128i *)(data + 0x30)));
        data += 64;
        count -= 64;
    }

    // The four lanes into one, then one 16-byte block at a time.
    k = k3k4;
    __m128i x5 = _mm_clmulepi64_si128(x1, k, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k, 0x11), x2), x5);
    x5 = _mm_clmulepi64_si128(x1, k, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k, 0x11), x3), x5);
    x5 = _mm_clmulepi64_si128(x1, k, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k, 0x11), x4), x5);
    while (count >= 16) {
        x5 = _mm_clmulepi64_si128(x1, k, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, _mm_loadu_si128((const __m128i *)data)), x5);
        data += 16;
        count -= 16;
    }

    // 128 bits to 64, then Barrett's reduction to 32.
    x2 = _mm_clmulepi64_si128(x1, k, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
    x2 = _mm_srli_si128(x1, 4);
    x1 = _mm_and_si128(x1, low32);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(x1, k5k0, 0x00), x2);
    x2 = _mm_and_si128(x1, low32);
    x2 = _mm_clmulepi64_si128(x2, poly, 0x10);
    x2 = _mm_and_si128(x2, low32);
    x2 = _mm_clmulepi64_si128(x2, poly, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}
#endif

// Both read and written with atomics: threads compute at once, and a test may flip the choice.
static int portable_forced = 0;
static int cpu_has_pclmul = -1;

static int has_pclmul(void) {
#if defined(__x86_64__)
    int known = __atomic_load_n(&cpu_has_pclmul, __ATOMIC_RELAXED);
    if (known < 0) {
        unsigned int eax, ebx, ecx, edx;
        known = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 1)) && (ecx & (1u << 19));
        __atomic_store_n(&cpu_has_pclmul, known, __ATOMIC_RELAXED);
    }
    return known;
#else
    return 0;
#endif
}

int ccrc32_uses_extensions(void) { return !__atomic_load_n(&portable_forced, __ATOMIC_RELAXED) && has_pclmul(); }

void ccrc32_force_portable(int portable) { __atomic_store_n(&portable_forced, portable, __ATOMIC_RELAXED); }

uint32_t ccrc32_update(uint32_t crc, const void *bytes, size_t count) {
    const uint8_t *data = bytes;
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (count >= 64 && ccrc32_uses_extensions()) {
        size_t folded = count & ~(size_t)15;
        c = fold_pclmul(c, data, folded);
        data += folded;
        count -= folded;
    }
#endif
    return ~bytes_portable(c, data, count);
}
