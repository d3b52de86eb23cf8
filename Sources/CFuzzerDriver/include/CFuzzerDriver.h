#ifndef SLUICE_CFUZZERDRIVER_H
#define SLUICE_CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for a program with its own main (libclang_rt.fuzzer_no_main): parses
/// libFuzzer's flags from argv and calls `callback` with each input. Defined by libFuzzer only;
/// `sluice-fuzz` calls it when built with SLUICE_FUZZ (`tools/fuzz`).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
