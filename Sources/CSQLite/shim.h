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

// What a connection's WAL hook saw: the WAL's frame count after this connection's last commit.
typedef struct {
    int frames;  // set by the hook after each commit that wrote frames; the caller resets it
} csqlite_commit_frames;

// sqlite3_wal_hook replaces the automatic checkpoint (https://www.sqlite.org/c3ref/wal_hook.html): whoever
// installs this hook checkpoints in its place (CaptureStore's `CheckpointSchedule`).
static int csqlite_commit_frames_hook(void *context, sqlite3 *db, const char *name, int frames) {
    (void)db; (void)name;
    ((csqlite_commit_frames *)context)->frames = frames;
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

// How many of the WAL's frames checkpoints have copied into the database file since the WAL last started over:
// nBackfill, the first field of the checkpoint information that follows the two header copies
// (https://www.sqlite.org/walformat.html#the_wal_index_header). Checkpointers store it; read atomically.
static inline unsigned int csqlite_wal_index_backfilled(const volatile void *index) {
    return __atomic_load_n((const unsigned int *)((const char *)index + 96), __ATOMIC_ACQUIRE);
}
#endif
