// sqlite-bench: the workloads of WORKLOADS.md run against the system's SQLite (WAL mode;
// synchronous=OFF for the no-sync workloads, FULL for the sync ones), printing the same JSON as
// logbook-bench so that `logbook-bench --compare` can put the two side by side.
//
// Same keys and values as logbook-bench: SplitMix64 with the same seeds, keys "k%015d" of a
// random permutation of 0..N-1, 100-byte values. One table:
//     CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID
// Build: cc -O2 -o sqlite-bench sqlite_bench.c -lsqlite3 -lpthread   (see run.sh)
// Usage: sqlite-bench [--n N] [--runs R] [--dir DIR] [--json FILE] [--quick]

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY_SIZE 16
#define VALUE_SIZE 100
#define RAW_PAIR (KEY_SIZE + VALUE_SIZE)
#define ORDER_SEED 0x4C6F67626F6F6B01ULL
#define VALUE_SEED 0x4C6F67626F6F6B02ULL
#define READ_SEED 0x4C6F67626F6F6B03ULL
#define MISS_SEED 0x4C6F67626F6F6B04ULL

// ---- options and sizes --------------------------------------------------------------------

static int n_keys = 200000, runs = 3, quick = 0;
static int sync_puts, per_writer, batch = 1000, processes = 4, reopens = 5;
static const char *base_dir = "/tmp";
static const char *json_path = NULL;
static const int thread_counts[] = {1, 2, 4, 8};

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sqlite-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

// ---- time ---------------------------------------------------------------------------------

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Nearest-rank percentile of sorted samples.
static double percentile(const uint64_t *sorted, int count, double p) {
    int rank = (int)(p * count + 0.999999) - 1;
    if (rank < 0) rank = 0;
    if (rank >= count) rank = count - 1;
    return (double)sorted[rank];
}

// ---- data (identical to logbook-bench's Dataset.swift) ------------------------------------

typedef struct { uint64_t state; } splitmix64;

static uint64_t sm_next(splitmix64 *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int sm_below(splitmix64 *r, int bound) { return (int)(sm_next(r) % (uint64_t)bound); }

static void make_key(int number, unsigned char *key) {
    key[0] = 'k';
    for (int i = KEY_SIZE - 1; i > 0; i--) {
        key[i] = '0' + number % 10;
        number /= 10;
    }
}

static void next_value(splitmix64 *r, unsigned char *value) {
    int i = 0;
    while (i < VALUE_SIZE) {
        uint64_t word = sm_next(r);
        for (int j = 0; j < 8 && i < VALUE_SIZE; j++, i++, word >>= 8) value[i] = (unsigned char)word;
    }
}

typedef struct {
    int count;
    int *order;
    unsigned char *keys;    // count * KEY_SIZE, put order
    unsigned char *values;  // count * VALUE_SIZE, put order
} dataset;

static dataset make_dataset(int count) {
    dataset d = {count, malloc(sizeof(int) * count), malloc((size_t)count * KEY_SIZE),
                 malloc((size_t)count * VALUE_SIZE)};
    for (int i = 0; i < count; i++) d.order[i] = i;
    splitmix64 r = {ORDER_SEED};
    for (int i = count - 1; i > 0; i--) {
        int j = sm_below(&r, i + 1);
        int t = d.order[i];
        d.order[i] = d.order[j];
        d.order[j] = t;
    }
    splitmix64 v = {VALUE_SEED};
    for (int i = 0; i < count; i++) {
        make_key(d.order[i], d.keys + (size_t)i * KEY_SIZE);
        next_value(&v, d.values + (size_t)i * VALUE_SIZE);
    }
    return d;
}

static void free_dataset(dataset *d) {
    free(d->order);
    free(d->keys);
    free(d->values);
}

// read_hot's queries: random existing keys; read_miss's: the key of a random number with its
// last digit replaced by ':' (absent, but among the existing keys).
static unsigned char *query_keys(const dataset *d, int count, int miss) {
    unsigned char *keys = malloc((size_t)count * KEY_SIZE);
    splitmix64 r = {miss ? MISS_SEED : READ_SEED};
    for (int i = 0; i < count; i++) {
        int pick = sm_below(&r, d->count);
        unsigned char *key = keys + (size_t)i * KEY_SIZE;
        if (miss) {
            make_key(pick, key);
            key[KEY_SIZE - 1] = ':';
        } else {
            make_key(d->order[pick], key);
        }
    }
    return keys;
}

// ---- files --------------------------------------------------------------------------------

static char *scratch(const char *name) {
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/sqlite-bench-%s-XXXXXX", base_dir, name);
    if (!mkdtemp(path)) die("mkdtemp under %s: %s", base_dir, strerror(errno));
    return path;
}

static void remove_tree(const char *path) {
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *e;
        char child[4096];
        while ((e = readdir(dir))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            unlink(child);
        }
        closedir(dir);
    }
    rmdir(path);
}

