/* Bad input from a C host (issue 8): cache directories that are files,
 * symlinks or unusable; a corrupt database; scan roots that are files, missing,
 * or deleted mid-scan; NaN / negative / zero numbers; non-UTF-8 text; NULL
 * callbacks. Each gets a status and a message, never a crash. */
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char tmp[1024];

static void path_in(char *out, size_t n, const char *rel) { snprintf(out, n, "%s/%s", tmp, rel); }

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static wtfperf_status open_at(const char *dir, wtfperf_cache **out) {
    wtfperf_cache_options o = wtfperf_cache_options_default();
    o.dir = dir;
    return wtfperf_cache_open(&o, out);
}

static void cache_dirs(void) {
    char file[1200], link[1200], target[1200], db[1300];
    wtfperf_cache *c = NULL;

    /* A cache directory that is a regular file: an I/O error, no handle. */
    path_in(file, sizeof file, "plain-file");
    write_file(file, "not a directory");
    wtfperf_status st = open_at(file, &c);
    CHECK(st == WTFPERF_ERR_IO || st == WTFPERF_ERR_STORE);
    CHECK_MESSAGE();
    CHECK(c == NULL);

    /* A directory under a regular file cannot be created either. */
    char under[1300];
    snprintf(under, sizeof under, "%s/sub", file);
    st = open_at(under, &c);
    CHECK(st == WTFPERF_ERR_IO || st == WTFPERF_ERR_STORE);
    CHECK_MESSAGE();

    /* A symlink to a directory elsewhere: the cache lives where it points. */
    path_in(target, sizeof target, "real-cache");
    CHECK(mkdir(target, 0700) == 0);
    path_in(link, sizeof link, "cache-link");
    CHECK(symlink(target, link) == 0);
    CHECK_OK(open_at(link, &c));
    CHECK_OK(wtfperf_cache_set(c, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1, NULL));
    wtfperf_cache_close(c);
    c = NULL;
    CHECK_OK(open_at(target, &c));
    wtfperf_buf out = {NULL, 0};
    CHECK_OK(wtfperf_cache_get(c, (const uint8_t *)"k", 1, &out));
    CHECK(out.len == 1 && out.data[0] == 'v');
    wtfperf_buf_free(&out);
    wtfperf_cache_close(c);
    c = NULL;

    /* A dangling symlink as the cache directory. */
    path_in(link, sizeof link, "dangling-link");
    CHECK(symlink("/nonexistent/wtfperf/cache", link) == 0);
    st = open_at(link, &c);
    CHECK(st == WTFPERF_ERR_IO || st == WTFPERF_ERR_STORE);
    CHECK_MESSAGE();

    /* Every file in the directory garbage: recovered, never a crash. */
    path_in(target, sizeof target, "garbage-cache");
    CHECK(mkdir(target, 0700) == 0);
    CHECK_OK(open_at(target, &c));
    wtfperf_cache_close(c);
    c = NULL;
    const char *names[] = {"cache.db", "cache.db-wal", "cache.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(db, sizeof db, "%s/%s", target, names[i]);
        FILE *f = fopen(db, "r");
        if (f) {
            fclose(f);
            write_file(db, "garbage garbage garbage garbage garbage garbage garbage garbage");
        }
    }
    st = open_at(target, &c);
    CHECK(st == WTFPERF_OK || st == WTFPERF_ERR_STORE);
    if (st == WTFPERF_OK) {
        CHECK_OK(wtfperf_cache_set(c, (const uint8_t *)"a", 1, (const uint8_t *)"b", 1, NULL));
        CHECK_OK(wtfperf_cache_get(c, (const uint8_t *)"a", 1, &out));
        wtfperf_buf_free(&out);
        wtfperf_cache_close(c);
    } else {
        CHECK_MESSAGE();
    }
}

