/* C side of the Go binding: small wrappers that make one wtfperf call and,
 * when it fails, copy wtfperf_last_error() before returning to Go. Goroutines
 * can move between OS threads between two cgo calls, and the last error is
 * thread-local, so it must be read inside the same native call. The copy is
 * malloc'd; the Go side frees it. */
#ifndef WTFPERF_GO_SHIM_H
#define WTFPERF_GO_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include "wtfperf.h"

/* Copies the last error into *err (malloc'd) when st is an error. */
wtfperf_status wtfgo_check(wtfperf_status st, char **err);

wtfperf_status wtfgo_debug_force_panic(const char *message, char **err);

/* profiler */
wtfperf_status wtfgo_profiler_new(const wtfperf_profiler_options *o, wtfperf_profiler **out, char **err);
wtfperf_status wtfgo_profiler_start(wtfperf_profiler *p, char **err);
wtfperf_status wtfgo_profiler_sample_now(wtfperf_profiler *p, wtfperf_sample *out, char **err);
wtfperf_status wtfgo_profiler_stop(wtfperf_profiler *p, wtfperf_profile **out, char **err);
wtfperf_status wtfgo_profiler_scope_enter(wtfperf_profiler *p, const char *name, uint64_t *tok, char **err);
wtfperf_status wtfgo_profiler_scope_id(wtfperf_profiler *p, const char *name, uint32_t *id, char **err);
wtfperf_status wtfgo_profiler_scope_enter_id(wtfperf_profiler *p, uint32_t id, uint64_t *tok, char **err);
wtfperf_status wtfgo_profiler_scope_exit(wtfperf_profiler *p, uint64_t tok, char **err);
wtfperf_status wtfgo_profile_sample(const wtfperf_profile *p, size_t i, wtfperf_sample *out, char **err);
wtfperf_status wtfgo_profile_to_json(const wtfperf_profile *p, wtfperf_buf *out, char **err);
wtfperf_status wtfgo_profile_to_chrome_trace(const wtfperf_profile *p, wtfperf_buf *out, char **err);
wtfperf_status wtfgo_profile_manager_new(wtfperf_profile_manager **out, char **err);
wtfperf_status wtfgo_profile_manager_add(wtfperf_profile_manager *m, const char *name, const wtfperf_profile *p, char **err);
wtfperf_status wtfgo_profile_manager_summary_json(const wtfperf_profile_manager *m, wtfperf_buf *out, char **err);
/* cache */
wtfperf_status wtfgo_cache_open(const wtfperf_cache_options *o, wtfperf_cache **out, char **err);
wtfperf_status wtfgo_cache_set(wtfperf_cache *c, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                               const wtfperf_entry_options *o, char **err);
wtfperf_status wtfgo_cache_set_many(wtfperf_cache *c, const uint8_t *const *keys, const size_t *key_lens,
                                    const uint8_t *const *values, const size_t *value_lens,
                                    const wtfperf_entry_options *const *options, size_t n, char **err);
wtfperf_status wtfgo_cache_explain_miss(wtfperf_cache *c, const uint8_t *k, size_t kl, wtfperf_buf *out, char **err);
wtfperf_status wtfgo_cache_get(wtfperf_cache *c, const uint8_t *k, size_t kl, wtfperf_buf *out, char **err);
wtfperf_status wtfgo_cache_invalidate(wtfperf_cache *c, const uint8_t *k, size_t kl, char **err);
wtfperf_status wtfgo_cache_invalidate_file(wtfperf_cache *c, const char *path, size_t *out, char **err);
/* on_changed goes to the Go callback registered under handle h */
wtfperf_status wtfgo_cache_check_file_changes(wtfperf_cache *c, const char *const *paths, size_t n, uintptr_t h,
                                              size_t *out, char **err);
wtfperf_status wtfgo_cache_cleanup_expired(wtfperf_cache *c, size_t *out, char **err);
wtfperf_status wtfgo_cache_clear(wtfperf_cache *c, char **err);
wtfperf_status wtfgo_cache_stats(wtfperf_cache *c, wtfperf_cache_statistics *out, char **err);
wtfperf_status wtfgo_cache_stats_json(wtfperf_cache *c, wtfperf_buf *out, char **err);
/* scan / analyze: callbacks go to the Go state registered under handle h;
 * a zero flag leaves that callback NULL. */
enum { WTFGO_ON_FILE = 1, WTFGO_ON_ERROR = 2, WTFGO_ON_PROGRESS = 4, WTFGO_ANALYZE = 8, WTFGO_ON_RESULT = 16 };
wtfperf_status wtfgo_scan(const char *root, const wtfperf_scan_options *o, uintptr_t h, int flags,
                          wtfperf_scan_summary *out, char **err);
wtfperf_status wtfgo_analyze(const char *root, const wtfperf_scan_options *o, wtfperf_cache *cache,
                             const char *analyzer_id, uintptr_t h, int flags, wtfperf_scan_summary *out, char **err);
wtfperf_status wtfgo_analyze_with(const char *root, const wtfperf_scan_options *o, wtfperf_cache *cache,
                                  const char *analyzer_id, uintptr_t h, int flags, wtfperf_scan_summary *out,
                                  char **err);
wtfperf_status wtfgo_sink_write(wtfperf_sink *sink, const uint8_t *data, size_t len, char **err);
/* bench */
wtfperf_status wtfgo_bench_run(const wtfperf_bench_options *o, wtfperf_buf *out, char **err);
wtfperf_status wtfgo_bench_generate(const char *root, size_t files, uint64_t seed, uint64_t max_file_size,
                                    uint64_t *out_files, char **err);

#endif