static double dir_bytes(const char *path) {
    DIR *dir = opendir(path);
    double total = 0;
    if (!dir) return 0;
    struct dirent *e;
    char child[4096];
    struct stat st;
    while ((e = readdir(dir))) {
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        if (lstat(child, &st) == 0 && S_ISREG(st.st_mode)) total += (double)st.st_size;
    }
    closedir(dir);
    return total;
}

// ---- SQLite -------------------------------------------------------------------------------

static void check(sqlite3 *db, int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        die("%s: %s (%d)", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
}

static void exec(sqlite3 *db, const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) die("%s: %s", sql, error);
}

// Opens (creating) dir/kv.db in WAL mode with synchronous OFF (0) or FULL (1).
static sqlite3 *open_db(const char *dir, int full_sync) {
    char path[4096];
    snprintf(path, sizeof path, "%s/kv.db", dir);
    sqlite3 *db;
    check(NULL, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL),
          "open");
    sqlite3_busy_timeout(db, 10000);
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
    exec(db, "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
    return db;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *stmt;
    check(db, sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), sql);
    return stmt;
}

static void put(sqlite3 *db, sqlite3_stmt *insert, const unsigned char *key, const unsigned char *value) {
    sqlite3_bind_blob(insert, 1, key, KEY_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(insert, 2, value, VALUE_SIZE, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(insert)) == SQLITE_BUSY) sqlite3_reset(insert);
    check(db, rc, "insert");
    sqlite3_reset(insert);
}

