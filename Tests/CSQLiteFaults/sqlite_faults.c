#include "sqlite_faults.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

// The armed faults, one per path part, under a mutex: SQLite calls the VFS from any thread, and
// tests that run in parallel arm their own.
enum { MAX_FAULTS = 32 };
typedef struct {
    char path[512];
    sluice_fault_kind kind;
    int skip;
    int count;
    int injected;
} armed_fault;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static armed_fault faults[MAX_FAULTS];

/// The entry for `path_part`, or NULL; called under the lock.
static armed_fault *entry(const char *path_part) {
    for (int i = 0; i < MAX_FAULTS; i++) {
        if (faults[i].path[0] != 0 && strcmp(faults[i].path, path_part) == 0) return &faults[i];
    }
    return NULL;
}

static sqlite3_vfs *base;
static sqlite3_vfs faulty_vfs;

/// A file of the wrapping VFS: its own methods first, then the base file SQLite sized it for.
typedef struct {
    sqlite3_file file;
    /// The name SQLite opened it by (valid until xClose), matched at every operation so that a fault
    /// armed after the open applies.
    const char *name;
    sqlite3_file *real;
} faulty_file;


/// How this operation on `file` must fail (0: it must not); counts it.
static sluice_fault_kind fault_for(faulty_file *file, sluice_fault_kind operation) {
    if (file->name == NULL) return 0;
    sluice_fault_kind result = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_FAULTS; i++) {
        armed_fault *fault = &faults[i];
        if (fault->path[0] == 0 || strstr(file->name, fault->path) == NULL) continue;
        int writes = fault->kind == SLUICE_FAULT_WRITE_ERROR || fault->kind == SLUICE_FAULT_SHORT_WRITE
            || fault->kind == SLUICE_FAULT_DISK_FULL;
        if (!(fault->kind == operation || (operation == SLUICE_FAULT_WRITE_ERROR && writes))) continue;
        if (fault->skip > 0) {
            fault->skip -= 1;
        } else if (fault->count != 0) {
            if (fault->count > 0) fault->count -= 1;
            fault->injected += 1;
            result = fault->kind;
        }
        break;
    }
    pthread_mutex_unlock(&lock);
    return result;
}

#define REAL(f) (((faulty_file *)(f))->real)

static int f_close(sqlite3_file *f) {
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    sqlite3_free(REAL(f));
    return rc;
}

static int f_read(sqlite3_file *f, void *buffer, int amount, sqlite3_int64 offset) {
    if (fault_for((faulty_file *)f, SLUICE_FAULT_READ_ERROR)) return SQLITE_IOERR_READ;
    return REAL(f)->pMethods->xRead(REAL(f), buffer, amount, offset);
}

static int f_write(sqlite3_file *f, const void *buffer, int amount, sqlite3_int64 offset) {
    sluice_fault_kind fault = fault_for((faulty_file *)f, SLUICE_FAULT_WRITE_ERROR);
    if (fault) {
        switch (fault) {
        case SLUICE_FAULT_SHORT_WRITE:
            REAL(f)->pMethods->xWrite(REAL(f), buffer, amount / 2, offset);
            return SQLITE_IOERR_WRITE;
        case SLUICE_FAULT_DISK_FULL: return SQLITE_FULL;
        default: return SQLITE_IOERR_WRITE;
        }
    }
    return REAL(f)->pMethods->xWrite(REAL(f), buffer, amount, offset);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size) { return REAL(f)->pMethods->xTruncate(REAL(f), size); }

