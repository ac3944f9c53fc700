/*
 * faultshim: an LD_PRELOAD library that makes the libc calls SQLite's unix VFS uses fail, on the
 * database's own files only, while a control file says so. Used by scripts/test-faults.
 *
 *   cc -shared -fPIC -O2 -o faultshim.so faultshim.c -ldl     (add -lpthread before glibc 2.34)
 *
 * Environment (read once, at the first interposed call):
 *   TAAS_FAULT_PATH_PREFIX  files whose path starts with this are tracked (the database, and its -wal,
 *                           -journal and -shm files): pass the absolute database path. Unset = no file
 *                           is tracked and the shim does nothing.
 *   TAAS_FAULT_CONTROL      the control file (see below). Missing or empty = no faults.
 *   TAAS_FAULT_STATS        optional: a file the shim keeps rewriting with its counters (one line).
 *   TAAS_FAULT_SEED         optional: seed of the fault draws (default 1).
 *   TAAS_FAULT_POLL_MS      optional: how often the control file is looked at, at most (default 20 ms).
 *
 * Control file: one rule a line, `OP ERRNO PROBABILITY [FILES]`, `#` starts a comment:
 *   OP           write (write, pwrite, pwrite64, writev, pwritev), fsync (fsync, fdatasync,
 *                sync_file_range), truncate (ftruncate, ftruncate64, fallocate, fallocate64,
 *                posix_fallocate, posix_fallocate64), read (read, pread, pread64), or all (write, fsync
 *                and truncate)
 *   ERRNO        EIO, ENOSPC, EDQUOT, EROFS, EFBIG, EACCES or a number
 *   PROBABILITY  0.0 to 1.0: the chance that one call fails
 *   FILES        optional, comma-separated: db, wal, journal, shm, other (another file under the prefix,
 *                such as the service's `.lock`) or all (default: db,wal,journal,shm)
 * e.g. `write EIO 0.2`, `fsync EIO 1.0`, `write ENOSPC 1.0 db,wal`. The harness replaces the file
 * (write a temporary file, rename it over); the shim notices within TAAS_FAULT_POLL_MS (inode, size,
 * mtime), so a fault starts and clears while the process runs.
 *
 * Only calls on a tracked descriptor can fail, and only when fstat still finds the file opened under the
 * prefix behind it (a descriptor closed and reused for a socket is never touched). A failing call does
 * nothing and returns -1 with errno set, as the kernel would for a failed request.
 *
 * Stats line (TAAS_FAULT_STATS, rewritten in place after every injected fault and every control change;
 * one line ending in " end"):
 *   faultshim pid=P reloads=N tracked_opens=N calls_write=N calls_fsync=N calls_truncate=N calls_read=N
 *     injected_write=N injected_fsync=N injected_truncate=N injected_read=N
 *     [opened_by_FUNCTION=N]… [called_FUNCTION=N]… end
 * `calls_*` count the calls on tracked descriptors by op, `called_*` the same by libc function (only those
 * called at all), `opened_by_*` the tracked opens by function, `injected_*` the calls made to fail. The
 * shim also writes to stderr a line for each tracked open, each control change and the first fault after
 * each change.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---- what can fail ------------------------------------------------------------------------------ */

enum op { OP_WRITE, OP_FSYNC, OP_TRUNCATE, OP_READ, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"write", "fsync", "truncate", "read"};

/* Every interposed call that can fail, and the op it belongs to. */
enum call {
    CALL_write, CALL_pwrite, CALL_pwrite64, CALL_writev, CALL_pwritev,
    CALL_read, CALL_pread, CALL_pread64,
    CALL_fsync, CALL_fdatasync, CALL_sync_file_range,
    CALL_ftruncate, CALL_ftruncate64, CALL_fallocate, CALL_fallocate64, CALL_posix_fallocate, CALL_posix_fallocate64,
    CALL_COUNT
};
static const struct { const char *name; enum op op; } call_table[CALL_COUNT] = {
    [CALL_write] = {"write", OP_WRITE},
    [CALL_pwrite] = {"pwrite", OP_WRITE},
    [CALL_pwrite64] = {"pwrite64", OP_WRITE},
    [CALL_writev] = {"writev", OP_WRITE},
    [CALL_pwritev] = {"pwritev", OP_WRITE},
    [CALL_read] = {"read", OP_READ},
    [CALL_pread] = {"pread", OP_READ},
    [CALL_pread64] = {"pread64", OP_READ},
    [CALL_fsync] = {"fsync", OP_FSYNC},
    [CALL_fdatasync] = {"fdatasync", OP_FSYNC},
    [CALL_sync_file_range] = {"sync_file_range", OP_FSYNC},
    [CALL_ftruncate] = {"ftruncate", OP_TRUNCATE},
    [CALL_ftruncate64] = {"ftruncate64", OP_TRUNCATE},
    [CALL_fallocate] = {"fallocate", OP_TRUNCATE},
    [CALL_fallocate64] = {"fallocate64", OP_TRUNCATE},
    [CALL_posix_fallocate] = {"posix_fallocate", OP_TRUNCATE},
    [CALL_posix_fallocate64] = {"posix_fallocate64", OP_TRUNCATE},
};