// Copies the value out (as logbook-bench's get returns an array); returns 1 when found.
static int get(sqlite3 *db, sqlite3_stmt *select, const unsigned char *key, unsigned char *out) {
    sqlite3_bind_blob(select, 1, key, KEY_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step(select);
    int found = rc == SQLITE_ROW;
    if (found) memcpy(out, sqlite3_column_blob(select, 0), (size_t)sqlite3_column_bytes(select, 0));
    else check(db, rc, "select");
    sqlite3_reset(select);
    return found;
}

static long long count_rows(sqlite3 *db) {
    sqlite3_stmt *s = prepare(db, "SELECT count(*) FROM kv");
    check(db, sqlite3_step(s), "count");
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static const char *INSERT_SQL = "INSERT OR REPLACE INTO kv(k, v) VALUES(?, ?)";
static const char *SELECT_SQL = "SELECT v FROM kv WHERE k = ?";

// ---- results ------------------------------------------------------------------------------

#define MAX_FIELDS 4
typedef struct {
    char workload[32];
    int fields;
    const char *names[MAX_FIELDS];
    double values[MAX_FIELDS];
    int present[MAX_FIELDS];
    double figure;
    char note[160];
} result;

static result make_result(const char *workload, double figure) {
    result r;
    memset(&r, 0, sizeof r);
    snprintf(r.workload, sizeof r.workload, "%s", workload);
    r.figure = figure;
    return r;
}

static void add_field(result *r, const char *name, double value, int present) {
    r->names[r->fields] = name;
    r->values[r->fields] = value;
    r->present[r->fields] = present;
    r->fields++;
}

#define MAX_RESULTS 32
static result runs_of[MAX_RESULTS][16];
static int run_counts[MAX_RESULTS];
static int result_count = 0;

static void record(result r) {
    fprintf(stderr, "%s: %.6g\n", r.workload, r.figure);
    for (int i = 0; i < result_count; i++) {
        if (!strcmp(runs_of[i][0].workload, r.workload)) {
            runs_of[i][run_counts[i]++] = r;
            return;
        }
    }
    runs_of[result_count][0] = r;
    run_counts[result_count++] = 1;
}

static int cmp_result(const void *a, const void *b) {
    double x = ((const result *)a)->figure, y = ((const result *)b)->figure;
    return x < y ? -1 : x > y;
}

// Records workload `name` with figure and ops_per_s count / seconds, and the median and 99th
// percentile of lat[0..count) (sorted here) as p50_us and p99_us (in_us) or p50_ns and p99_ns.
static void record_with_latencies(const char *name, int count, double seconds, uint64_t *lat, int in_us) {
    double unit_ns = in_us ? 1e3 : 1;
    qsort(lat, count, sizeof *lat, cmp_u64);
    result r = make_result(name, count / seconds);
    add_field(&r, "ops_per_s", count / seconds, 1);
    add_field(&r, in_us ? "p50_us" : "p50_ns", percentile(lat, count, 0.5) / unit_ns, 1);
    add_field(&r, in_us ? "p99_us" : "p99_ns", percentile(lat, count, 0.99) / unit_ns, 1);
    record(r);
}

// Puts the first `count` pairs of `d`, one autocommit transaction each; lat[i] gets the
// nanoseconds of put i. Returns the seconds of the whole loop.
static double timed_puts(sqlite3 *db, sqlite3_stmt *insert, const dataset *d, int count, uint64_t *lat) {
    uint64_t start = now_ns(), previous = start;
    for (int i = 0; i < count; i++) {
        put(db, insert, d->keys + (size_t)i * KEY_SIZE, d->values + (size_t)i * VALUE_SIZE);
        uint64_t t = now_ns();
        lat[i] = t - previous;
        previous = t;
    }
    return (previous - start) / 1e9;
}

// ---- workloads ----------------------------------------------------------------------------

static dataset data;
static unsigned char *hot_keys, *miss_keys;

// Opens the database in `dir` and gets the first key of `data`, checking its value, then
// closes it; returns the nanoseconds of the open and the get. Errors name `open_what` (opening)
// or `what` (a wrong value).
static uint64_t timed_open_get(const char *dir, const char *open_what, const char *what) {
    unsigned char value[VALUE_SIZE];
    uint64_t start = now_ns();
    char path[4096];
    snprintf(path, sizeof path, "%s/kv.db", dir);
    sqlite3 *db;
    check(NULL, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), open_what);
    sqlite3_stmt *s = prepare(db, SELECT_SQL);
    if (!get(db, s, data.keys, value) || memcmp(value, data.values, VALUE_SIZE)) die("%s: wrong value", what);
    uint64_t elapsed = now_ns() - start;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return elapsed;
}

// fill_nosync, then read_hot, read_miss, scan_all, disk_bytes, reopen on the same database.
static void filled_store(void) {
    char *dir = scratch("fill");
    sqlite3 *db = open_db(dir, 0);
    sqlite3_stmt *insert = prepare(db, INSERT_SQL);
    uint64_t *lat = malloc(sizeof(uint64_t) * n_keys);
    double seconds = timed_puts(db, insert, &data, n_keys, lat);
    sqlite3_finalize(insert);
    record_with_latencies("fill_nosync", n_keys, seconds, lat, 1);
    uint64_t start, previous;
    result r;

    sqlite3_stmt *select = prepare(db, SELECT_SQL);
    unsigned char value[VALUE_SIZE];
    for (int miss = 0; miss <= 1; miss++) {
        const unsigned char *keys = miss ? miss_keys : hot_keys;
        int found = 0;
        start = now_ns();
        for (int i = 0; i < n_keys; i++) found += get(db, select, keys + (size_t)i * KEY_SIZE, value);
        seconds = (now_ns() - start) / 1e9;
        if (found != (miss ? 0 : n_keys)) die("%s: %d found", miss ? "read_miss" : "read_hot", found);
        previous = now_ns();
        for (int i = 0; i < n_keys; i++) {
            get(db, select, keys + (size_t)i * KEY_SIZE, value);
            uint64_t t = now_ns();
            lat[i] = t - previous;
            previous = t;
        }
        record_with_latencies(miss ? "read_miss" : "read_hot", n_keys, seconds, lat, 0);
    }
    sqlite3_finalize(select);

    start = now_ns();
    sqlite3_stmt *scan = prepare(db, "SELECT k, v FROM kv ORDER BY k");
    long long rows = 0, bytes = 0;
    unsigned char last[KEY_SIZE] = {0};
    int ordered = 1;
    while (sqlite3_step(scan) == SQLITE_ROW) {
        const unsigned char *k = sqlite3_column_blob(scan, 0);
        int klen = sqlite3_column_bytes(scan, 0);
        bytes += klen + sqlite3_column_bytes(scan, 1);
        if (rows > 0 && memcmp(last, k, KEY_SIZE) >= 0) ordered = 0;
        memcpy(last, k, KEY_SIZE);
        rows++;
    }
    sqlite3_finalize(scan);
    seconds = (now_ns() - start) / 1e9;
    if (rows != n_keys || !ordered || bytes != (long long)n_keys * RAW_PAIR) die("scan_all: %lld rows", rows);
    r = make_result("scan_all", n_keys / seconds);
    add_field(&r, "ops_per_s", n_keys / seconds, 1);
    record(r);
    check(db, sqlite3_close(db), "close");

    double raw = (double)n_keys * RAW_PAIR;
    double on_disk = dir_bytes(dir);
    r = make_result("disk_bytes", on_disk / raw);
    add_field(&r, "bytes", on_disk, 1);
    add_field(&r, "ratio_raw", on_disk / raw, 1);

    // reopen: open + one get after a clean close, median of 5.
    double times[16];
    for (int t = 0; t < reopens; t++) times[t] = timed_open_get(dir, "reopen", "reopen") / 1e6;
    qsort(times, reopens, sizeof(double), cmp_double);
    result reopen = make_result("reopen", times[(reopens - 1) / 2]);
    add_field(&reopen, "ms", times[(reopens - 1) / 2], 1);
    record(reopen);

    // compact: N overwrites (same keys, values of the next N draws), then VACUUM.
    db = open_db(dir, 0);
    insert = prepare(db, INSERT_SQL);
    splitmix64 v = {VALUE_SEED ^ 0xC0};
    exec(db, "BEGIN");
    for (int i = 0; i < n_keys; i++) {
        next_value(&v, value);
        put(db, insert, data.keys + (size_t)i * KEY_SIZE, value);
    }
    exec(db, "COMMIT");
    sqlite3_finalize(insert);
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    start = now_ns();
    exec(db, "VACUUM");
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    seconds = (now_ns() - start) / 1e9;
    check(db, sqlite3_close(db), "close");
    double compacted = dir_bytes(dir);
    result compact = make_result("compact", seconds);
    add_field(&compact, "seconds", seconds, 1);
    add_field(&compact, "mb_per_s", compacted / 1e6 / seconds, 1);
    record(compact);
    add_field(&r, "ratio_raw_compacted", compacted / raw, 1);
    record(r);
    free(lat);
    remove_tree(dir);
    free(dir);
}

static void fill_batch(void) {
    char *dir = scratch("batch");
    sqlite3 *db = open_db(dir, 0);
    sqlite3_stmt *insert = prepare(db, INSERT_SQL);
    uint64_t start = now_ns();
    for (int first = 0; first < n_keys; first += batch) {
        exec(db, "BEGIN");
        for (int i = first; i < first + batch && i < n_keys; i++)
            put(db, insert, data.keys + (size_t)i * KEY_SIZE, data.values + (size_t)i * VALUE_SIZE);
        exec(db, "COMMIT");
    }
    double seconds = (now_ns() - start) / 1e9;
    sqlite3_finalize(insert);
    if (count_rows(db) != n_keys) die("fill_batch: wrong row count");
    sqlite3_close(db);
    result r = make_result("fill_batch", n_keys / seconds);
    add_field(&r, "ops_per_s", n_keys / seconds, 1);
    record(r);
    remove_tree(dir);
    free(dir);
}

static void fill_sync(void) {
    char *dir = scratch("sync");
    dataset d = make_dataset(sync_puts);
    sqlite3 *db = open_db(dir, 1);
    sqlite3_stmt *insert = prepare(db, INSERT_SQL);
    uint64_t *lat = malloc(sizeof(uint64_t) * sync_puts);
    double seconds = timed_puts(db, insert, &d, sync_puts, lat);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    record_with_latencies("fill_sync", sync_puts, seconds, lat, 1);
    free(lat);
    free_dataset(&d);
    remove_tree(dir);
    free(dir);
}

typedef struct {
    const char *dir;
    const dataset *d;
    int first, count;
    pthread_barrier_t *ready;
} writer_args;

// One writer: its own connection (synchronous FULL), opened before the start barrier, then
// `count` single-put commits.
static void *writer_thread(void *raw) {
    writer_args *a = raw;
    sqlite3 *db = open_db(a->dir, 1);
    sqlite3_stmt *insert = prepare(db, INSERT_SQL);
    pthread_barrier_wait(a->ready);
    for (int i = a->first; i < a->first + a->count; i++)
        put(db, insert, a->d->keys + (size_t)i * KEY_SIZE, a->d->values + (size_t)i * VALUE_SIZE);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return NULL;
}

static void concurrent_sync(int threads) {
    char *dir = scratch("threads");
    dataset d = make_dataset(threads * per_writer);
    sqlite3_close(open_db(dir, 1));  // create the schema first
    pthread_t ids[16];
    writer_args args[16];
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, threads + 1);
    for (int t = 0; t < threads; t++) {
        args[t] = (writer_args){dir, &d, t * per_writer, per_writer, &ready};
        pthread_create(&ids[t], NULL, writer_thread, &args[t]);
    }
    pthread_barrier_wait(&ready);
    uint64_t start = now_ns();
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    double seconds = (now_ns() - start) / 1e9;
    pthread_barrier_destroy(&ready);
    sqlite3 *db = open_db(dir, 1);
    if (count_rows(db) != threads * per_writer) die("concurrent_sync: wrong row count");
    sqlite3_close(db);
    char name[32];
    snprintf(name, sizeof name, "concurrent_sync_t%d", threads);
    result r = make_result(name, threads * per_writer / seconds);
    add_field(&r, "ops_per_s", threads * per_writer / seconds, 1);
    record(r);
    free_dataset(&d);
    remove_tree(dir);
    free(dir);
}

