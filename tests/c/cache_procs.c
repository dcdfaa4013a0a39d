/* Cache shared by processes: two forked writers on one directory at once,
 * and a writer killed with SIGKILL mid-stream losing nothing it was told
 * was stored. */
#include "harness.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[1024];

static wtfperf_cache *open_dir(void) {
    wtfperf_cache_options o = wtfperf_cache_options_default();
    o.dir = dir;
    wtfperf_cache *c = NULL;
    CHECK_OK(wtfperf_cache_open(&o, &c));
    return c;
}

static void key_of(char *out, size_t n, const char *tag, int i) {
    snprintf(out, n, "%s-%d", tag, i);
}

/* Child: `n` committed sets, then exits 0 (nonzero on any failure). */
static void writer(const char *tag, int n) {
    wtfperf_cache *c = open_dir();
    for (int i = 0; i < n; i++) {
        char k[64];
        key_of(k, sizeof k, tag, i);
        if (wtfperf_cache_set(c, (const uint8_t *)k, strlen(k), (const uint8_t *)k, strlen(k),
                              NULL) != WTFPERF_OK) {
            _exit(3);
        }
    }
    wtfperf_cache_close(c);
    _exit(0);
}

static void test_two_writers(void) {
    enum { N = 100 };
    pid_t a = fork();
    CHECK(a >= 0);
    if (a == 0) writer("a", N);
    pid_t b = fork();
    CHECK(b >= 0);
    if (b == 0) writer("b", N);
    int st = 0;
    CHECK(waitpid(a, &st, 0) == a && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(waitpid(b, &st, 0) == b && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    wtfperf_cache *c = open_dir();
    const char *tags[] = {"a", "b"};
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < N; i++) {
            char k[64];
            key_of(k, sizeof k, tags[t], i);
            wtfperf_buf out = {NULL, 0};
            CHECK_OK(wtfperf_cache_get(c, (const uint8_t *)k, strlen(k), &out));
            CHECK(out.len == strlen(k) && memcmp(out.data, k, out.len) == 0);
            wtfperf_buf_free(&out);
        }
    }
    wtfperf_cache_statistics s;
    CHECK_OK(wtfperf_cache_stats(c, &s));
    CHECK(s.persistent_entries == 2 * N);
    CHECK(s.total_sets == 2 * N);
    wtfperf_cache_close(c);
}

static void test_sigkill(void) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t p = fork();
    CHECK(p >= 0);
    if (p == 0) {
        close(fds[0]);
        wtfperf_cache *c = open_dir();
        for (int i = 0;; i++) {
            char k[64];
            key_of(k, sizeof k, "killed", i);
            if (wtfperf_cache_set(c, (const uint8_t *)k, strlen(k), (const uint8_t *)k,
                                  strlen(k), NULL) != WTFPERF_OK) {
                _exit(3);
            }
            /* Acknowledge only after set returned. */
            if (write(fds[1], &i, sizeof i) != (ssize_t)sizeof i) _exit(4);
        }
    }
    close(fds[1]);
    int acked = -1, i = 0;
    while (acked < 40 && read(fds[0], &i, sizeof i) == (ssize_t)sizeof i) acked = i;
    CHECK(kill(p, SIGKILL) == 0);
    int st = 0;
    CHECK(waitpid(p, &st, 0) == p && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* Acks still in the pipe were committed too. */
    while (read(fds[0], &i, sizeof i) == (ssize_t)sizeof i) acked = i;
    close(fds[0]);
    CHECK(acked >= 40);

    wtfperf_cache *c = open_dir();
    wtfperf_cache_statistics s;
    CHECK_OK(wtfperf_cache_stats(c, &s));
    CHECK(!s.recovered); /* the database was not corrupted */
    for (int j = 0; j <= acked; j++) {
        char k[64];
        key_of(k, sizeof k, "killed", j);
        wtfperf_buf out = {NULL, 0};
        CHECK_OK(wtfperf_cache_get(c, (const uint8_t *)k, strlen(k), &out));
        CHECK(out.len == strlen(k) && memcmp(out.data, k, out.len) == 0);
        wtfperf_buf_free(&out);
    }
    /* Still writable. */
    CHECK_OK(wtfperf_cache_set(c, (const uint8_t *)"after", 5, (const uint8_t *)"x", 1, NULL));
    wtfperf_cache_close(c);
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/wtfperf-cache-procs-%d", t ? t : "/tmp", (int)getpid());
    test_two_writers();
    test_sigkill();
    HARNESS_DONE("cache_procs");
}