/* The interposed calls that open a file (and may start tracking it). */
enum opener {
    OPENER_open, OPENER_open64, OPENER_openat, OPENER_openat64, OPENER___open_2, OPENER___open64_2,
    OPENER___openat_2, OPENER___openat64_2, OPENER_creat, OPENER_creat64, OPENER_COUNT
};
static const char *const opener_names[OPENER_COUNT] = {
    "open", "open64", "openat", "openat64", "__open_2", "__open64_2", "__openat_2", "__openat64_2", "creat", "creat64",
};

enum kind { KIND_DB = 1, KIND_WAL = 2, KIND_JOURNAL = 4, KIND_SHM = 8, KIND_OTHER = 16 };
#define KIND_SQLITE (KIND_DB | KIND_WAL | KIND_JOURNAL | KIND_SHM) /* the default */
#define KIND_ALL (KIND_SQLITE | KIND_OTHER)

struct rule {
    int error;          /* errno to return; 0 = this op never fails */
    double probability; /* 0..1 */
    int kinds;          /* KIND_* mask */
};

/* ---- tracked descriptors ------------------------------------------------------------------------ */

#define MAX_FD 65536
/* 0 = not tracked; else the KIND_* of the file. Written at open/close, read on every call. */
static unsigned char fd_kind[MAX_FD];
static dev_t fd_dev[MAX_FD];
static ino_t fd_ino[MAX_FD];

/* ---- state, all under `lock` except the atomics ------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int configured;             /* environment read */
static const char *path_prefix;    /* NULL = track nothing */
static size_t path_prefix_length;
static const char *control_path;
static const char *stats_path;
static int stats_fd = -1;
static uint64_t random_state;
static long long poll_ns = 20LL * 1000 * 1000;
static long long last_poll_ns = -1;
static struct stat control_seen; /* the control file as last read (st_ino 0 = absent) */
static struct rule rules[OP_COUNT];
static int announced[OP_COUNT]; /* first fault after a change written to stderr */
static unsigned long long reloads;
static int active_ops;            /* atomic: bit (1 << op) set while a rule for op can fire */
static long long next_poll_ns;     /* atomic: when the control file is next due for a look */

static unsigned long long tracked_opens;            /* atomic */
static unsigned long long opens_by[OPENER_COUNT];   /* atomic: tracked opens, by the function that opened */
static unsigned long long calls[OP_COUNT];          /* atomic: calls on tracked descriptors */
static unsigned long long calls_by[CALL_COUNT];     /* atomic: the same, by function */
static unsigned long long injected[OP_COUNT];       /* under lock */

/* ---- the real functions ------------------------------------------------------------------------- */

#define REAL(name, type)                                                      \
    static type real_##name(void) {                                           \
        static type pointer;                                                  \
        type found = __atomic_load_n(&pointer, __ATOMIC_ACQUIRE);            \
        if (found == NULL) {                                                  \
            found = (type)dlsym(RTLD_NEXT, #name);                            \
            __atomic_store_n(&pointer, found, __ATOMIC_RELEASE);             \
        }                                                                     \
        return found;                                                         \
    }

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef int (*creat_fn)(const char *, mode_t);
typedef int (*close_fn)(int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pread64_fn)(int, void *, size_t, off64_t);
typedef int (*fsync_fn)(int);
typedef int (*sync_file_range_fn)(int, off64_t, off64_t, unsigned int);
typedef int (*ftruncate_fn)(int, off_t);
typedef int (*ftruncate64_fn)(int, off64_t);
typedef int (*fallocate_fn)(int, int, off_t, off_t);
typedef int (*fallocate64_fn)(int, int, off64_t, off64_t);
typedef int (*posix_fallocate_fn)(int, off_t, off_t);
typedef int (*posix_fallocate64_fn)(int, off64_t, off64_t);