// P forked processes, each its own connection; a pipe barrier starts them together; each reports
// its finish time (CLOCK_MONOTONIC is shared by all processes).
static void multiprocess_sync(void) {
    char *dir = scratch("procs");
    int total = processes * per_writer;
    dataset d = make_dataset(total);
    sqlite3_close(open_db(dir, 1));
    int go[2], report[2];
    if (pipe(go) || pipe(report)) die("pipe: %s", strerror(errno));
    pid_t pids[16];
    for (int p = 0; p < processes; p++) {
        pids[p] = fork();
        if (pids[p] < 0) die("fork: %s", strerror(errno));
        if (pids[p] == 0) {
            close(go[1]);
            close(report[0]);
            sqlite3 *db = open_db(dir, 1);
            sqlite3_stmt *insert = prepare(db, INSERT_SQL);
            uint64_t word = 0;
            if (write(report[1], &word, 8) != 8) _exit(3);
            char byte;
            if (read(go[0], &byte, 1) != 1) _exit(3);
            for (int i = p * per_writer; i < (p + 1) * per_writer; i++)
                put(db, insert, d.keys + (size_t)i * KEY_SIZE, d.values + (size_t)i * VALUE_SIZE);
            word = now_ns();
            if (write(report[1], &word, 8) != 8) _exit(3);
            sqlite3_finalize(insert);
            sqlite3_close(db);
            _exit(0);
        }
    }
    close(go[0]);
    close(report[1]);
    uint64_t word, end = 0;
    for (int p = 0; p < processes; p++)
        if (read(report[0], &word, 8) != 8) die("multiprocess_sync: a worker died");
    uint64_t start = now_ns();
    char bytes[16] = {0};
    if (write(go[1], bytes, processes) != processes) die("multiprocess_sync: cannot signal");
    for (int p = 0; p < processes; p++) {
        if (read(report[0], &word, 8) != 8) die("multiprocess_sync: a worker died");
        if (word > end) end = word;
    }
    for (int p = 0; p < processes; p++) {
        int status;
        waitpid(pids[p], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status)) die("multiprocess_sync: a worker failed");
    }
    close(go[1]);
    close(report[0]);
    sqlite3 *db = open_db(dir, 1);
    if (count_rows(db) != total) die("multiprocess_sync: wrong row count");
    sqlite3_close(db);
    char name[32];
    snprintf(name, sizeof name, "multiprocess_sync_p%d", processes);
    result r = make_result(name, total / ((end - start) / 1e9));
    add_field(&r, "ops_per_s", total / ((end - start) / 1e9), 1);
    record(r);
    free_dataset(&d);
    remove_tree(dir);
    free(dir);
}

