/* scan_tree.c: list a tree, then count its lines incrementally.
 * usage: scan_tree [ROOT [CACHE_DIR]]
 * cc -std=c11 -Iinclude scan_tree.c target/release/libwtfperf.a \
 *    -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o scan_tree        */
#include <stdio.h>
#include <string.h>
#include "wtfperf.h"

static int32_t on_file(void *ud, const wtfperf_file *f) {
    (void)ud;
    printf("%-40s %8llu bytes  %s\n", f->rel_path, (unsigned long long)f->size,
           f->language ? f->language : "-");
    return 0; /* nonzero stops the scan (WTFPERF_ABORTED) */
}

static void on_error(void *ud, const char *path, wtfperf_status code, const char *msg) {
    (void)ud;
    fprintf(stderr, "%s: %s: %s\n", path ? path : "?", wtfperf_status_str(code), msg);
}

/* The analyzer runs only for files whose result is not cached. */
static int32_t count_lines(void *ud, const wtfperf_file *f, wtfperf_sink *result) {
    (void)ud;
    uint64_t lines = 0;
    for (size_t i = 0; i < f->content_len; i++) lines += f->content[i] == '\n';
    char text[32];
    int n = snprintf(text, sizeof text, "%llu", (unsigned long long)lines);
    return wtfperf_sink_write(result, (const uint8_t *)text, (size_t)n) == WTFPERF_OK ? 0 : 1;
}

static void on_result(void *ud, const wtfperf_file *f, const uint8_t *r, size_t len, bool cached) {
    (void)ud;
    printf("%-40s %.*s lines%s\n", f->rel_path, (int)len, (const char *)r, cached ? " (cached)" : "");
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    wtfperf_scan_options opts = wtfperf_scan_options_default();
    const char *exclude[] = {"target/", "*.min.js"};
    opts.exclude_globs = exclude;
    opts.exclude_globs_len = 2;

    wtfperf_scan_callbacks cb = {on_file, on_error, NULL, NULL};
    wtfperf_scan_summary s;
    wtfperf_status st = wtfperf_scan(root, &opts, &cb, &s);
    if (st != WTFPERF_OK) {
        fprintf(stderr, "scan: %s: %s\n", wtfperf_status_str(st), wtfperf_last_error());
        return 1;
    }
    printf("%llu files, %llu bytes, %llu skipped, %llu errors in %.3f s\n",
           (unsigned long long)s.files_scanned, (unsigned long long)s.bytes_read,
           (unsigned long long)s.files_skipped, (unsigned long long)s.errors, s.duration_s);

    wtfperf_cache_options co = wtfperf_cache_options_default();
    co.dir = argc > 2 ? argv[2] : "/tmp/scan_tree.cache";
    wtfperf_cache *cache = NULL;
    if (wtfperf_cache_open(&co, &cache) != WTFPERF_OK) return 1;
    wtfperf_analyze_callbacks acb = {count_lines, on_result, on_error, NULL, NULL};
    st = wtfperf_analyze_with(root, &opts, cache, "lines/1", &acb, &s);
    printf("%s: %llu results, %llu from the cache\n", wtfperf_status_str(st),
           (unsigned long long)s.files_scanned, (unsigned long long)s.cache_hits);
    wtfperf_cache_close(cache);
    return st == WTFPERF_OK ? 0 : 1;
}
