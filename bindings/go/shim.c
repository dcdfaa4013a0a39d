#include <string.h>
#include "shim.h"
#include "_cgo_export.h"

wtfperf_status wtfgo_check(wtfperf_status st, char **err) {
    if (st < 0 && err != NULL) {
        const char *msg = wtfperf_last_error();
        *err = strdup(msg != NULL ? msg : "");
    }
    return st;
}

wtfperf_status wtfgo_debug_force_panic(const char *message, char **err) {
    return wtfgo_check(wtfperf_debug_force_panic(message), err);
}

/* profiler */
wtfperf_status wtfgo_profiler_new(const wtfperf_profiler_options *o, wtfperf_profiler **out, char **err) {
    return wtfgo_check(wtfperf_profiler_new(o, out), err);
}
wtfperf_status wtfgo_profiler_start(wtfperf_profiler *p, char **err) {
    return wtfgo_check(wtfperf_profiler_start(p), err);
}
wtfperf_status wtfgo_profiler_sample_now(wtfperf_profiler *p, wtfperf_sample *out, char **err) {
    return wtfgo_check(wtfperf_profiler_sample_now(p, out), err);
}
wtfperf_status wtfgo_profiler_stop(wtfperf_profiler *p, wtfperf_profile **out, char **err) {
    return wtfgo_check(wtfperf_profiler_stop(p, out), err);
}
wtfperf_status wtfgo_profiler_scope_enter(wtfperf_profiler *p, const char *name, uint64_t *tok, char **err) {
    return wtfgo_check(wtfperf_profiler_scope_enter(p, name, tok), err);
}
wtfperf_status wtfgo_profiler_scope_id(wtfperf_profiler *p, const char *name, uint32_t *id, char **err) {
    return wtfgo_check(wtfperf_profiler_scope_id(p, name, id), err);
}
wtfperf_status wtfgo_profiler_scope_enter_id(wtfperf_profiler *p, uint32_t id, uint64_t *tok, char **err) {
    return wtfgo_check(wtfperf_profiler_scope_enter_id(p, id, tok), err);
}
wtfperf_status wtfgo_profiler_scope_exit(wtfperf_profiler *p, uint64_t tok, char **err) {
    return wtfgo_check(wtfperf_profiler_scope_exit(p, tok), err);
}
wtfperf_status wtfgo_profile_sample(const wtfperf_profile *p, size_t i, wtfperf_sample *out, char **err) {
    return wtfgo_check(wtfperf_profile_sample(p, i, out), err);
}
wtfperf_status wtfgo_profile_to_json(const wtfperf_profile *p, wtfperf_buf *out, char **err) {
    return wtfgo_check(wtfperf_profile_to_json(p, out), err);
}
wtfperf_status wtfgo_profile_to_chrome_trace(const wtfperf_profile *p, wtfperf_buf *out, char **err) {
    return wtfgo_check(wtfperf_profile_to_chrome_trace(p, out), err);
}
wtfperf_status wtfgo_profile_manager_new(wtfperf_profile_manager **out, char **err) {
    return wtfgo_check(wtfperf_profile_manager_new(out), err);
}
wtfperf_status wtfgo_profile_manager_add(wtfperf_profile_manager *m, const char *name, const wtfperf_profile *p, char **err) {
    return wtfgo_check(wtfperf_profile_manager_add(m, name, p), err);
}
wtfperf_status wtfgo_profile_manager_summary_json(const wtfperf_profile_manager *m, wtfperf_buf *out, char **err) {
    return wtfgo_check(wtfperf_profile_manager_summary_json(m, out), err);
}

/* cache */
wtfperf_status wtfgo_cache_open(const wtfperf_cache_options *o, wtfperf_cache **out, char **err) {
    return wtfgo_check(wtfperf_cache_open(o, out), err);
}
wtfperf_status wtfgo_cache_set(wtfperf_cache *c, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                               const wtfperf_entry_options *o, char **err) {
    return wtfgo_check(wtfperf_cache_set(c, k, kl, v, vl, o), err);
}
wtfperf_status wtfgo_cache_set_many(wtfperf_cache *c, const uint8_t *const *keys, const size_t *key_lens,
                                    const uint8_t *const *values, const size_t *value_lens,
                                    const wtfperf_entry_options *const *options, size_t n, char **err) {
    return wtfgo_check(wtfperf_cache_set_many(c, keys, key_lens, values, value_lens, options, n), err);
}
wtfperf_status wtfgo_cache_explain_miss(wtfperf_cache *c, const uint8_t *k, size_t kl, wtfperf_buf *out, char **err) {
    return wtfgo_check(wtfperf_cache_explain_miss(c, k, kl, out), err);
}
wtfperf_status wtfgo_cache_get(wtfperf_cache *c, const uint8_t *k, size_t kl, wtfperf_buf *out, char **err) {
    return wtfgo_check(wtfperf_cache_get(c, k, kl, out), err);
}
wtfperf_status wtfgo_cache_invalidate(wtfperf_cache *c, const uint8_t *k, size_t kl, char **err) {
    return wtfgo_check(wtfperf_cache_invalidate(c, k, kl), err);
}
wtfperf_status wtfgo_cache_invalidate_file(wtfperf_cache *c, const char *path, size_t *out, char **err) {
    return wtfgo_check(wtfperf_cache_invalidate_file(c, path, out), err);
}
static void wtfgo_tramp_path(void *userdata, const char *path) {
    wtfgoOnPath((uintptr_t)userdata, (char *)path);
}
wtfperf_status wtfgo_cache_check_file_changes(wtfperf_cache *c, const char *const *paths, size_t n, uintptr_t h,
                                              size_t *out, char **err) {
    return wtfgo_check(wtfperf_cache_check_file_changes(c, paths, n, wtfgo_tramp_path, (void *)h, out), err);
}
wtfperf_status wtfgo_cache_cleanup_expired(wtfperf_cache *c, size_t *out, char **err) {
    return wtfgo_check(wtfperf_cache_cleanup_expired(c, out), err);
}
wtfperf_status wtfgo_cache_clear(wtfperf_cache *c, char **err) {
    return wtfgo_check(wtfperf_cache_clear(c), err);
}
wtfperf_status wtfgo_cache_stats(wtfperf_cache *c, wtfperf_cache_statistics *out, char **err) {
    return wtfgo_check(wtfperf_cache_stats(c, out), err);
}
wtfperf_status wtfgo_cache_stats_json(wtfperf_cache *c, wtfperf_buf *out, char **err) {
    return wtfgo_check(wtfperf_cache_stats_json(c, out), err);
}