REAL(open, open_fn)
REAL(open64, open_fn)
REAL(openat, openat_fn)
REAL(openat64, openat_fn)
REAL(__open_2, open2_fn)
REAL(__open64_2, open2_fn)
REAL(__openat_2, openat2_fn)
REAL(__openat64_2, openat2_fn)
REAL(creat, creat_fn)
REAL(creat64, creat_fn)
REAL(close, close_fn)
REAL(dup2, dup2_fn)
REAL(dup3, dup3_fn)
REAL(write, write_fn)
REAL(pwrite, pwrite_fn)
REAL(pwrite64, pwrite64_fn)
REAL(writev, writev_fn)
REAL(pwritev, pwritev_fn)
REAL(read, read_fn)
REAL(pread, pread_fn)
REAL(pread64, pread64_fn)
REAL(fsync, fsync_fn)
REAL(fdatasync, fsync_fn)
REAL(sync_file_range, sync_file_range_fn)
REAL(ftruncate, ftruncate_fn)
REAL(ftruncate64, ftruncate64_fn)
REAL(fallocate, fallocate_fn)
REAL(fallocate64, fallocate64_fn)
REAL(posix_fallocate, posix_fallocate_fn)
REAL(posix_fallocate64, posix_fallocate64_fn)

/* ---- small helpers ------------------------------------------------------------------------------ */

static void say(const char *text) {
    size_t length = strlen(text);
    while (length > 0) {
        ssize_t n = real_write()(2, text, length);
        if (n <= 0) return;
        text += n;
        length -= (size_t)n;
    }
}

