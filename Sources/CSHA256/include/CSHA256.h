// SHA-256 (FIPS 180-4): a portable implementation, and one on the x86 SHA extensions (SHA-NI)
// that runs where the CPU has them (AMD EPYC, Intel Ice Lake and later), chosen once per process.
// What Sluice hashes: each delivery (its document ids), SigV4 payloads and keys, migrations.

#ifndef CSHA256_H
#define CSHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t length;       // bytes hashed so far
    uint8_t buffer[64];    // a partial block
    size_t buffered;
} csha256_context;

void csha256_init(csha256_context *context);
void csha256_update(csha256_context *context, const void *bytes, size_t count);
void csha256_final(csha256_context *context, uint8_t digest[32]);

/// Which block function runs: 1 for the SHA extensions, 0 for the portable one.
int csha256_uses_extensions(void);
/// For tests: 1 forces the portable block function (both must give the same digests), 0 undoes it.
void csha256_force_portable(int portable);

#endif
