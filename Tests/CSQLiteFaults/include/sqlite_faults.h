#ifndef SLUICE_SQLITE_FAULTS_H
#define SLUICE_SQLITE_FAULTS_H

// A test-only SQLite VFS that wraps the default one and makes chosen operations fail, for the files
// whose path contains a given text, so that tests running in parallel do not see each other's faults.

/// Which operation fails, and how.
typedef enum {
    /// xWrite returns SQLITE_IOERR_WRITE and writes nothing.
    SLUICE_FAULT_WRITE_ERROR = 1,
    /// xWrite writes the first half of its buffer, then returns SQLITE_IOERR_WRITE (a torn write).
    SLUICE_FAULT_SHORT_WRITE = 2,
    /// xWrite returns SQLITE_FULL and writes nothing.
    SLUICE_FAULT_DISK_FULL = 3,
    /// xSync returns SQLITE_IOERR_FSYNC.
    SLUICE_FAULT_SYNC_ERROR = 4,
    /// xRead returns SQLITE_IOERR_READ.
    SLUICE_FAULT_READ_ERROR = 5,
} sluice_fault_kind;

/// Installs the VFS as SQLite's default (once; later calls do nothing). Returns SQLITE_OK or an error.
int sluice_faults_install(void);

/// Arms a fault for files whose path contains `path_part` (up to 32 parts at once, one fault each):
/// the first `skip` matching operations go through, then `count` fail (-1: every one until
/// disarmed). Replaces the fault armed before for the same part.
void sluice_faults_arm(const char *path_part, sluice_fault_kind kind, int skip, int count);

/// Disarms the fault of `path_part` and frees its place; its operations go through again.
void sluice_faults_disarm(const char *path_part);

/// How many operations of `path_part`'s files failed since its fault was armed.
int sluice_faults_injected(const char *path_part);

#endif
