/* C harness for wtfperf_scan: every option, callback and error path, on a
 * tree with a FIFO, a symlink loop, a dangling link, a non-UTF-8 name, a file
 * over the size limit and a .gitignore'd file. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

#include "harness.h"

static char root[2048];

static void path_of(char *out, const char *rel) { snprintf(out, 4096, "%s/%s", root, rel); }

static void put(const char *rel, const char *content) {
    char p[4096];
    path_of(p, rel);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    fputs(content, f);
    fclose(f);
}

static void dir(const char *rel) {
    char p[4096];
    path_of(p, rel);
    CHECK(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void link_to(const char *target, const char *rel) {
    char p[4096];
    path_of(p, rel);
    CHECK(symlink(target, p) == 0);
}

#define MAIN_C "int main(void) { return 0; }\n"

static void make_tree(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/scan-tree-%d", tmp ? tmp : "/tmp", (int)getpid());
    CHECK(mkdir(root, 0755) == 0);
    put("main.c", MAIN_C);
    dir("lib");
    dir("lib/deep");
    put("lib/util.py", "print('hi')\n");
    put("lib/deep/x.rs", "fn x() {}\n");
    put("tool", "#!/bin/sh\necho hi\n");
    put("caf\xe9.txt", "latin-1 name\n");
    put(".gitignore", "*.log\n");
    put("notes.log", "ignored\n");
    dir(".hidden");
    put(".hidden/h.txt", "hidden\n");
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    put("big.bin", big);
    char p[4096];
    path_of(p, "pipe");
    CHECK(mkfifo(p, 0644) == 0);
    link_to("..", "lib/up");      /* a loop when following links */
    link_to("nowhere", "dangling");
}

typedef struct {
    atomic_int files;
    atomic_int io_errors;
    atomic_int skipped;
    int progress_calls;
    wtfperf_progress last;
    int stop_after;
    int saw_latin, saw_main, saw_ignored, saw_hidden, saw_fifo;
    int with_content, without_content;
    char order[16][256];
    int ordered;
    uint64_t bytes;
} tally;

static int32_t on_file(void *ud, const wtfperf_file *f) {
    tally *t = ud;
    int n = atomic_fetch_add(&t->files, 1) + 1;
    CHECK(f->path != NULL && f->rel_path != NULL);
    size_t pl = strlen(f->path), rl = strlen(f->rel_path);
    CHECK(pl > rl && strcmp(f->path + pl - rl, f->rel_path) == 0 && f->path[pl - rl - 1] == '/');
    CHECK(f->mtime_ns > 0 && f->inode > 0);
    if (f->content) {
        CHECK(f->content_len == f->size);
        t->with_content++;
        t->bytes += f->content_len;
    } else {
        static const uint8_t zero[16];
        CHECK(memcmp(f->content_hash, zero, 16) == 0 && f->content_len == 0);
        t->without_content++;
    }
    if (strcmp(f->rel_path, "caf\xe9.txt") == 0) t->saw_latin++;
    if (strcmp(f->rel_path, "notes.log") == 0) t->saw_ignored++;
    if (strcmp(f->rel_path, ".hidden/h.txt") == 0) t->saw_hidden++;
    if (strcmp(f->rel_path, "pipe") == 0) t->saw_fifo++;
    if (strcmp(f->rel_path, "main.c") == 0) {
        t->saw_main++;
        CHECK(f->size == strlen(MAIN_C));
        CHECK(f->language != NULL && strcmp(f->language, "c") == 0);
        if (f->content) {
            /* printf 'int main(void) { return 0; }\n' | xxhsum -H2 */
            static const uint8_t want[16] = {0x7a, 0x22, 0x8c, 0x18, 0x96, 0x5c, 0x49, 0xc2,
                                             0xa0, 0xbb, 0xd1, 0x6c, 0xca, 0x17, 0xe9, 0x78};
            CHECK(memcmp(f->content_hash, want, 16) == 0);
            CHECK(memcmp(f->content, MAIN_C, f->content_len) == 0);
        }
    }
    if (strcmp(f->rel_path, "tool") == 0 && f->content) {
        CHECK(f->language != NULL && strcmp(f->language, "shell") == 0);
    }
    if (t->ordered < 16) snprintf(t->order[t->ordered++], 256, "%s", f->rel_path);
    return (t->stop_after && n >= t->stop_after) ? 1 : 0;
}