// recover: a child fills (synchronous OFF) and is killed with SIGKILL without closing; the
// parent times open + one get (SQLite rebuilds its WAL index from the -wal file).
static void recover(void) {
    char *dir = scratch("recover");
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        sqlite3 *db = open_db(dir, 0);
        sqlite3_stmt *insert = prepare(db, INSERT_SQL);
        for (int i = 0; i < n_keys; i++)
            put(db, insert, data.keys + (size_t)i * KEY_SIZE, data.values + (size_t)i * VALUE_SIZE);
        kill(getpid(), SIGKILL);
        _exit(3);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) die("recover: the child was not killed");
    double seconds = timed_open_get(dir, "open", "recover") / 1e9;
    result r = make_result("recover", n_keys / seconds);
    add_field(&r, "ms", seconds * 1e3, 1);
    add_field(&r, "records_per_s", n_keys / seconds, 1);
    snprintf(r.note, sizeof r.note, "records_per_s = N / time; most of the WAL was already checkpointed");
    record(r);
    remove_tree(dir);
    free(dir);
}

static long peak_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kib = atol(line + 6);
    if (f) fclose(f);
    return kib;
}

// The rss worker (a fresh process, re-executed): fill + read_hot, generating keys and values as
// it goes; prints peak and starting VmHWM in KiB.
static int rss_worker(const char *dir, int n) {
    long baseline = peak_kib();
    sqlite3 *db = open_db(dir, 0);
    sqlite3_stmt *insert = prepare(db, INSERT_SQL);
    int *order = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) order[i] = i;
    splitmix64 r = {ORDER_SEED};
    for (int i = n - 1; i > 0; i--) {
        int j = sm_below(&r, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    splitmix64 v = {VALUE_SEED};
    unsigned char key[KEY_SIZE], value[VALUE_SIZE];
    for (int i = 0; i < n; i++) {
        make_key(order[i], key);
        next_value(&v, value);
        put(db, insert, key, value);
    }
    sqlite3_finalize(insert);
    sqlite3_stmt *select = prepare(db, SELECT_SQL);
    splitmix64 q = {READ_SEED};
    int found = 0;
    for (int i = 0; i < n; i++) {
        make_key(order[sm_below(&q, n)], key);
        found += get(db, select, key, value);
    }
    if (found != n) die("rss worker: %d of %d found", found, n);
    long peak = peak_kib();
    sqlite3_finalize(select);
    sqlite3_close(db);
    printf("%ld %ld\n", peak, baseline);
    return 0;
}

static void rss(void) {
    char *dir = scratch("rss");
    int out[2];
    if (pipe(out)) die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        char n[32];
        snprintf(n, sizeof n, "%d", n_keys);
        execl("/proc/self/exe", "sqlite-bench", "--worker-rss", dir, n, (char *)NULL);
        _exit(3);
    }
    close(out[1]);
    char text[128] = {0};
    ssize_t got = 0, r;
    while ((r = read(out[0], text + got, sizeof text - 1 - got)) > 0) got += r;
    close(out[0]);
    int status;
    waitpid(pid, &status, 0);
    long peak = 0, baseline = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) || sscanf(text, "%ld %ld", &peak, &baseline) != 2)
        die("rss worker failed");
    result res = make_result("rss", peak / 1024.0);
    add_field(&res, "mib", peak / 1024.0, 1);
    add_field(&res, "baseline_mib", baseline / 1024.0, 1);
    record(res);
    remove_tree(dir);
    free(dir);
}

