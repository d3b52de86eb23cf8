// A 64-bit hash of a byte string: wyhash's construction (Wang Yi's, final version 4, public domain):
// 48 bytes a round in three lanes, each mixed by a 64 x 64 -> 128-bit multiply folded to 64 bits.
// About ten times SHA-256's speed on the SHA extensions. Not a cryptographic hash: for telling byte
// strings apart that nobody chose to collide (a delivery from a re-delivery of it).

#include "CDigest.h"

#include <string.h>

static const uint64_t secret[4] = {
    0x2d358dccaa6c78a5ull, 0x8bb84b93962eacc9ull, 0x4b33a62ed433d4a3ull, 0x4d5a2da51de1aa47ull,
};

static inline void multiply(uint64_t *a, uint64_t *b) {
    __uint128_t product = (__uint128_t)*a * *b;
    *a = (uint64_t)product;
    *b = (uint64_t)(product >> 64);
}

static inline uint64_t mix(uint64_t a, uint64_t b) {
    multiply(&a, &b);
    return a ^ b;
}

static inline uint64_t read8(const uint8_t *p) {
    uint64_t value;
    memcpy(&value, p, 8);
    return value;
}

static inline uint64_t read4(const uint8_t *p) {
    uint32_t value;
    memcpy(&value, p, 4);
    return value;
}

uint64_t chash64(const void *bytes, size_t count, uint64_t seed) {
    const uint8_t *p = bytes;
    uint64_t a, b;
    seed ^= mix(seed ^ secret[0], secret[1]);
    if (count <= 16) {
        if (count >= 4) {
            a = (read4(p) << 32) | read4(p + ((count >> 3) << 2));
            b = (read4(p + count - 4) << 32) | read4(p + count - 4 - ((count >> 3) << 2));
        } else if (count > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[count >> 1] << 8) | p[count - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t left = count;
        if (left >= 48) {
            uint64_t lane1 = seed, lane2 = seed;
            do {
                seed = mix(read8(p) ^ secret[1], read8(p + 8) ^ seed);
                lane1 = mix(read8(p + 16) ^ secret[2], read8(p + 24) ^ lane1);
                lane2 = mix(read8(p + 32) ^ secret[3], read8(p + 40) ^ lane2);
                p += 48;
                left -= 48;
            } while (left >= 48);
            seed ^= lane1 ^ lane2;
        }
        while (left > 16) {
            seed = mix(read8(p) ^ secret[1], read8(p + 8) ^ seed);
            p += 16;
            left -= 16;
        }
        // The last 16 bytes of the string (some already mixed when fewer than 16 are left).
        a = read8(p + left - 16);
        b = read8(p + left - 8);
    }
    a ^= secret[1];
    b ^= seed;
    multiply(&a, &b);
    return mix(a ^ secret[0] ^ count, b ^ secret[1]);
}