/* scan / analyze */
static int32_t wtfgo_tramp_file(void *userdata, const wtfperf_file *file) {
    return wtfgoOnFile((uintptr_t)userdata, (wtfperf_file *)file);
}
static void wtfgo_tramp_error(void *userdata, const char *path, wtfperf_status code, const char *message) {
    wtfgoOnError((uintptr_t)userdata, (char *)path, code, (char *)message);
}
static void wtfgo_tramp_progress(void *userdata, const wtfperf_progress *progress) {
    wtfgoOnProgress((uintptr_t)userdata, (wtfperf_progress *)progress);
}
static int32_t wtfgo_tramp_analyze(void *userdata, const wtfperf_file *file, wtfperf_sink *sink) {
    return wtfgoAnalyze((uintptr_t)userdata, (wtfperf_file *)file, sink);
}
static void wtfgo_tramp_result(void *userdata, const wtfperf_file *file, const uint8_t *result, size_t len,
                               bool cached) {
    wtfgoOnResult((uintptr_t)userdata, (wtfperf_file *)file, (uint8_t *)result, len, cached);
}

wtfperf_status wtfgo_scan(const char *root, const wtfperf_scan_options *o, uintptr_t h, int flags,
                          wtfperf_scan_summary *out, char **err) {
    wtfperf_scan_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.on_file = (flags & WTFGO_ON_FILE) ? wtfgo_tramp_file : NULL;
    cb.on_error = (flags & WTFGO_ON_ERROR) ? wtfgo_tramp_error : NULL;
    cb.on_progress = (flags & WTFGO_ON_PROGRESS) ? wtfgo_tramp_progress : NULL;
    cb.userdata = (void *)h;
    return wtfgo_check(wtfperf_scan(root, o, &cb, out), err);
}

wtfperf_status wtfgo_analyze(const char *root, const wtfperf_scan_options *o, wtfperf_cache *cache,
                             const char *analyzer_id, uintptr_t h, int flags, wtfperf_scan_summary *out, char **err) {
    return wtfgo_check(wtfperf_analyze(root, o, cache, analyzer_id,
                                       (flags & WTFGO_ANALYZE) ? wtfgo_tramp_analyze : NULL,
                                       (flags & WTFGO_ON_RESULT) ? wtfgo_tramp_result : NULL, (void *)h, out),
                       err);
}

wtfperf_status wtfgo_analyze_with(const char *root, const wtfperf_scan_options *o, wtfperf_cache *cache,
                                  const char *analyzer_id, uintptr_t h, int flags, wtfperf_scan_summary *out,
                                  char **err) {
    wtfperf_analyze_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.analyze = (flags & WTFGO_ANALYZE) ? wtfgo_tramp_analyze : NULL;
    cb.on_result = (flags & WTFGO_ON_RESULT) ? wtfgo_tramp_result : NULL;
    cb.on_error = (flags & WTFGO_ON_ERROR) ? wtfgo_tramp_error : NULL;
    cb.on_progress = (flags & WTFGO_ON_PROGRESS) ? wtfgo_tramp_progress : NULL;
    cb.userdata = (void *)h;
    return wtfgo_check(wtfperf_analyze_with(root, o, cache, analyzer_id, &cb, out), err);
}

wtfperf_status wtfgo_sink_write(wtfperf_sink *sink, const uint8_t *data, size_t len, char **err) {
    return wtfgo_check(wtfperf_sink_write(sink, data, len), err);
}

/* bench */
wtfperf_status wtfgo_bench_run(const wtfperf_bench_options *o, wtfperf_buf *out, char **err) {
    return wtfgo_check(wtfperf_bench_run(o, out), err);
}
wtfperf_status wtfgo_bench_generate(const char *root, size_t files, uint64_t seed, uint64_t max_file_size,
                                    uint64_t *out_files, char **err) {
    return wtfgo_check(wtfperf_bench_generate(root, files, seed, max_file_size, out_files), err);
}