// ---- report -------------------------------------------------------------------------------

static void json_number(FILE *f, double x) {
    double m = x < 0 ? -x : x;
    if (m >= 1000) fprintf(f, "%.0f", x);
    else if (m >= 10) fprintf(f, "%.2f", x);
    else if (m >= 1) fprintf(f, "%.3f", x);
    else fprintf(f, "%.4f", x);
}

static void write_json(FILE *f, result *medians, int count, const char *date, double total_seconds) {
    fprintf(f, "{\"commit\": \"unknown\", \"date\": \"%s\",\n", date);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    fprintf(f, " \"machine\": {\"cores\": %ld, \"cpu\": \"\", \"fs\": \"\"},\n", cores);
    fprintf(f,
            " \"config\": {\"program\": \"sqlite\", \"sqlite_version\": \"%s\", \"n\": %d, \"sync_puts\": %d, "
            "\"commits_per_writer\": %d, \"runs\": %d, \"quick\": %s, \"seconds\": %.1f},\n",
            sqlite3_libversion(), n_keys, sync_puts, per_writer, runs, quick ? "true" : "false", total_seconds);
    fprintf(f, " \"floors\": {\"append_ops_per_s\": null, \"sync_ops_per_s\": null, \"lookup_ops_per_s\": null},\n");
    fprintf(f, " \"results\": [\n");
    for (int i = 0; i < count; i++) {
        fprintf(f, "   {\"workload\": \"%s\"", medians[i].workload);
        for (int j = 0; j < medians[i].fields; j++) {
            fprintf(f, ", \"%s\": ", medians[i].names[j]);
            if (medians[i].present[j]) json_number(f, medians[i].values[j]);
            else fprintf(f, "null");
        }
        if (medians[i].note[0]) fprintf(f, ", \"note\": \"%s\"", medians[i].note);
        fprintf(f, "}%s\n", i + 1 < count ? "," : "");
    }
    fprintf(f, " ],\n \"goals\": []}\n");
}