static int f_sync(sqlite3_file *f, int flags) {
    if (fault_for((faulty_file *)f, SLUICE_FAULT_SYNC_ERROR)) return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_file_size(sqlite3_file *f, sqlite3_int64 *size) { return REAL(f)->pMethods->xFileSize(REAL(f), size); }
static int f_lock(sqlite3_file *f, int level) { return REAL(f)->pMethods->xLock(REAL(f), level); }
static int f_unlock(sqlite3_file *f, int level) { return REAL(f)->pMethods->xUnlock(REAL(f), level); }
static int f_check_reserved(sqlite3_file *f, int *out) {
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int f_file_control(sqlite3_file *f, int op, void *arg) {
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int f_sector_size(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int f_device_characteristics(sqlite3_file *f) {
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int f_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out) {
    return REAL(f)->pMethods->xShmMap(REAL(f), page, size, extend, out);
}
static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}
static void f_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int f_shm_unmap(sqlite3_file *f, int delete_flag) { return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag); }
static int f_fetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
    return REAL(f)->pMethods->xFetch(REAL(f), offset, amount, out);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 offset, void *page) {
    return REAL(f)->pMethods->xUnfetch(REAL(f), offset, page);
}

static const sqlite3_io_methods faulty_methods = {
    3, f_close, f_read, f_write, f_truncate, f_sync, f_file_size, f_lock, f_unlock, f_check_reserved,
    f_file_control, f_sector_size, f_device_characteristics, f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap,
    f_fetch, f_unfetch,
};

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
    (void)vfs;
    faulty_file *file = (faulty_file *)f;
    file->file.pMethods = NULL;
    file->real = sqlite3_malloc(base->szOsFile);
    if (file->real == NULL) return SQLITE_NOMEM;
    memset(file->real, 0, base->szOsFile);
    int rc = base->xOpen(base, name, file->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        sqlite3_free(file->real);
        file->real = NULL;
        return rc;
    }
    file->name = name;
    file->file.pMethods = &faulty_methods;
    return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs;
    return base->xDelete(base, name, sync_dir);
}
static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return base->xAccess(base, name, flags, out);
}
static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return base->xFullPathname(base, name, size, out);
}
static void *v_dl_open(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return base->xDlOpen(base, name);
}
static void v_dl_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    base->xDlError(base, size, out);
}
static void (*v_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return base->xDlSym(base, handle, symbol);
}
static void v_dl_close(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    base->xDlClose(base, handle);
}
static int v_randomness(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return base->xRandomness(base, size, out);
}
static int v_sleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return base->xSleep(base, microseconds);
}
static int v_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    return base->xCurrentTime(base, out);
}
static int v_get_last_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return base->xGetLastError ? base->xGetLastError(base, size, out) : 0;
}
static int v_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return base->xCurrentTimeInt64(base, out);
}

static int install_result = SQLITE_ERROR;

static void install(void) {
    base = sqlite3_vfs_find(NULL);
    if (base == NULL) return;
    memset(&faulty_vfs, 0, sizeof faulty_vfs);
    faulty_vfs.iVersion = 2;
    faulty_vfs.szOsFile = (int)sizeof(faulty_file);
    faulty_vfs.mxPathname = base->mxPathname;
    faulty_vfs.zName = "sluice-faults";
    faulty_vfs.xOpen = f_open;
    faulty_vfs.xDelete = v_delete;
    faulty_vfs.xAccess = v_access;
    faulty_vfs.xFullPathname = v_full_pathname;
    faulty_vfs.xDlOpen = v_dl_open;
    faulty_vfs.xDlError = v_dl_error;
    faulty_vfs.xDlSym = v_dl_sym;
    faulty_vfs.xDlClose = v_dl_close;
    faulty_vfs.xRandomness = v_randomness;
    faulty_vfs.xSleep = v_sleep;
    faulty_vfs.xCurrentTime = v_current_time;
    faulty_vfs.xGetLastError = v_get_last_error;
    faulty_vfs.xCurrentTimeInt64 = v_current_time_int64;
    install_result = sqlite3_vfs_register(&faulty_vfs, 1);
}

int sluice_faults_install(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install);
    return install_result;
}

void sluice_faults_arm(const char *path_part, sluice_fault_kind kind, int skip, int count) {
    pthread_mutex_lock(&lock);
    armed_fault *fault = entry(path_part);
    for (int i = 0; fault == NULL && i < MAX_FAULTS; i++) {
        if (faults[i].path[0] == 0) fault = &faults[i];
    }
    if (fault != NULL) {
        strncpy(fault->path, path_part, sizeof fault->path - 1);
        fault->path[sizeof fault->path - 1] = 0;
        fault->kind = kind;
        fault->skip = skip;
        fault->count = count;
        fault->injected = 0;
    }
    pthread_mutex_unlock(&lock);
}

void sluice_faults_disarm(const char *path_part) {
    pthread_mutex_lock(&lock);
    armed_fault *fault = entry(path_part);
    if (fault != NULL) memset(fault, 0, sizeof *fault);
    pthread_mutex_unlock(&lock);
}

int sluice_faults_injected(const char *path_part) {
    pthread_mutex_lock(&lock);
    armed_fault *fault = entry(path_part);
    int n = fault != NULL ? fault->injected : 0;
    pthread_mutex_unlock(&lock);
    return n;
}
