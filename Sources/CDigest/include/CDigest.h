// SHA-256 (FIPS 180-4): a portable implementation, and one on the x86 SHA extensions (SHA-NI)
// that runs where the CPU has them (AMD EPYC, Intel Ice Lake and later), chosen once per process.
// What Sluice hashes: each delivery (its document ids), SigV4 payloads and keys, migrations.
//
// CRC-32 (gzip's, ISO 3309): a table-driven implementation, and one folding 64 bytes at a time with
// carry-less multiplication (PCLMULQDQ, every x86-64 CPU Lambda runs on) where the CPU has it.
// What Sluice checks with it: the `_bulk` bodies it compresses.
//
// A 64-bit hash (wyhash's construction), not cryptographic: what tells a delivery from another.

#ifndef CDIGEST_H
#define CDIGEST_H

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

/// The CRC-32 of `count` bytes following the CRC-32 `crc` of the bytes before them (0 to begin).
uint32_t ccrc32_update(uint32_t crc, const void *bytes, size_t count);
/// Which implementation runs: 1 for carry-less multiplication, 0 for the table.
int ccrc32_uses_extensions(void);
/// For tests: 1 forces the table (both must give the same CRCs), 0 undoes it.
void ccrc32_force_portable(int portable);

/// A 64-bit hash of `count` bytes (the same on every run and machine for the same `seed`).
uint64_t chash64(const void *bytes, size_t count, uint64_t seed);

#endif
