// Nothing to import: this target only links definitions of hypot and hypotf that bind to their
// GLIBC_2.2.5 versions (see hypot.c), so that `sluice` runs with the glibc 2.34 of Lambda's
// provided.al2023.