static long long monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* xorshift64*: deterministic for a given seed and order of calls. Under `lock`. */
static double next_random(void) {
    random_state ^= random_state >> 12;
    random_state ^= random_state << 25;
    random_state ^= random_state >> 27;
    return (double)((random_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Under `lock`, once. */
static void configure(void) {
    if (configured) return;
    path_prefix = getenv("TAAS_FAULT_PATH_PREFIX");
    if (path_prefix != NULL && path_prefix[0] == '\0') path_prefix = NULL;
    path_prefix_length = path_prefix ? strlen(path_prefix) : 0;
    control_path = getenv("TAAS_FAULT_CONTROL");
    stats_path = getenv("TAAS_FAULT_STATS");
    const char *seed = getenv("TAAS_FAULT_SEED");
    random_state = seed ? strtoull(seed, NULL, 10) : 1;
    if (random_state == 0) random_state = 0x9E3779B97F4A7C15ULL;
    const char *poll = getenv("TAAS_FAULT_POLL_MS");
    if (poll) poll_ns = atoll(poll) * 1000000LL;
    if (stats_path) stats_fd = real_open()(stats_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    __atomic_store_n(&configured, 1, __ATOMIC_RELEASE);
}

static void ensure_configured(void) {
    if (__atomic_load_n(&configured, __ATOMIC_ACQUIRE)) return;
    pthread_mutex_lock(&lock);
    configure();
    pthread_mutex_unlock(&lock);
}

/* Appends `format` to line[*used]; under `lock`. */
static void append(char *line, size_t size, size_t *used, const char *format, const char *name,
                   unsigned long long value) {
    if (*used >= size) return;
    int n = snprintf(line + *used, size - *used, format, name, value);
    if (n > 0) *used += (size_t)n;
}

/* Rewrites the stats line. Under `lock`. */
static void write_stats(void) {
    if (stats_fd < 0) return;
    char line[2048];
    size_t used = 0;
    used += (size_t)snprintf(line, sizeof line, "faultshim pid=%d reloads=%llu tracked_opens=%llu", (int)getpid(),
                             reloads, __atomic_load_n(&tracked_opens, __ATOMIC_RELAXED));
    for (int i = 0; i < OP_COUNT; i++)
        append(line, sizeof line, &used, " calls_%s=%llu", op_names[i], __atomic_load_n(&calls[i], __ATOMIC_RELAXED));
    for (int i = 0; i < OP_COUNT; i++) append(line, sizeof line, &used, " injected_%s=%llu", op_names[i], injected[i]);
    /* By function, only those called so far: a counter once non-zero stays so, and the order is fixed. */
    for (int i = 0; i < OPENER_COUNT; i++) {
        unsigned long long n = __atomic_load_n(&opens_by[i], __ATOMIC_RELAXED);
        if (n) append(line, sizeof line, &used, " opened_by_%s=%llu", opener_names[i], n);
    }
    for (int i = 0; i < CALL_COUNT; i++) {
        unsigned long long n = __atomic_load_n(&calls_by[i], __ATOMIC_RELAXED);
        if (n) append(line, sizeof line, &used, " called_%s=%llu", call_table[i].name, n);
    }
    if (used + sizeof " end\n" > sizeof line) return;
    memcpy(line + used, " end\n", sizeof " end\n" - 1);
    used += sizeof " end\n" - 1;
    /* The line only grows (counters only increase), so rewriting it at offset 0 never leaves old bytes. */
    real_pwrite()(stats_fd, line, used, 0);
}

static int parse_errno(const char *name) {
    static const struct { const char *name; int value; } known[] = {
        {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS},
        {"EFBIG", EFBIG}, {"EACCES", EACCES}, {"EPERM", EPERM}, {"EINTR", EINTR},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i].name) == 0) return known[i].value;
    int number = atoi(name);
    return number > 0 ? number : EIO;
}

static int parse_kinds(char *list) {
    int kinds = 0;
    for (char *save = NULL, *word = strtok_r(list, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
        if (strcmp(word, "db") == 0) kinds |= KIND_DB;
        else if (strcmp(word, "wal") == 0) kinds |= KIND_WAL;
        else if (strcmp(word, "journal") == 0) kinds |= KIND_JOURNAL;
        else if (strcmp(word, "shm") == 0) kinds |= KIND_SHM;
        else if (strcmp(word, "other") == 0) kinds |= KIND_OTHER;
        else if (strcmp(word, "all") == 0) kinds |= KIND_ALL;
    }
    return kinds ? kinds : KIND_SQLITE;
}

/* Replaces `rules` with the control text. Under `lock`. */
static void parse_control(char *text) {
    memset(rules, 0, sizeof rules);
    memset(announced, 0, sizeof announced);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char op[32] = "", error[32] = "", kinds[128] = "";
        double probability = 0;
        if (sscanf(line, "%31s %31s %lf %127s", op, error, &probability, kinds) < 3) continue;
        if (probability < 0) probability = 0;
        if (probability > 1) probability = 1;
        struct rule rule = {parse_errno(error), probability, parse_kinds(kinds)};
        for (int i = 0; i < OP_COUNT; i++) {
            int all = strcmp(op, "all") == 0 && i != OP_READ;
            if (all || strcmp(op, op_names[i]) == 0) rules[i] = rule;
        }
    }
}

/* Looks at the control file at most every poll_ns; re-reads it when it changed. Under `lock`. */
static void refresh_control(void) {
    if (control_path == NULL) return;
    long long now = monotonic_ns();
    if (last_poll_ns >= 0 && now - last_poll_ns < poll_ns) return;
    last_poll_ns = now;
    __atomic_store_n(&next_poll_ns, now + poll_ns, __ATOMIC_RELEASE);
    struct stat seen;
    if (stat(control_path, &seen) != 0) memset(&seen, 0, sizeof seen);
    if (seen.st_ino == control_seen.st_ino && seen.st_size == control_seen.st_size &&
        seen.st_mtim.tv_sec == control_seen.st_mtim.tv_sec && seen.st_mtim.tv_nsec == control_seen.st_mtim.tv_nsec)
        return;
    control_seen = seen;
    char text[4096] = "";
    if (seen.st_ino != 0) {
        int fd = real_open()(control_path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = real_read()(fd, text, sizeof text - 1);
            text[n > 0 ? n : 0] = '\0';
            real_close()(fd);
        }
    }
    char copy[4096];
    memcpy(copy, text, sizeof copy);
    parse_control(text);
    int active = 0;
    for (int i = 0; i < OP_COUNT; i++)
        if (rules[i].error != 0 && rules[i].probability > 0) active |= 1 << i;
    __atomic_store_n(&active_ops, active, __ATOMIC_RELEASE);
    reloads++;
    char message[256];
    for (char *p = copy; *p; p++)
        if (*p == '\n') *p = ';';
    snprintf(message, sizeof message, "faultshim[%d]: control now \"%.180s\"\n", (int)getpid(), copy);
    say(message);
    write_stats();
}

/* ---- tracking ----------------------------------------------------------------------------------- */

static int kind_of(const char *path) {
    const char *rest = path + path_prefix_length;
    if (*rest == '\0') return KIND_DB;
    if (strcmp(rest, "-wal") == 0) return KIND_WAL;
    if (strcmp(rest, "-journal") == 0) return KIND_JOURNAL;
    if (strcmp(rest, "-shm") == 0) return KIND_SHM;
    return KIND_OTHER;
}

static const char *kind_name(int kind) {
    switch (kind) {
    case KIND_DB: return "database";
    case KIND_WAL: return "-wal";
    case KIND_JOURNAL: return "-journal";
    case KIND_SHM: return "-shm";
    default: return "other";
    }
}

/* After an open that returned `fd`: tracks it when its path is under the prefix. */
static int track(enum opener opener, int fd, int dirfd, const char *path) {
    if (fd < 0 || path == NULL) return fd;
    int saved = errno;
    ensure_configured();
    if (path_prefix != NULL && fd < MAX_FD && (path[0] == '/' || dirfd == AT_FDCWD) &&
        strncmp(path, path_prefix, path_prefix_length) == 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            fd_dev[fd] = st.st_dev;
            fd_ino[fd] = st.st_ino;
            __atomic_store_n(&fd_kind[fd], (unsigned char)kind_of(path), __ATOMIC_RELEASE);
            __atomic_fetch_add(&tracked_opens, 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&opens_by[opener], 1, __ATOMIC_RELAXED);
            char message[160];
            snprintf(message, sizeof message, "faultshim[%d]: tracking fd %d, the %s file (opened by %s)\n",
                     (int)getpid(), fd, kind_name(kind_of(path)), opener_names[opener]);
            say(message);
        }
    }
    errno = saved;
    return fd;
}

static void untrack(int fd) {
    if (fd >= 0 && fd < MAX_FD) __atomic_store_n(&fd_kind[fd], 0, __ATOMIC_RELEASE);
}

/* Whether this call on `fd` must fail; sets errno when it must. */
static int should_fail(enum call call, int fd) {
    if (fd < 0 || fd >= MAX_FD) return 0;
    int kind = __atomic_load_n(&fd_kind[fd], __ATOMIC_ACQUIRE);
    if (kind == 0) return 0;
    enum op op = call_table[call].op;
    __atomic_fetch_add(&calls[op], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&calls_by[call], 1, __ATOMIC_RELAXED);
    /* Fast path, no lock: nothing can fire for this op and the control file is not due for a look. */
    if (!(__atomic_load_n(&active_ops, __ATOMIC_ACQUIRE) & (1 << op)) &&
        monotonic_ns() < __atomic_load_n(&next_poll_ns, __ATOMIC_ACQUIRE))
        return 0;
    int error = 0;
    pthread_mutex_lock(&lock);
    configure();
    refresh_control();
    struct rule rule = rules[op];
    if (rule.error != 0 && (rule.kinds & kind) && next_random() < rule.probability) {
        struct stat st;
        /* The descriptor must still be the file that was opened under the prefix. */
        if (fstat(fd, &st) == 0 && st.st_dev == fd_dev[fd] && st.st_ino == fd_ino[fd]) {
            error = rule.error;
            injected[op]++;
            if (!announced[op]) {
                announced[op] = 1;
                char message[160];
                snprintf(message, sizeof message, "faultshim[%d]: injecting %s errno %d (%s, fd %d)\n",
                         (int)getpid(), op_names[op], error, call_table[call].name, fd);
                say(message);
            }
            write_stats();
        }
    }
    pthread_mutex_unlock(&lock);
    if (error) errno = error;
    return error != 0;
}

/* ---- interposed: opening and closing ------------------------------------------------------------ */

/* Whether open was given a mode: glibc's __OPEN_NEEDS_MODE (O_TMPFILE includes O_DIRECTORY's bit). */
static mode_t mode_argument(int flags, va_list arguments) {
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) return (mode_t)va_arg(arguments, int);
    return 0;
}