static void cache_numbers_and_text(void) {
    wtfperf_cache_options o = wtfperf_cache_options_default();
    wtfperf_cache *c = NULL;
    double bad[] = {NAN, INFINITY, -INFINITY, -1.0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = wtfperf_cache_options_default();
        o.memory_ttl_s = bad[i];
        CHECK_STATUS(wtfperf_cache_open(&o, &c), WTFPERF_ERR_INVALID);
        CHECK_MESSAGE();
        o = wtfperf_cache_options_default();
        o.persistent_ttl_s = bad[i];
        CHECK_STATUS(wtfperf_cache_open(&o, &c), WTFPERF_ERR_INVALID);
    }
    o = wtfperf_cache_options_default();
    o.dir = "";
    CHECK_STATUS(wtfperf_cache_open(&o, &c), WTFPERF_ERR_INVALID);
    CHECK_OK(wtfperf_cache_open(NULL, &c));
    wtfperf_entry_options e = wtfperf_entry_options_default();
    e.ttl_s = NAN;
    CHECK_STATUS(wtfperf_cache_set(c, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1, &e),
                 WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();
    /* A key with NULs and invalid UTF-8 is just bytes. */
    const uint8_t key[] = {0xff, 0x00, 0xfe, 0x00};
    CHECK_OK(wtfperf_cache_set(c, key, sizeof key, key, sizeof key, NULL));
    wtfperf_buf out = {NULL, 0};
    CHECK_OK(wtfperf_cache_get(c, key, sizeof key, &out));
    CHECK(out.len == sizeof key && memcmp(out.data, key, sizeof key) == 0);
    wtfperf_buf_free(&out);
    /* A file binding that does not exist: an I/O error, nothing stored. */
    e = wtfperf_entry_options_default();
    e.file_path = "/nonexistent/wtfperf/file.c";
    CHECK(wtfperf_cache_set(c, (const uint8_t *)"f", 1, (const uint8_t *)"v", 1, &e) < 0);
    CHECK_MESSAGE();
    CHECK_STATUS(wtfperf_cache_get(c, (const uint8_t *)"f", 1, &out), WTFPERF_MISS);
    /* NULL with a length is an error; (NULL, 0) is the empty key. */
    CHECK_STATUS(wtfperf_cache_set(c, NULL, 3, (const uint8_t *)"v", 1, NULL), WTFPERF_ERR_NULL);
    CHECK_OK(wtfperf_cache_set(c, NULL, 0, NULL, 0, NULL));
    CHECK_OK(wtfperf_cache_get(c, NULL, 0, &out));
    CHECK(out.len == 0);
    wtfperf_buf_free(&out);
    wtfperf_cache_close(c);
}

static int32_t count_file(void *ud, const wtfperf_file *f) {
    (void)f;
    (*(int *)ud)++;
    return 0;
}

typedef struct {
    int files;
    char dir[1200];
} deleter;

/* Deletes the rest of the tree after the first file: a root deleted mid-scan. */
static int32_t delete_on_first(void *ud, const wtfperf_file *f) {
    (void)f;
    deleter *d = ud;
    if (d->files++ == 0) {
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
        CHECK(system(cmd) == 0);
    }
    return 0;
}

static void scan_roots(void) {
    char file[1200], missing[1200];
    wtfperf_scan_summary sum;
    int n = 0;
    wtfperf_scan_callbacks cb = {count_file, NULL, NULL, &n};

    /* A root that is a regular file: scanned as that one file, or refused. */
    path_in(file, sizeof file, "root-file.c");
    write_file(file, "int main(void) { return 0; }\n");
    wtfperf_status st = wtfperf_scan(file, NULL, &cb, &sum);
    CHECK(st == WTFPERF_OK || st == WTFPERF_ERR_INVALID || st == WTFPERF_ERR_IO);
    if (st == WTFPERF_OK) CHECK(n <= 1);
    else CHECK_MESSAGE();

    /* A missing root. */
    path_in(missing, sizeof missing, "no-such-root");
    st = wtfperf_scan(missing, NULL, &cb, &sum);
    CHECK(st == WTFPERF_ERR_IO || st == WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();

    /* Empty root, NULL root. */
    CHECK_STATUS(wtfperf_scan("", NULL, &cb, &sum), WTFPERF_ERR_INVALID);
    CHECK_STATUS(wtfperf_scan(NULL, NULL, &cb, &sum), WTFPERF_ERR_NULL);

    /* A root deleted while it is scanned: the scan ends, errors are counted. */
    deleter d = {0, {0}};
    path_in(d.dir, sizeof d.dir, "vanishing");
    CHECK(mkdir(d.dir, 0700) == 0);
    for (int i = 0; i < 200; i++) {
        char sub[1400], p[1500];
        snprintf(sub, sizeof sub, "%s/d%d", d.dir, i % 20);
        mkdir(sub, 0700);
        snprintf(p, sizeof p, "%s/f%d.txt", sub, i);
        write_file(p, "some content\n");
    }
    wtfperf_scan_options o = wtfperf_scan_options_default();
    o.threads = 2;
    o.chunk_size = 1;
    wtfperf_scan_callbacks dcb = {delete_on_first, NULL, NULL, &d};
    st = wtfperf_scan(d.dir, &o, &dcb, &sum);
    CHECK(st == WTFPERF_OK || st == WTFPERF_ERR_IO);
    if (st == WTFPERF_OK) {
        CHECK(sum.files_scanned == (uint64_t)d.files);
        CHECK(sum.files_scanned + sum.errors <= 200 + sum.errors);
    }
    printf("root deleted mid-scan: %s, %d files delivered\n", wtfperf_status_str(st), d.files);

    /* Zero threads means all cores; a zero chunk size is refused or clamped. */
    o = wtfperf_scan_options_default();
    o.chunk_size = 0;
    st = wtfperf_scan(tmp, &o, NULL, &sum);
    CHECK(st == WTFPERF_OK || st == WTFPERF_ERR_INVALID);
    /* NULL callbacks and NULL summary: nothing is called, nothing written. */
    CHECK_OK(wtfperf_scan(tmp, NULL, NULL, NULL));
    /* A glob that does not parse is a bad argument. */
    const char *globs[] = {"src/[unclosed"};
    o = wtfperf_scan_options_default();
    o.include_globs = globs;
    o.include_globs_len = 1;
    CHECK_STATUS(wtfperf_scan(tmp, &o, NULL, &sum), WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();
    o.include_globs = NULL; /* NULL with a length */
    CHECK_STATUS(wtfperf_scan(tmp, &o, NULL, &sum), WTFPERF_ERR_NULL);
}

/* Flags holding bytes other than 0/1 (memset, raw memory from a binding):
 * any nonzero byte is true, never undefined behaviour. */
static void odd_flag_bytes(void) {
    wtfperf_scan_options o = wtfperf_scan_options_default();
    unsigned char *raw = (unsigned char *)&o.include_content;
    *raw = 0x7f;
    raw = (unsigned char *)&o.sorted;
    *raw = 0xff;
    int n = 0;
    wtfperf_scan_callbacks cb = {count_file, NULL, NULL, &n};
    wtfperf_scan_summary sum;
    CHECK_OK(wtfperf_scan(tmp, &o, &cb, &sum));
    CHECK(sum.bytes_read > 0); /* include_content read as true */
    wtfperf_profiler_options po = wtfperf_profiler_options_default();
    raw = (unsigned char *)&po.trace_memory;
    *raw = 0x42;
    wtfperf_profiler *p = NULL;
    CHECK_OK(wtfperf_profiler_new(&po, &p));
    wtfperf_profiler_free(p);
}

static void analyzer_ids(void) {
    wtfperf_scan_summary sum;
    const char bad_utf8[] = {(char)0xff, (char)0xfe, 0};
    wtfperf_status st = wtfperf_analyze(tmp, NULL, NULL, bad_utf8, NULL, NULL, NULL, &sum);
    CHECK(st == WTFPERF_ERR_INVALID || st == WTFPERF_ERR_NULL);
    CHECK_MESSAGE();
    CHECK_STATUS(wtfperf_analyze(tmp, NULL, NULL, NULL, NULL, NULL, NULL, &sum), WTFPERF_ERR_NULL);
}

static void profiler_numbers(void) {
    wtfperf_profiler_options o = wtfperf_profiler_options_default();
    wtfperf_profiler *p = NULL;
    double bad[] = {0.0, -0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.sample_interval_s = bad[i];
        CHECK_STATUS(wtfperf_profiler_new(&o, &p), WTFPERF_ERR_INVALID);
        CHECK_MESSAGE();
        CHECK(p == NULL);
    }
    o = wtfperf_profiler_options_default();
    CHECK_OK(wtfperf_profiler_new(&o, &p));
    CHECK_OK(wtfperf_profiler_start(p));
    uint64_t tok = 0;
    const char bad_name[] = {(char)0xc3, (char)0x28, 0};
    CHECK_STATUS(wtfperf_profiler_scope_enter(p, bad_name, &tok), WTFPERF_ERR_INVALID);
    CHECK_STATUS(wtfperf_profiler_scope_exit(p, 0xdeadbeefULL), WTFPERF_ERR_INVALID);
    wtfperf_profile *prof = NULL;
    CHECK_OK(wtfperf_profiler_stop(p, &prof));
    wtfperf_sample s;
    CHECK_STATUS(wtfperf_profile_sample(prof, (size_t)-1, &s), WTFPERF_ERR_INVALID);
    wtfperf_profile_free(prof);
    wtfperf_profiler_free(p);
}

/* A read-only cache directory (and one below it). Root ignores permission
 * bits, so as root the check runs in a forked child that drops to nobody.
 * Runs first, while the process has no threads (fork-safe). */
static int read_only_checks(const char *ro) {
    char below[600];
    snprintf(below, sizeof below, "%s/cache", ro);
    wtfperf_cache *c = NULL;
    wtfperf_status a = open_at(ro, &c);
    int ok_a = (a == WTFPERF_ERR_IO || a == WTFPERF_ERR_STORE) && wtfperf_last_error()[0] && !c;
    wtfperf_status b = open_at(below, &c);
    int ok_b = (b == WTFPERF_ERR_IO || b == WTFPERF_ERR_STORE) && wtfperf_last_error()[0] && !c;
    printf("read-only cache dir: %s / below it: %s (%s)\n", wtfperf_status_str(a),
           wtfperf_status_str(b), wtfperf_last_error());
    return ok_a && ok_b;
}

static void read_only_dir(void) {
    char ro[] = "/tmp/wtfperf-ro-XXXXXX";
    CHECK(mkdtemp(ro) != NULL);
    if (geteuid() == 0) {
        CHECK(chmod(ro, 0755) == 0);
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
            int ok = read_only_checks(ro);
            fflush(stdout);
            _exit(ok ? 0 : 1);
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    } else {
        CHECK(chmod(ro, 0555) == 0);
        CHECK(read_only_checks(ro));
        CHECK(chmod(ro, 0700) == 0);
    }
    CHECK(rmdir(ro) == 0);
}

/* A failing call from a thread-exit destructor, after the library's
 * thread-locals are gone (C++ thread_local objects, pthread keys): a status,
 * not an abort. */
static pthread_key_t exit_key;
static volatile int status_at_exit = -1;

static void at_thread_exit(void *unused) {
    (void)unused;
    status_at_exit = (int)wtfperf_cache_get(NULL, NULL, 0, NULL);
    (void)wtfperf_last_error();
}

static void *thread_with_exit_call(void *unused) {
    (void)unused;
    CHECK(pthread_setspecific(exit_key, (void *)1) == 0);
    /* Sets this thread's last error, so its thread-local exists. */
    CHECK(wtfperf_cache_get(NULL, NULL, 0, NULL) == WTFPERF_ERR_NULL);
    return NULL;
}

static void calls_at_thread_exit(void) {
    CHECK(pthread_key_create(&exit_key, at_thread_exit) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, thread_with_exit_call, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(status_at_exit == WTFPERF_ERR_NULL);
    CHECK(pthread_key_delete(exit_key) == 0);
}

int main(void) {
    calls_at_thread_exit();
    read_only_dir();
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/wtfperf-bad-input-XXXXXX", base && *base ? base : "/tmp");
    CHECK(mkdtemp(tmp) != NULL);
    cache_dirs();
    cache_numbers_and_text();
    scan_roots();
    odd_flag_bytes();
    analyzer_ids();
    profiler_numbers();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0);
    HARNESS_DONE("bad_input");
}
