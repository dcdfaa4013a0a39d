/* Cache: every exported function, tiers, file/dependency invalidation,
 * TTL, statistics, miss explanations, roots, corruption, error paths. */
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp[1024];

static void path_in(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmp, name);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* Sets a file's mtime to `secs` ago (as if written long before). */
static void age_file(const char *path, int secs) {
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= secs;
    ts[1] = ts[0];
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int same_time(struct timespec a, struct timespec b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Rewrites `path` in place with `text` (the same size) and puts its mtime
 * back, as `touch -r` does (`chmod_to` >= 0: changes only its mode
 * instead): only the ctime, which user space cannot set, tells. Repeated
 * after a pause until the ctime moved (two changes within one tick of the
 * file system's clock get the same ctime). */
static void change_keeping_mtime(const char *path, const char *text, int chmod_to) {
    struct stat before, after;
    CHECK(stat(path, &before) == 0);
    for (int i = 0; i < 1000; i++) {
        if (chmod_to >= 0) {
            CHECK(chmod(path, (mode_t)chmod_to) == 0);
        } else {
            write_file(path, text);
            struct timespec ts[2] = {before.st_atim, before.st_mtim};
            CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
        }
        CHECK(stat(path, &after) == 0);
        if (!same_time(after.st_ctim, before.st_ctim)) break;
        sleep_ms(2);
    }
    CHECK(!same_time(after.st_ctim, before.st_ctim));
    CHECK(same_time(after.st_mtim, before.st_mtim));
    CHECK(after.st_size == before.st_size && after.st_ino == before.st_ino);
}

/* get must hit with exactly `expect` (len bytes). */
static void expect_hit(wtfperf_cache *c, const char *key, const void *expect, size_t len) {
    wtfperf_buf out = {NULL, 0};
    CHECK_OK(wtfperf_cache_get(c, (const uint8_t *)key, strlen(key), &out));
    CHECK(out.len == len);
    CHECK(memcmp(out.data, expect, len) == 0);
    CHECK(out.data[len] == 0);
    wtfperf_buf_free(&out);
}

static void expect_miss(wtfperf_cache *c, const char *key, const char *reason) {
    wtfperf_buf out = {NULL, 0};
    CHECK_STATUS(wtfperf_cache_get(c, (const uint8_t *)key, strlen(key), &out), WTFPERF_MISS);
    CHECK(out.data == NULL && out.len == 0);
    if (reason) {
        wtfperf_buf why = {NULL, 0};
        CHECK_OK(wtfperf_cache_explain_miss(c, (const uint8_t *)key, strlen(key), &why));
        char want[128];
        snprintf(want, sizeof want, "\"last_reason\":\"%s\"", reason);
        if (!strstr((const char *)why.data, want)) {
            fprintf(stderr, "explain(%s) = %s, want %s\n", key, why.data, want);
        }
        CHECK(strstr((const char *)why.data, want) != NULL);
        wtfperf_buf_free(&why);
    }
}

static void set_text(wtfperf_cache *c, const char *key, const char *value,
                     const wtfperf_entry_options *o) {
    CHECK_OK(wtfperf_cache_set(c, (const uint8_t *)key, strlen(key), (const uint8_t *)value,
                               strlen(value), o));
}

struct changed {
    int count;
    char last[1024];
};

static void on_changed(void *userdata, const char *path) {
    struct changed *ch = userdata;
    ch->count++;
    snprintf(ch->last, sizeof ch->last, "%s", path);
}

static void test_defaults_and_errors(void) {
    wtfperf_cache_options o = wtfperf_cache_options_default();
    CHECK(o.dir == NULL && o.root == NULL);
    CHECK(o.memory_max_entries == 1000);
    CHECK(o.memory_ttl_s == 3600 && o.persistent_ttl_s == 86400);
    CHECK(o.memory_max_bytes == 0 && o.persistent_max_bytes == 0);
    wtfperf_entry_options e = wtfperf_entry_options_default();
    CHECK(e.file_path == NULL && e.deps == NULL && e.deps_len == 0 && e.ttl_s == -1);

    wtfperf_cache *c = NULL;
    CHECK_STATUS(wtfperf_cache_open(NULL, NULL), WTFPERF_ERR_NULL);
    CHECK_MESSAGE();
    o.memory_ttl_s = -1;
    CHECK_STATUS(wtfperf_cache_open(&o, &c), WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();
    o = wtfperf_cache_options_default();
    o.persistent_ttl_s = 0.0 / 0.0;
    CHECK_STATUS(wtfperf_cache_open(&o, &c), WTFPERF_ERR_INVALID);
    o = wtfperf_cache_options_default();
    o.dir = "";
    CHECK_STATUS(wtfperf_cache_open(&o, &c), WTFPERF_ERR_INVALID);
    o = wtfperf_cache_options_default();
    o.root = "/no/such/root/for/wtfperf";
    CHECK_STATUS(wtfperf_cache_open(&o, &c), WTFPERF_ERR_IO);
    CHECK_MESSAGE();
    CHECK(c == NULL);
    wtfperf_cache_close(NULL);

    CHECK_OK(wtfperf_cache_open(NULL, &c));
    wtfperf_buf out = {NULL, 0};
    const uint8_t k[] = "k";
    /* NULL handle everywhere. */
    CHECK_STATUS(wtfperf_cache_set(NULL, k, 1, k, 1, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_get(NULL, k, 1, &out), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_invalidate(NULL, k, 1), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_invalidate_file(NULL, "x", NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_check_file_changes(NULL, NULL, 0, NULL, NULL, NULL),
                 WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_cleanup_expired(NULL, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_clear(NULL), WTFPERF_ERR_NULL);
    wtfperf_cache_statistics st;
    CHECK_STATUS(wtfperf_cache_stats(NULL, &st), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_stats_json(NULL, &out), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_explain_miss(NULL, k, 1, &out), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_set_many(NULL, NULL, NULL, NULL, NULL, NULL, 0),
                 WTFPERF_ERR_NULL);
    /* NULL pointers with lengths, NULL out-params. */
    CHECK_STATUS(wtfperf_cache_set(c, NULL, 3, k, 1, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_set(c, k, 1, NULL, 3, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_get(c, NULL, 3, &out), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_get(c, k, 1, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_invalidate(c, NULL, 2), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_invalidate_file(c, NULL, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_invalidate_file(c, "", NULL), WTFPERF_ERR_INVALID);
    CHECK_STATUS(wtfperf_cache_check_file_changes(c, NULL, 2, NULL, NULL, NULL),
                 WTFPERF_ERR_NULL);
    const char *bad_paths[] = {"a", NULL};
    CHECK_STATUS(wtfperf_cache_check_file_changes(c, bad_paths, 2, NULL, NULL, NULL),
                 WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_stats(c, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_stats_json(c, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_explain_miss(c, k, 1, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_explain_miss(c, NULL, 1, &out), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_cache_set_many(c, NULL, NULL, NULL, NULL, NULL, 2), WTFPERF_ERR_NULL);
    /* Bad entry options. */
    e = wtfperf_entry_options_default();
    e.ttl_s = 1.0 / 0.0;
    CHECK_STATUS(wtfperf_cache_set(c, k, 1, k, 1, &e), WTFPERF_ERR_INVALID);
    e = wtfperf_entry_options_default();
    e.deps_len = 2;
    CHECK_STATUS(wtfperf_cache_set(c, k, 1, k, 1, &e), WTFPERF_ERR_NULL);
    e = wtfperf_entry_options_default();
    e.file_path = "/no/such/file/for/wtfperf.c";
    CHECK_STATUS(wtfperf_cache_set(c, k, 1, k, 1, &e), WTFPERF_ERR_IO);
    CHECK_MESSAGE();
    /* Nothing was stored by the failing calls. */
    CHECK_STATUS(wtfperf_cache_get(c, k, 1, &out), WTFPERF_MISS);
    /* Empty inputs are fine. */
    CHECK_OK(wtfperf_cache_set_many(c, NULL, NULL, NULL, NULL, NULL, 0));
    CHECK_OK(wtfperf_cache_check_file_changes(c, NULL, 0, NULL, NULL, NULL));
    CHECK_OK(wtfperf_cache_set(c, NULL, 0, NULL, 0, NULL));
    CHECK_OK(wtfperf_cache_get(c, NULL, 0, &out));
    CHECK(out.len == 0);
    wtfperf_buf_free(&out);
    wtfperf_cache_close(c);
}

static void test_memory_tier(void) {
    wtfperf_cache_options o = wtfperf_cache_options_default();
    o.memory_max_entries = 4;
    wtfperf_cache *c = NULL;
    CHECK_OK(wtfperf_cache_open(&o, &c));
    /* Keys and values with NULs. */
    const uint8_t key[] = {'a', 0, 'b'};
    const uint8_t val[] = {0, 1, 0, 2};
    CHECK_OK(wtfperf_cache_set(c, key, 3, val, 4, NULL));
    wtfperf_buf out = {NULL, 0};
    CHECK_OK(wtfperf_cache_get(c, key, 3, &out));
    CHECK(out.len == 4 && memcmp(out.data, val, 4) == 0);
    wtfperf_buf_free(&out);
    CHECK_STATUS(wtfperf_cache_get(c, key, 1, &out), WTFPERF_MISS); /* "a" differs */
    expect_miss(c, "never", "not_found");
    /* LRU bound: 6 entries into 4, the first are evicted. */
    for (int i = 0; i < 6; i++) {
        char k[16];
        snprintf(k, sizeof k, "lru%d", i);
        set_text(c, k, "v", NULL);
    }
    expect_miss(c, "lru0", "evicted");
    expect_hit(c, "lru5", "v", 1);
    /* Overwrite, invalidate. */
    set_text(c, "lru5", "w", NULL);
    expect_hit(c, "lru5", "w", 1);
    CHECK_OK(wtfperf_cache_invalidate(c, (const uint8_t *)"lru5", 4));
    expect_miss(c, "lru5", "invalidated");
    CHECK_OK(wtfperf_cache_invalidate(c, (const uint8_t *)"lru5", 4)); /* absent: still OK */

    /* TTL: an expired entry is never returned; cleanup removes them. */
    CHECK_OK(wtfperf_cache_clear(c));
    wtfperf_entry_options e = wtfperf_entry_options_default();
    e.ttl_s = 0.001;
    set_text(c, "short", "v", &e);
    set_text(c, "short2", "v", &e);
    sleep_ms(5);
    expect_miss(c, "short", "expired");
    size_t removed = 99;
    CHECK_OK(wtfperf_cache_cleanup_expired(c, &removed));
    CHECK(removed == 1);
    CHECK_OK(wtfperf_cache_cleanup_expired(c, NULL));
    e.ttl_s = 0; /* never */
    set_text(c, "forever", "v", &e);
    expect_hit(c, "forever", "v", 1);

    wtfperf_cache_statistics st;
    CHECK_OK(wtfperf_cache_stats(c, &st));
    CHECK(st.memory_hits >= 4);
    CHECK(st.memory_misses >= 4);
    CHECK(st.persistent_hits == 0 && st.persistent_entries == 0);
    CHECK(st.memory_entries <= 4 && st.memory_entries >= 1);
    CHECK(st.invalidations_evicted >= 2);
    CHECK(st.invalidations_expired == 2);
    CHECK(st.invalidations_explicit == 1);
    CHECK(st.invalidations == st.invalidations_evicted + st.invalidations_expired +
                                  st.invalidations_explicit + st.invalidations_file_changed +
                                  st.invalidations_dependency_changed);
    CHECK(st.hit_rate > 0 && st.hit_rate < 1);
    CHECK(st.total_hits == st.memory_hits && st.total_sets == st.sets);
    CHECK(!st.recovered);

    wtfperf_buf js = {NULL, 0};
    CHECK_OK(wtfperf_cache_stats_json(c, &js));
    CHECK(strstr((const char *)js.data, "\"handle\"") != NULL);
    CHECK(strstr((const char *)js.data, "\"invalidations_evicted\"") != NULL);
    wtfperf_buf_free(&js);

    CHECK_OK(wtfperf_cache_clear(c));
    expect_miss(c, "forever", "cleared");
    wtfperf_cache_close(c);
}

static void test_files_and_deps(const char *dir) {
    char src[1024], hdr[1024], deep[1024], absent[1024];
    path_in(src, sizeof src, "a.c");
    path_in(hdr, sizeof hdr, "a.h");
    path_in(deep, sizeof deep, "deep.h");
    path_in(absent, sizeof absent, "later.h");
    write_file(src, "int main;");
    write_file(hdr, "#include deep");
    write_file(deep, "int x;");
    unlink(absent);
    age_file(src, 10);
    age_file(hdr, 10);
    age_file(deep, 10);

    wtfperf_cache_options o = wtfperf_cache_options_default();
    o.dir = dir;
    wtfperf_cache *c = NULL;
    CHECK_OK(wtfperf_cache_open(&o, &c));

    /* Bound to a file: valid until its content changes. */
    wtfperf_entry_options e = wtfperf_entry_options_default();
    e.file_path = src;
    set_text(c, "lint:a.c", "ok", &e);
    expect_hit(c, "lint:a.c", "ok", 2);
    /* Same content, new mtime: still valid (re-hashed, stamp refreshed). */
    age_file(src, 5);
    expect_hit(c, "lint:a.c", "ok", 2);
    /* Same size, other content, mtime set back: content decides. */
    write_file(src, "int main!");
    age_file(src, 5);
    expect_miss(c, "lint:a.c", "file_changed");
    expect_miss(c, "lint:a.c", "file_changed"); /* removed: still explained */

    /* Dependencies, one of them absent at store time. */
    const char *deps[] = {hdr, absent};
    e.deps = deps;
    e.deps_len = 2;
    set_text(c, "lint:a.c", "ok2", &e);
    expect_hit(c, "lint:a.c", "ok2", 3);
    write_file(absent, "now here");
    expect_miss(c, "lint:a.c", "dependency_changed");
    unlink(absent);

    /* Transitive: a.h is itself cached with deps [deep.h]; "user" depends on
     * a.h only; a change of deep.h invalidates both. */
    wtfperf_entry_options h = wtfperf_entry_options_default();
    const char *hdeps[] = {deep};
    h.file_path = hdr;
    h.deps = hdeps;
    h.deps_len = 1;
    set_text(c, "lint:a.h", "h", &h);
    wtfperf_entry_options u = wtfperf_entry_options_default();
    const char *udeps[] = {hdr};
    u.file_path = src;
    u.deps = udeps;
    u.deps_len = 1;
    set_text(c, "lint:user", "u", &u);
    expect_hit(c, "lint:user", "u", 1);
    write_file(deep, "int y;");
    expect_miss(c, "lint:user", "dependency_changed");
    expect_miss(c, "lint:a.h", "dependency_changed");

    /* invalidate_file: bound and dependent entries go, transitively. */
    set_text(c, "lint:a.h", "h", &h);
    set_text(c, "lint:user", "u", &u);
    set_text(c, "other", "o", NULL);
    size_t removed = 0;
    CHECK_OK(wtfperf_cache_invalidate_file(c, deep, &removed));
    CHECK(removed == 2);
    expect_miss(c, "lint:user", "invalidated");
    expect_hit(c, "other", "o", 1);
    CHECK_OK(wtfperf_cache_invalidate_file(c, src, NULL));

    /* check_file_changes: first call records; then only real changes. */
    const char *watch[] = {src, hdr, absent};
    struct changed ch = {0, ""};
    size_t n = 99;
    CHECK_OK(wtfperf_cache_check_file_changes(c, watch, 3, on_changed, &ch, &n));
    CHECK(n == 2 && ch.count == 2); /* src, hdr never recorded; absent stays absent */
    ch.count = 0;
    CHECK_OK(wtfperf_cache_check_file_changes(c, watch, 3, on_changed, &ch, &n));
    CHECK(n == 0 && ch.count == 0);
    write_file(hdr, "changed header");
    CHECK_OK(wtfperf_cache_check_file_changes(c, watch, 3, on_changed, &ch, &n));
    CHECK(n == 1 && ch.count == 1 && strcmp(ch.last, hdr) == 0);
    CHECK_OK(wtfperf_cache_check_file_changes(c, watch, 3, NULL, NULL, NULL));
    write_file(absent, "x");
    CHECK_OK(wtfperf_cache_check_file_changes(c, watch, 3, on_changed, &ch, &n));
    CHECK(n == 1 && strcmp(ch.last, absent) == 0);
    /* Rewritten with the same size and its mtime put back, on a record that
     * is not racy (an mtime 10 s back): the ctime shows the change. */
    age_file(hdr, 10);
    CHECK_OK(wtfperf_cache_check_file_changes(c, watch, 3, on_changed, &ch, &n));
    CHECK(n == 0);
    change_keeping_mtime(hdr, "CHANGED header", -1);
    CHECK_OK(wtfperf_cache_check_file_changes(c, watch, 3, on_changed, &ch, &n));
    CHECK(n == 1 && strcmp(ch.last, hdr) == 0);
    /* A ctime-only change (chmod) is no change: re-hashed, same content. */
    change_keeping_mtime(hdr, NULL, 0600);
    CHECK_OK(wtfperf_cache_check_file_changes(c, watch, 3, on_changed, &ch, &n));
    CHECK(n == 0);

    wtfperf_cache_statistics st;
    CHECK_OK(wtfperf_cache_stats(c, &st));
    CHECK(st.invalidations_file_changed == 1);
    CHECK(st.invalidations_dependency_changed >= 3);
    CHECK(st.invalidations_explicit == 2);
    wtfperf_cache_close(c);
}

static void test_persistent_tier(const char *dir) {
    wtfperf_cache_options o = wtfperf_cache_options_default();
    o.dir = dir;
    wtfperf_cache *c = NULL;
    CHECK_OK(wtfperf_cache_open(&o, &c));
    CHECK_OK(wtfperf_cache_clear(c));
    struct stat sb;
    CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700);

    /* set_many: one transaction, optional per-entry options. */
    enum { N = 50 };
    char keybuf[N][16];
    const uint8_t *keys[N], *values[N];
    size_t klen[N], vlen[N];
    const wtfperf_entry_options *opts[N];
    wtfperf_entry_options short_ttl = wtfperf_entry_options_default();
    short_ttl.ttl_s = 0.001;
    for (int i = 0; i < N; i++) {
        snprintf(keybuf[i], sizeof keybuf[i], "bulk%d", i);
        keys[i] = (const uint8_t *)keybuf[i];
        klen[i] = strlen(keybuf[i]);
        values[i] = (const uint8_t *)keybuf[i];
        vlen[i] = klen[i];
        opts[i] = i == 0 ? &short_ttl : NULL;
    }
    CHECK_OK(wtfperf_cache_set_many(c, keys, klen, values, vlen, opts, N));
    CHECK_OK(wtfperf_cache_set_many(c, keys + 1, klen + 1, values + 1, vlen + 1, NULL, 1));
    const uint8_t *null_keys[] = {NULL};
    size_t bad_len[] = {3};
    CHECK_STATUS(wtfperf_cache_set_many(c, null_keys, bad_len, values, vlen, NULL, 1),
                 WTFPERF_ERR_NULL);
    /* The message names the bad element. */
    CHECK(strstr(wtfperf_last_error(), "keys[0]") != NULL);
    const uint8_t *two_keys[] = {keys[0], NULL};
    size_t two_lens[] = {klen[0], 3};
    CHECK_STATUS(wtfperf_cache_set_many(c, two_keys, two_lens, values, vlen, NULL, 2),
                 WTFPERF_ERR_NULL);
    CHECK(strstr(wtfperf_last_error(), "keys[1]") != NULL);
    wtfperf_cache_close(c);

    /* Reopen: served from SQLite, then promoted to memory. */
    CHECK_OK(wtfperf_cache_open(&o, &c));
    expect_hit(c, "bulk7", "bulk7", 5);
    expect_hit(c, "bulk7", "bulk7", 5);
    sleep_ms(3);
    expect_miss(c, "bulk0", "expired");
    wtfperf_cache_statistics st;
    CHECK_OK(wtfperf_cache_stats(c, &st));
    CHECK(st.persistent_hits == 1 && st.memory_hits == 1);
    CHECK(st.persistent_entries == N - 1);
    CHECK(st.persistent_bytes > 0);
    CHECK(st.total_sets >= N + 1); /* written by the first handle */

    /* A 64 MB value with NULs (4 MB under valgrind, which copies slowly;
     * tests/cache.rs stores 64 MB too). */
    const char *preload = getenv("LD_PRELOAD");
    int under_valgrind = preload && strstr(preload, "vgpreload");
    size_t big = (size_t)(under_valgrind ? 4 : 64) << 20;
    uint8_t *v = calloc(big, 1);
    CHECK(v != NULL);
    v[1] = 7;
    v[big - 1] = 9;
    CHECK_OK(wtfperf_cache_set(c, (const uint8_t *)"big", 3, v, big, NULL));
    wtfperf_cache_close(c);
    CHECK_OK(wtfperf_cache_open(&o, &c));
    wtfperf_buf out = {NULL, 0};
    CHECK_OK(wtfperf_cache_get(c, (const uint8_t *)"big", 3, &out));
    CHECK(out.len == big && out.data[1] == 7 && out.data[big - 1] == 9 && out.data[0] == 0);
    wtfperf_buf_free(&out);
    free(v);
    CHECK_OK(wtfperf_cache_invalidate(c, (const uint8_t *)"big", 3));
    wtfperf_cache_close(c);
}

static void test_size_cap(const char *dir) {
    wtfperf_cache_options o = wtfperf_cache_options_default();
    o.dir = dir;
    o.persistent_max_bytes = 10000;
    o.memory_max_entries = 0; /* persistent tier only */
    wtfperf_cache *c = NULL;
    CHECK_OK(wtfperf_cache_open(&o, &c));
    char val[1000];
    memset(val, 'x', sizeof val - 1);
    val[sizeof val - 1] = 0;
    set_text(c, "keep", val, NULL);
    for (int i = 0; i < 30; i++) {
        char k[16];
        snprintf(k, sizeof k, "cap%d", i);
        set_text(c, k, val, NULL);
        expect_hit(c, "keep", val, sizeof val - 1); /* recently used */
    }
    wtfperf_cache_statistics st;
    CHECK_OK(wtfperf_cache_stats(c, &st));
    CHECK(st.persistent_bytes <= 10000);
    CHECK(st.invalidations_evicted > 0);
    expect_hit(c, "keep", val, sizeof val - 1);
    expect_miss(c, "cap0", "evicted");
    wtfperf_cache_close(c);
}

static void test_root_moves(void) {
    char a[1024], b[1024], f[1100], dir[1024];
    path_in(a, sizeof a, "checkout-a");
    path_in(b, sizeof b, "checkout-b");
    path_in(dir, sizeof dir, "cache-root");
    CHECK(mkdir(a, 0755) == 0);
    snprintf(f, sizeof f, "%s/main.c", a);
    write_file(f, "int main(void) { return 0; }");
    wtfperf_cache_options o = wtfperf_cache_options_default();
    o.dir = dir;
    o.root = a;
    wtfperf_cache *c = NULL;
    CHECK_OK(wtfperf_cache_open(&o, &c));
    wtfperf_entry_options e = wtfperf_entry_options_default();
    e.file_path = f;
    set_text(c, "main", "result", &e);
    wtfperf_cache_close(c);
    /* Move the checkout; open with the new root: still a hit. */
    CHECK(rename(a, b) == 0);
    o.root = b;
    CHECK_OK(wtfperf_cache_open(&o, &c));
    expect_hit(c, "main", "result", 6);
    snprintf(f, sizeof f, "%s/main.c", b);
    size_t removed = 0;
    CHECK_OK(wtfperf_cache_invalidate_file(c, f, &removed));
    CHECK(removed == 1);
    wtfperf_cache_close(c);
}

static void test_corrupt_database(void) {
    char dir[1024], db[1100];
    path_in(dir, sizeof dir, "corrupt");
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(db, sizeof db, "%s/cache.db", dir);
    FILE *fp = fopen(db, "wb");
    CHECK(fp != NULL);
    for (int i = 0; i < 4096; i++) fputc(i * 7, fp);
    fclose(fp);
    wtfperf_cache_options o = wtfperf_cache_options_default();
    o.dir = dir;
    wtfperf_cache *c = NULL;
    CHECK_OK(wtfperf_cache_open(&o, &c));
    CHECK(strstr(wtfperf_last_error(), "corrupt") != NULL);
    wtfperf_cache_statistics st;
    CHECK_OK(wtfperf_cache_stats(c, &st));
    CHECK(st.recovered);
    wtfperf_buf js = {NULL, 0};
    CHECK_OK(wtfperf_cache_stats_json(c, &js));
    CHECK(strstr((const char *)js.data, "moved aside") != NULL);
    wtfperf_buf_free(&js);
    set_text(c, "k", "v", NULL);
    expect_hit(c, "k", "v", 1);
    wtfperf_cache_close(c);
}

/* A directory as file_path stands for its tree: a file deep inside that
 * changes invalidates, files its ignore rules leave out do not. */
static void test_directory_binding(void) {
    char proj[1024], sub[1100], file[1200], ignore[1200], built[1200];
    path_in(proj, sizeof proj, "proj");
    snprintf(sub, sizeof sub, "%s/src", proj);
    snprintf(file, sizeof file, "%s/main.c", sub);
    snprintf(ignore, sizeof ignore, "%s/.gitignore", proj);
    snprintf(built, sizeof built, "%s/main.o", proj);
    CHECK(mkdir(proj, 0755) == 0 && mkdir(sub, 0755) == 0);
    write_file(file, "int main;");
    write_file(ignore, "*.o\n");
    write_file(built, "obj");
    age_file(file, 10);

    wtfperf_cache *c = NULL;
    CHECK_OK(wtfperf_cache_open(NULL, &c));
    wtfperf_entry_options e = wtfperf_entry_options_default();
    e.file_path = proj;
    set_text(c, "project", "report", &e);
    expect_hit(c, "project", "report", 6);
    write_file(built, "object file");
    expect_hit(c, "project", "report", 6);
    write_file(file, "int main!");
    age_file(file, 10);
    expect_miss(c, "project", "file_changed");

    /* A FIFO or a device is refused at once, never waited for or read. */
    char fifo[1100];
    snprintf(fifo, sizeof fifo, "%s/fifo", proj);
    CHECK(mkfifo(fifo, 0600) == 0);
    const char *special[] = {fifo, "/dev/zero"};
    for (int i = 0; i < 2; i++) {
        e.file_path = special[i];
        CHECK_STATUS(wtfperf_cache_set(c, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1, &e),
                     WTFPERF_ERR_IO);
        CHECK_MESSAGE();
    }
    wtfperf_cache_close(c);
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/wtfperf-cache-c-%d", t ? t : "/tmp", (int)getpid());
    CHECK(mkdir(tmp, 0755) == 0);
    char dir[1024];
    path_in(dir, sizeof dir, "cache");

    test_defaults_and_errors();
    test_memory_tier();
    test_files_and_deps(dir);
    test_persistent_tier(dir);
    char capdir[1024];
    path_in(capdir, sizeof capdir, "capped");
    test_size_cap(capdir);
    test_root_moves();
    test_corrupt_database();
    test_directory_binding();
    HARNESS_DONE("cache");
}