int open(const char *path, int flags, ...) {
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    return track(OPENER_open, real_open()(path, flags, mode), AT_FDCWD, path);
}

int open64(const char *path, int flags, ...) {
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    return track(OPENER_open64, real_open64()(path, flags, mode), AT_FDCWD, path);
}

int openat(int dirfd, const char *path, int flags, ...) {
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    return track(OPENER_openat, real_openat()(dirfd, path, flags, mode), dirfd, path);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    return track(OPENER_openat64, real_openat64()(dirfd, path, flags, mode), dirfd, path);
}

/* The _FORTIFY_SOURCE variants of open, called by code built with it. */
int __open_2(const char *path, int flags) {
    return track(OPENER___open_2, real___open_2()(path, flags), AT_FDCWD, path);
}

int __open64_2(const char *path, int flags) {
    return track(OPENER___open64_2, real___open64_2()(path, flags), AT_FDCWD, path);
}

int __openat_2(int dirfd, const char *path, int flags) {
    return track(OPENER___openat_2, real___openat_2()(dirfd, path, flags), dirfd, path);
}

int __openat64_2(int dirfd, const char *path, int flags) {
    return track(OPENER___openat64_2, real___openat64_2()(dirfd, path, flags), dirfd, path);
}

int creat(const char *path, mode_t mode) {
    return track(OPENER_creat, real_creat()(path, mode), AT_FDCWD, path);
}

