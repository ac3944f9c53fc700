#ifndef CSQLITE_SHIM_H
#define CSQLITE_SHIM_H
#include <sqlite3.h>
#include <string.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import.
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

// sqlite3_db_config is variadic; Swift cannot call C variadics.
static inline int csqlite_db_config_int(sqlite3 *db, int op, int value, int *out) {
    return sqlite3_db_config(db, op, value, out);
}

// --- Commits and the WAL-index header (RouteCache) -----------------------------------------------------

// What a connection's WAL hook saw: the WAL's frame count after this connection's last commit, and the
// automatic checkpoint it keeps doing in the hook's place.
typedef struct {
    int frames;          // set by the hook after each commit that wrote frames; the caller resets it
    int autocheckpoint;  // frames at which the hook runs a PASSIVE checkpoint, as sqlite3_wal_autocheckpoint
    int checkpoint;      // the result of the last checkpoint the hook ran (-1: none since the caller reset it)
} csqlite_commit_frames;

// sqlite3_wal_hook replaces the automatic checkpoint (https://www.sqlite.org/c3ref/wal_hook.html), so this
// hook does what SQLite's default hook does (sqlite3WalDefaultHook: a PASSIVE checkpoint once the WAL holds
// `autocheckpoint` frames) and also notes the frame count.
static int csqlite_commit_frames_hook(void *context, sqlite3 *db, const char *name, int frames) {
    csqlite_commit_frames *seen = (csqlite_commit_frames *)context;
    seen->frames = frames;
    if (seen->autocheckpoint > 0 && frames >= seen->autocheckpoint) seen->checkpoint = sqlite3_wal_checkpoint(db, name);
    return SQLITE_OK;
}

static inline void csqlite_watch_commit_frames(sqlite3 *db, csqlite_commit_frames *seen) {
    sqlite3_wal_hook(db, csqlite_commit_frames_hook, seen);
}

// The first region of the connection's WAL index (the `-shm` file), as SQLite itself has mapped it, or NULL
// when the connection has not opened it yet. Through the VFS's own xShmMap (never a second descriptor of
// the file: closing one would drop this process's POSIX locks on it). Valid while the connection is open.
static inline const volatile void *csqlite_wal_index(sqlite3 *db) {
    sqlite3_file *file = 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || file == 0) return 0;
    const sqlite3_io_methods *methods = file->pMethods;
    if (methods == 0 || methods->iVersion < 2 || methods->xShmMap == 0) return 0;
    volatile void *region = 0;
    if (methods->xShmMap(file, 0, 32768, 0, &region) != SQLITE_OK) return 0;
    return region;
}

// Copies the WAL-index header (https://www.sqlite.org/walformat.html#the_wal_index_header: 48 bytes, kept
// twice) as SQLite's readers do: the first copy, a barrier, the second; 1 when both agree, 0 while a commit
// is writing them.
static inline int csqlite_wal_index_header(const volatile void *index, unsigned char out[48]) {
    unsigned char second[48];
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    memcpy(out, (const void *)index, 48);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    memcpy(second, (const char *)index + 48, 48);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return memcmp(out, second, 48) == 0;
}
#endif