static const char *ORDER[] = {"fill_nosync", "fill_batch", "fill_sync", "read_hot", "read_miss",
                              "scan_all", "concurrent_sync", "multiprocess_sync", "reopen", "recover",
                              "compact", "disk_bytes", "rss"};

static int rank(const char *workload) {
    for (int i = 0; i < 13; i++)
        if (!strncmp(workload, ORDER[i], strlen(ORDER[i]))) return i;
    return 13;
}

static int cmp_rank(const void *a, const void *b) {
    const result *x = a, *y = b;
    int d = rank(x->workload) - rank(y->workload);
    return d ? d : strcmp(x->workload, y->workload);
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--worker-rss")) return rss_worker(argv[2], atoi(argv[3]));
    int explicit_n = 0;
    if (getenv("TMPDIR") && *getenv("TMPDIR")) base_dir = getenv("TMPDIR");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc) n_keys = atoi(argv[++i]), explicit_n = 1;
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) base_dir = argv[++i];
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else die("usage: sqlite-bench [--n N] [--runs R] [--dir DIR] [--json FILE] [--quick]");
    }
    if (quick && !explicit_n) n_keys = 20000;
    if (n_keys <= 0 || runs <= 0 || runs > 15) die("bad --n or --runs");
    sync_puts = n_keys / 100 > 50 ? n_keys / 100 : 50;
    per_writer = n_keys / 800 > 25 ? n_keys / 800 : 25;

    time_t now = time(NULL);
    struct tm parts;
    gmtime_r(&now, &parts);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &parts);
    uint64_t began = now_ns();

    data = make_dataset(n_keys);
    hot_keys = query_keys(&data, n_keys, 0);
    miss_keys = query_keys(&data, n_keys, 1);
    for (int run = 0; run < runs; run++) {
        sync();
        filled_store();
        sync();
        fill_batch();
        sync();
        fill_sync();
        for (int t = 0; t < 4; t++) {
            sync();
            concurrent_sync(thread_counts[t]);
        }
        sync();
        multiprocess_sync();
        sync();
        recover();
        sync();
        rss();
    }

    result medians[MAX_RESULTS];
    for (int i = 0; i < result_count; i++) {
        qsort(runs_of[i], run_counts[i], sizeof(result), cmp_result);
        medians[i] = runs_of[i][(run_counts[i] - 1) / 2];
    }
    qsort(medians, result_count, sizeof(result), cmp_rank);
    double total = (now_ns() - began) / 1e9;
    printf("sqlite-bench (SQLite %s, WAL; synchronous OFF / FULL), N=%d, median of %d runs, %.1f s\n",
           sqlite3_libversion(), n_keys, runs, total);
    for (int i = 0; i < result_count; i++) printf("  %-22s %14.2f\n", medians[i].workload, medians[i].figure);
    if (json_path) {
        FILE *f = fopen(json_path, "w");
        if (!f) die("cannot write %s", json_path);
        write_json(f, medians, result_count, date, total);
        fclose(f);
    }
    return 0;
}