int creat64(const char *path, mode_t mode) {
    return track(OPENER_creat64, real_creat64()(path, mode), AT_FDCWD, path);
}

int close(int fd) {
    untrack(fd); /* before the close: the number may be reused by another thread right after it */
    return real_close()(fd);
}

int dup2(int oldfd, int newfd) {
    if (oldfd != newfd) untrack(newfd);
    return real_dup2()(oldfd, newfd);
}

int dup3(int oldfd, int newfd, int flags) {
    untrack(newfd);
    return real_dup3()(oldfd, newfd, flags);
}

/* ---- interposed: the calls that can fail -------------------------------------------------------- */

ssize_t write(int fd, const void *buffer, size_t count) {
    if (should_fail(CALL_write, fd)) return -1;
    return real_write()(fd, buffer, count);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    if (should_fail(CALL_pwrite, fd)) return -1;
    return real_pwrite()(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset) {
    if (should_fail(CALL_pwrite64, fd)) return -1;
    return real_pwrite64()(fd, buffer, count, offset);
}

ssize_t writev(int fd, const struct iovec *vector, int count) {
    if (should_fail(CALL_writev, fd)) return -1;
    return real_writev()(fd, vector, count);
}

ssize_t pwritev(int fd, const struct iovec *vector, int count, off_t offset) {
    if (should_fail(CALL_pwritev, fd)) return -1;
    return real_pwritev()(fd, vector, count, offset);
}

ssize_t read(int fd, void *buffer, size_t count) {
    if (should_fail(CALL_read, fd)) return -1;
    return real_read()(fd, buffer, count);
}

ssize_t pread(int fd, void *buffer, size_t count, off_t offset) {
    if (should_fail(CALL_pread, fd)) return -1;
    return real_pread()(fd, buffer, count, offset);
}

ssize_t pread64(int fd, void *buffer, size_t count, off64_t offset) {
    if (should_fail(CALL_pread64, fd)) return -1;
    return real_pread64()(fd, buffer, count, offset);
}

int fsync(int fd) {
    if (should_fail(CALL_fsync, fd)) return -1;
    return real_fsync()(fd);
}

int fdatasync(int fd) {
    if (should_fail(CALL_fdatasync, fd)) return -1;
    return real_fdatasync()(fd);
}

int sync_file_range(int fd, off64_t offset, off64_t count, unsigned int flags) {
    if (should_fail(CALL_sync_file_range, fd)) return -1;
    return real_sync_file_range()(fd, offset, count, flags);
}

int ftruncate(int fd, off_t length) {
    if (should_fail(CALL_ftruncate, fd)) return -1;
    return real_ftruncate()(fd, length);
}

int ftruncate64(int fd, off64_t length) {
    if (should_fail(CALL_ftruncate64, fd)) return -1;
    return real_ftruncate64()(fd, length);
}

int fallocate(int fd, int mode, off_t offset, off_t length) {
    if (should_fail(CALL_fallocate, fd)) return -1;
    return real_fallocate()(fd, mode, offset, length);
}

int fallocate64(int fd, int mode, off64_t offset, off64_t length) {
    if (should_fail(CALL_fallocate64, fd)) return -1;
    return real_fallocate64()(fd, mode, offset, length);
}

/* posix_fallocate reports its error as the return value, not through errno. */
int posix_fallocate(int fd, off_t offset, off_t length) {
    if (should_fail(CALL_posix_fallocate, fd)) return errno;
    return real_posix_fallocate()(fd, offset, length);
}

int posix_fallocate64(int fd, off64_t offset, off64_t length) {
    if (should_fail(CALL_posix_fallocate64, fd)) return errno;
    return real_posix_fallocate64()(fd, offset, length);
}