static void on_error(void *ud, const char *path, wtfperf_status code, const char *message) {
    tally *t = ud;
    CHECK(path != NULL && message != NULL && message[0] != 0);
    if (code == WTFPERF_ERR_INVALID) {
        CHECK(strstr(message, "skipped") != NULL);
        CHECK(strstr(path, "big.bin") != NULL);
        atomic_fetch_add(&t->skipped, 1);
    } else {
        CHECK(code == WTFPERF_ERR_IO);
        atomic_fetch_add(&t->io_errors, 1);
    }
}

static void on_progress(void *ud, const wtfperf_progress *p) {
    tally *t = ud;
    t->progress_calls++;
    t->last = *p;
}

static wtfperf_status run(const wtfperf_scan_options *o, tally *t, wtfperf_scan_summary *s) {
    memset(t, 0, sizeof *t);
    wtfperf_scan_callbacks cb = {on_file, on_error, on_progress, t};
    return wtfperf_scan(root, o, &cb, s);
}

static int find_count(const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "find '%s' %s -type f | wc -l", root, args);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    int n = -1;
    CHECK(fscanf(p, "%d", &n) == 1);
    pclose(p);
    return n;
}

/* ---- analyze ---------------------------------------------------------- */

/* Moves a file's mtime an hour back so the cache can trust its stamp. */
static void age(const char *rel) {
    char p[4096];
    path_of(p, rel);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= 3600;
    t[1] = t[0];
    CHECK(utimensat(AT_FDCWD, p, t, AT_SYMLINK_NOFOLLOW) == 0);
}

/* A file changed (ctime) less than 2 s before it is hashed is "racy",
 * whatever its mtime: the cache re-hashes it rather than trust its stat.
 * Waits that out after the tree's last change, for runs that must read
 * nothing unchanged. */
static void settle(void) {
    struct timespec left = {2, 100 * 1000 * 1000};
    while (nanosleep(&left, &left) != 0) {
    }
}

typedef struct {
    atomic_int analyzed, results, cached, errors, callback_errors;
    int fail_tool;      /* the analyzer fails for "tool" */
    int abort_at;       /* return WTFPERF_ABORTED at this call */
    int progress;
} atally;

static int32_t analyzer(void *ud, const wtfperf_file *f, wtfperf_sink *sink) {
    atally *t = ud;
    int n = atomic_fetch_add(&t->analyzed, 1) + 1;
    CHECK(f->content != NULL && f->content_len == f->size);
    if (t->abort_at && n == t->abort_at) return WTFPERF_ABORTED;
    if (t->fail_tool && strcmp(f->rel_path, "tool") == 0) return 7;
    CHECK_STATUS(wtfperf_sink_write(NULL, (const uint8_t *)"x", 1), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_sink_write(sink, NULL, 1), WTFPERF_ERR_NULL);
    CHECK_OK(wtfperf_sink_write(sink, NULL, 0));
    char text[64];
    int len = snprintf(text, sizeof text, "size=%llu", (unsigned long long)f->size);
    CHECK_OK(wtfperf_sink_write(sink, (const uint8_t *)text, 5));
    CHECK_OK(wtfperf_sink_write(sink, (const uint8_t *)text + 5, (size_t)len - 5));
    return 0;
}

static void on_result(void *ud, const wtfperf_file *f, const uint8_t *r, size_t len, bool cached) {
    atally *t = ud;
    atomic_fetch_add(&t->results, 1);
    if (cached) {
        atomic_fetch_add(&t->cached, 1);
        CHECK(f->content == NULL);
    }
    char want[64];
    snprintf(want, sizeof want, "size=%llu", (unsigned long long)f->size);
    CHECK(r != NULL && len == strlen(want) && memcmp(r, want, len) == 0);
    /* A #! script: its language comes from its content, cached or not. */
    if (strcmp(f->rel_path, "tool") == 0) {
        CHECK(f->language != NULL && strcmp(f->language, "shell") == 0);
    }
}

static void on_aerror(void *ud, const char *path, wtfperf_status code, const char *message) {
    atally *t = ud;
    atomic_fetch_add(&t->errors, 1);
    CHECK(path != NULL && message != NULL);
    if (code == WTFPERF_ERR_CALLBACK) {
        CHECK(strstr(path, "tool") != NULL);
        atomic_fetch_add(&t->callback_errors, 1);
    }
}

static void on_aprogress(void *ud, const wtfperf_progress *p) {
    atally *t = ud;
    (void)p;
    t->progress++;
}

static wtfperf_status analyze_run(wtfperf_cache *cache, const wtfperf_scan_options *o, atally *t,
                                  int fail_tool, wtfperf_scan_summary *s) {
    memset(t, 0, sizeof *t);
    t->fail_tool = fail_tool;
    wtfperf_analyze_callbacks cb = {analyzer, on_result, on_aerror, on_aprogress, t};
    return wtfperf_analyze_with(root, o, cache, "size/1", &cb, s);
}

static void test_analyze(void) {
    static const char *files[] = {"main.c", "lib/util.py", "lib/deep/x.rs", "tool", "caf\xe9.txt",
                                  "big.bin"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) age(files[i]);
    settle();
    wtfperf_cache *cache = NULL;
    CHECK_OK(wtfperf_cache_open(NULL, &cache));
    atally t;
    wtfperf_scan_summary s;

    /* First run: every file analyzed (tool fails: reported, not cached). */
    CHECK_OK(analyze_run(cache, NULL, &t, 1, &s));
    CHECK(t.analyzed == 6 && t.results == 5 && t.cached == 0 && t.callback_errors == 1);
    CHECK(s.files_seen == 6 && s.files_scanned == 5 && s.errors == 1 && s.cache_hits == 0);
    CHECK(t.progress >= 1);

    /* Second run: only the failed file is analyzed again; nothing is read
     * for the others. */
    CHECK_OK(analyze_run(cache, NULL, &t, 0, &s));
    CHECK(t.analyzed == 1 && t.results == 6 && t.cached == 5 && s.cache_hits == 5);
    CHECK(s.errors == 0 && s.bytes_read == strlen("#!/bin/sh\necho hi\n"));

    /* Third run, worker-thread callbacks: all cached. */
    wtfperf_scan_options o = wtfperf_scan_options_default();
    o.callbacks_parallel = true;
    o.threads = 2;
    CHECK_OK(analyze_run(cache, &o, &t, 0, &s));
    CHECK(t.analyzed == 0 && t.results == 6 && t.cached == 6 && s.cache_hits == 6);
    CHECK(s.bytes_read == 0);

    /* A changed file is a miss. */
    put("main.c", "int main(void) { return 1; }\n");
    age("main.c");
    CHECK_OK(analyze_run(cache, NULL, &t, 0, &s));
    CHECK(t.analyzed == 1 && t.cached == 5);

    /* The analyzer may stop the run. */
    memset(&t, 0, sizeof t);
    t.abort_at = 1;
    wtfperf_analyze_callbacks cb = {analyzer, on_result, NULL, NULL, &t};
    CHECK_STATUS(wtfperf_analyze_with(root, NULL, cache, "other", &cb, &s), WTFPERF_ABORTED);
    CHECK(t.analyzed == 1 && t.results == 0);

    /* The short form, without a cache: everything analyzed every time. */
    memset(&t, 0, sizeof t);
    CHECK_OK(wtfperf_analyze(root, NULL, NULL, "size/1", analyzer, on_result, &t, &s));
    CHECK(t.analyzed == 6 && t.results == 6 && s.cache_hits == 0);
    CHECK_OK(wtfperf_analyze(root, NULL, NULL, "size/1", analyzer, NULL, &t, NULL));

    /* Errors. */
    CHECK_STATUS(wtfperf_analyze(NULL, NULL, cache, "id", analyzer, NULL, NULL, NULL),
                 WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_analyze(root, NULL, cache, NULL, analyzer, NULL, NULL, NULL),
                 WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_analyze(root, NULL, cache, "", analyzer, NULL, NULL, NULL),
                 WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();
    CHECK_STATUS(wtfperf_analyze(root, NULL, cache, "id", NULL, NULL, NULL, NULL),
                 WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_analyze_with(root, NULL, cache, "id", NULL, NULL), WTFPERF_ERR_NULL);
    wtfperf_analyze_callbacks none = {NULL, NULL, NULL, NULL, NULL};
    CHECK_STATUS(wtfperf_analyze_with(root, NULL, cache, "id", &none, NULL), WTFPERF_ERR_NULL);
    o = wtfperf_scan_options_default();
    o.chunk_size = 0;
    CHECK_STATUS(wtfperf_analyze_with(root, &o, cache, "id", &cb, NULL), WTFPERF_ERR_INVALID);
    char missing[4096];
    path_of(missing, "missing");
    CHECK_STATUS(wtfperf_analyze_with(missing, NULL, cache, "id", &cb, NULL), WTFPERF_ERR_IO);
    wtfperf_cache_close(cache);

    /* A persistent cache: results survive closing and reopening. */
    settle(); /* main.c changed above */
    char dirpath[4096];
    snprintf(dirpath, sizeof dirpath, "%s-cache", root);
    wtfperf_cache_options co = wtfperf_cache_options_default();
    co.dir = dirpath;
    CHECK_OK(wtfperf_cache_open(&co, &cache));
    CHECK_OK(analyze_run(cache, NULL, &t, 0, &s));
    CHECK(t.analyzed == 6 && t.cached == 0);
    wtfperf_cache_close(cache);
    CHECK_OK(wtfperf_cache_open(&co, &cache));
    CHECK_OK(analyze_run(cache, NULL, &t, 0, &s));
    CHECK(t.analyzed == 0 && t.cached == 6 && s.cache_hits == 6 && s.bytes_read == 0);
    wtfperf_cache_close(cache);
}

/* A relative cache dir is resolved once, when the cache is opened: after
 * the host changes directory, analyze still uses (and writes) only that
 * directory, none of the same name in the new working directory. */
static void test_relative_cache_dir(void) {
    char here[4096], a[4096], b[4096], path[4200];
    struct stat st;
    CHECK(getcwd(here, sizeof here) != NULL);
    snprintf(a, sizeof a, "%s-rel-a", root);
    snprintf(b, sizeof b, "%s-rel-b", root);
    CHECK(mkdir(a, 0755) == 0 && mkdir(b, 0755) == 0);
    CHECK(chdir(a) == 0);
    wtfperf_cache_options co = wtfperf_cache_options_default();
    co.dir = "relcache";
    wtfperf_cache *cache = NULL;
    CHECK_OK(wtfperf_cache_open(&co, &cache));
    CHECK(chdir(b) == 0);
    atally t;
    wtfperf_scan_summary s;
    CHECK_OK(analyze_run(cache, NULL, &t, 0, &s));
    CHECK(t.analyzed == 6 && s.cache_hits == 0);
    CHECK_OK(analyze_run(cache, NULL, &t, 0, &s));
    CHECK(t.analyzed == 0 && s.cache_hits == 6);
    CHECK(stat("relcache", &st) != 0 && errno == ENOENT);
    snprintf(path, sizeof path, "%s/relcache/snapshots", a);
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    wtfperf_cache_close(cache);
    CHECK(chdir(here) == 0);
}

int main(void) {
    make_tree();
    tally t;
    wtfperf_scan_summary s;

    /* Defaults (NULL options): .gitignore'd, hidden, FIFO and links left out. */
    CHECK_OK(run(NULL, &t, &s));
    CHECK(t.files == 6 && s.files_scanned == 6 && s.files_seen == 6);
    CHECK(t.saw_main == 1 && t.saw_latin == 1 && !t.saw_ignored && !t.saw_hidden && !t.saw_fifo);
    CHECK(s.files_skipped == 0 && s.errors == 0 && s.cache_hits == 0);
    CHECK(s.bytes_read == t.bytes && t.with_content == 6);
    CHECK(s.duration_s >= 0);
    CHECK(t.progress_calls >= 1 && t.last.files_done == 6 && t.last.files_total == 6);
    CHECK(t.last.bytes_done == s.bytes_read);

    /* max_file_size: big.bin is skipped, reported and counted. */
    wtfperf_scan_options o = wtfperf_scan_options_default();
    CHECK(o.threads == 0 && o.chunk_size == 64 && o.max_file_size == 10u << 20);
    CHECK(o.include_content && !o.follow_links && o.respect_ignore_files && !o.include_hidden);
    CHECK(!o.callbacks_parallel && !o.sorted && o.max_depth == 0 && !o.same_file_system);
    o.max_file_size = 1000;
    CHECK_OK(run(&o, &t, &s));
    CHECK(t.files == 5 && s.files_seen == 6 && s.files_skipped == 1 && t.skipped == 1);
    CHECK(s.errors == 0);

    /* Following links: the loop and the dangling link are errors, not hangs. */
    o.follow_links = true;
    CHECK_OK(run(&o, &t, &s));
    CHECK(t.io_errors == 2 && s.errors == 2 && t.files == 5);
    o.follow_links = false;

    /* Everything: the count matches find's. */
    o.respect_ignore_files = false;
    o.include_hidden = true;
    o.max_file_size = UINT64_MAX;
    CHECK_OK(run(&o, &t, &s));
    CHECK(t.saw_ignored == 1 && t.saw_hidden == 1 && t.saw_fifo == 0);
    CHECK((int)s.files_seen == find_count("") && t.files == (int)s.files_seen);

    /* Stat only: nothing read. */
    o = wtfperf_scan_options_default();
    o.include_content = false;
    CHECK_OK(run(&o, &t, &s));
    CHECK(t.without_content == 6 && t.with_content == 0 && s.bytes_read == 0);

    /* Parallel callbacks. */
    o = wtfperf_scan_options_default();
    o.callbacks_parallel = true;
    o.threads = 2;
    CHECK_OK(run(&o, &t, &s));
    CHECK(t.files == 6 && s.files_scanned == 6);

    /* Sorted: the same order every time, path order. */
    o = wtfperf_scan_options_default();
    o.sorted = true;
    o.threads = 1;
    o.chunk_size = 1;
    CHECK_OK(run(&o, &t, &s));
    char first[16][256];
    memcpy(first, t.order, sizeof first);
    int n = t.ordered;
    CHECK(n == 6);
    for (int i = 1; i < n; i++) CHECK(strcmp(first[i - 1], first[i]) < 0);
    o.threads = 3;
    o.callbacks_parallel = true;
    CHECK_OK(run(&o, &t, &s));
    CHECK(t.ordered == n && memcmp(first, t.order, sizeof first) == 0);

    /* Stop after 3 files: ABORTED, the summary is still written. */
    o = wtfperf_scan_options_default();
    memset(&t, 0, sizeof t);
    t.stop_after = 3;
    wtfperf_scan_callbacks cb = {on_file, NULL, NULL, &t};
    CHECK_STATUS(wtfperf_scan(root, &o, &cb, &s), WTFPERF_ABORTED);
    CHECK(t.files == 3 && s.files_scanned == 3);

    /* Globs and depth. */
    const char *inc[] = {"*.c", "lib/**/*.rs"};
    const char *exc[] = {"deep/"};
    o = wtfperf_scan_options_default();
    o.include_globs = inc;
    o.include_globs_len = 2;
    CHECK_OK(run(&o, &t, &s));
    CHECK(t.files == 2 && t.saw_main == 1);
    o.exclude_globs = exc;
    o.exclude_globs_len = 1;
    CHECK_OK(run(&o, &t, &s));
    CHECK(t.files == 1);
    o = wtfperf_scan_options_default();
    o.max_depth = 1;
    CHECK_OK(run(&o, &t, &s));
    CHECK(t.files == 4);

    /* NULL callbacks and summary are fine. */
    CHECK_OK(wtfperf_scan(root, NULL, NULL, NULL));

    /* Errors. */
    CHECK_STATUS(wtfperf_scan(NULL, NULL, NULL, NULL), WTFPERF_ERR_NULL);
    CHECK_MESSAGE();
    CHECK_STATUS(wtfperf_scan("", NULL, NULL, NULL), WTFPERF_ERR_INVALID);
    char missing[4096];
    path_of(missing, "missing");
    CHECK_STATUS(wtfperf_scan(missing, NULL, NULL, &s), WTFPERF_ERR_IO);
    CHECK_MESSAGE();
    o = wtfperf_scan_options_default();
    o.chunk_size = 0;
    CHECK_STATUS(wtfperf_scan(root, &o, NULL, NULL), WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();
    o = wtfperf_scan_options_default();
    o.include_globs_len = 1;
    CHECK_STATUS(wtfperf_scan(root, &o, NULL, NULL), WTFPERF_ERR_NULL);
    const char *bad[] = {"a["};
    o.include_globs = bad;
    CHECK_STATUS(wtfperf_scan(root, &o, NULL, NULL), WTFPERF_ERR_INVALID);
    const char *latin[] = {"caf\xe9"};
    o.include_globs = latin;
    CHECK_STATUS(wtfperf_scan(root, &o, NULL, NULL), WTFPERF_ERR_INVALID);
    const char *null_glob[] = {NULL};
    o.include_globs = NULL;
    o.include_globs_len = 0;
    o.exclude_globs = null_glob;
    o.exclude_globs_len = 1;
    CHECK_STATUS(wtfperf_scan(root, &o, NULL, NULL), WTFPERF_ERR_NULL);

    test_analyze();
    test_relative_cache_dir();

    HARNESS_DONE("scan");
}
