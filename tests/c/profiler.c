/* Profiler: options, start/stop states, exact peak of a short spike, CPU of a
 * busy thread, scopes from several threads, memory traces, child processes,
 * JSON and Chrome-trace export, run manager, and every NULL / error path.
 *
 * Under valgrind (WTFPERF_UNDER_VALGRIND=1, or detected from valgrind's
 * LD_PRELOAD) the big-memory parts shrink: valgrind makes touching 300 MB
 * take minutes, and its malloc is invisible to glibc's mallinfo2. */
#include "harness.h"

#include <math.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Under valgrind (or a sanitizer, which also replaces malloc, so mallinfo2
 * sees nothing): big allocations shrink and heap figures are not checked. */
static int under_valgrind(void) {
    const char *san = getenv("WTFPERF_UNDER_SANITIZER");
    if (san != NULL && san[0] != '\0' && strcmp(san, "0") != 0) return 1;
    const char *v = getenv("WTFPERF_UNDER_VALGRIND");
    if (v != NULL && v[0] != '\0') return strcmp(v, "0") != 0;
    /* valgrind preloads its own libraries into the program it runs. */
    const char *preload = getenv("LD_PRELOAD");
    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

static double now_s(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Burns this thread's CPU for `seconds` of wall time. */
static volatile unsigned long sink;
static void busy(double seconds) {
    double end = now_s(CLOCK_MONOTONIC) + seconds;
    while (now_s(CLOCK_MONOTONIC) < end) {
        for (int i = 0; i < 1000; i++) sink += (unsigned long)i;
    }
}

/* Burns `seconds` of this thread's CPU time, however loaded the machine. */
static void burn_cpu(double seconds) {
    double end = now_s(CLOCK_THREAD_CPUTIME_ID) + seconds;
    while (now_s(CLOCK_THREAD_CPUTIME_ID) < end) {
        for (int i = 0; i < 1000; i++) sink += (unsigned long)i;
    }
}

/* Allocates and touches `mb` MiB, then frees it. */
static void spike(size_t mb) {
    size_t n = mb << 20;
    char *p = malloc(n);
    CHECK(p != NULL);
    for (size_t i = 0; i < n; i += 4096) p[i] = (char)i;
    sink += (unsigned long)p[n / 2];
    free(p);
}

/* The "count" of the scope object named `name` in profile JSON (keys are
 * sorted, so "count" precedes "name" in the object); -1 when absent. */
static long scope_count(const char *json, const char *name) {
    char needle[128];
    snprintf(needle, sizeof needle, "\"name\":\"%s\",", name);
    const char *scopes = strstr(json, "\"scopes\":[");
    if (scopes == NULL) return -1;
    const char *at = strstr(scopes, needle);
    if (at == NULL) return -1;
    const char *open = at;
    while (open > scopes && *open != '{') open--;
    const char *count = strstr(open, "\"count\":");
    if (count == NULL || count > at) return -1;
    return strtol(count + 8, NULL, 10);
}

static void test_options_and_new(void) {
    wtfperf_profiler_options o = wtfperf_profiler_options_default();
    CHECK(o.sample_interval_s == 0.1);
    CHECK(o.trace_memory == false);
    CHECK(o.include_children == false);
    CHECK(o.max_samples == 65536);
    CHECK(o.max_scope_events == 100000);

    wtfperf_profiler *p = NULL;
    CHECK_STATUS(wtfperf_profiler_new(&o, NULL), WTFPERF_ERR_NULL);
    CHECK_MESSAGE();
    double bad[] = {0.0, -1.0, NAN, INFINITY, -INFINITY, 1e300};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.sample_interval_s = bad[i];
        CHECK_STATUS(wtfperf_profiler_new(&o, &p), WTFPERF_ERR_INVALID);
        CHECK_MESSAGE();
        CHECK(p == NULL);
    }
    o = wtfperf_profiler_options_default();
    o.max_samples = 1;
    CHECK_STATUS(wtfperf_profiler_new(&o, &p), WTFPERF_ERR_INVALID);
    CHECK(p == NULL);
    /* Extreme but valid values work. */
    o.max_samples = SIZE_MAX;
    o.max_scope_events = SIZE_MAX;
    o.sample_interval_s = 1e9;
    CHECK_OK(wtfperf_profiler_new(&o, &p));
    CHECK_OK(wtfperf_profiler_start(p));
    wtfperf_profile *once = NULL;
    CHECK_OK(wtfperf_profiler_stop(p, &once));
    CHECK(wtfperf_profile_sample_count(once) == 1);
    wtfperf_profile_free(once);
    wtfperf_profiler_free(p);
    p = NULL;

    /* NULL options are the defaults. */
    CHECK_OK(wtfperf_profiler_new(NULL, &p));
    CHECK(p != NULL);
    CHECK(!wtfperf_profiler_is_running(p));
    CHECK(!wtfperf_profiler_is_running(NULL));
    wtfperf_profiler_free(p);
    wtfperf_profiler_free(NULL);
}

static void test_states_and_null_profiler(void) {
    wtfperf_profiler_options o = wtfperf_profiler_options_default();
    o.sample_interval_s = 0.01;
    wtfperf_profiler *p = NULL;
    CHECK_OK(wtfperf_profiler_new(&o, &p));
    wtfperf_profile *prof = NULL;
    wtfperf_sample s;
    uint64_t tok = 0;

    CHECK_STATUS(wtfperf_profiler_stop(p, &prof), WTFPERF_ERR_STATE);
    CHECK_MESSAGE();
    CHECK(prof == NULL);
    CHECK_STATUS(wtfperf_profiler_sample_now(p, &s), WTFPERF_ERR_STATE);
    CHECK_STATUS(wtfperf_profiler_scope_enter(p, "x", &tok), WTFPERF_ERR_STATE);
    CHECK_STATUS(wtfperf_profiler_scope_exit(p, 12345), WTFPERF_ERR_INVALID);
    uint32_t sid = 0;
    CHECK_OK(wtfperf_profiler_scope_id(p, "x", &sid)); /* works while stopped */
    CHECK_STATUS(wtfperf_profiler_scope_enter_id(p, sid, &tok), WTFPERF_ERR_STATE);

    CHECK_STATUS(wtfperf_profiler_start(NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_stop(NULL, &prof), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_sample_now(NULL, &s), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_scope_enter(NULL, "x", &tok), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_scope_exit(NULL, 1), WTFPERF_ERR_NULL);

    CHECK_OK(wtfperf_profiler_start(p));
    CHECK(wtfperf_profiler_is_running(p));
    CHECK_STATUS(wtfperf_profiler_start(p), WTFPERF_ERR_STATE);
    CHECK_MESSAGE();
    CHECK_STATUS(wtfperf_profiler_stop(p, NULL), WTFPERF_ERR_NULL);
    CHECK(wtfperf_profiler_is_running(p)); /* a NULL out did no work */
    CHECK_STATUS(wtfperf_profiler_sample_now(p, NULL), WTFPERF_ERR_NULL);
    CHECK_OK(wtfperf_profiler_sample_now(p, &s));
    CHECK(s.rss_bytes > 0 && s.t_s >= 0.0);
    CHECK_OK(wtfperf_profiler_stop(p, &prof));
    CHECK(!wtfperf_profiler_is_running(p));
    CHECK(wtfperf_profile_sample_count(prof) >= 2); /* sample_now + the last one */
    wtfperf_profile_free(prof);

    /* A forked child cannot stop its parent's window (no sampler thread in
     * the child); the parent's window is unaffected. valgrind would flag the
     * child's abandoned window, so skip it there. */
    if (!under_valgrind()) {
        CHECK_OK(wtfperf_profiler_start(p));
        fflush(NULL);
        pid_t child = fork();
        CHECK(child >= 0);
        if (child == 0) {
            wtfperf_profile *cp = NULL;
            wtfperf_status st = wtfperf_profiler_stop(p, &cp);
            _exit(st == WTFPERF_ERR_STATE && cp == NULL && !wtfperf_profiler_is_running(p) ? 0 : 1);
        }
        int status = 0;
        CHECK(waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(wtfperf_profiler_is_running(p));
        CHECK_OK(wtfperf_profiler_stop(p, &prof));
        CHECK(wtfperf_profile_sample_count(prof) >= 1);
        wtfperf_profile_free(prof);
    }

    /* Started again after stop. */
    CHECK_OK(wtfperf_profiler_start(p));
    sleep_ms(30);
    CHECK_OK(wtfperf_profiler_stop(p, &prof));
    CHECK(wtfperf_profile_duration_s(prof) >= 0.02);
    wtfperf_profile_free(prof);

    /* Freeing a running profiler stops it. */
    CHECK_OK(wtfperf_profiler_start(p));
    wtfperf_profiler_free(p);
}

static void test_exact_peak(void) {
    size_t mb = under_valgrind() ? 16 : 300;
    wtfperf_profiler_options o = wtfperf_profiler_options_default();
    o.sample_interval_s = 10.0; /* the spike is far shorter than an interval */
    wtfperf_profiler *p = NULL;
    CHECK_OK(wtfperf_profiler_new(&o, &p));
    CHECK_OK(wtfperf_profiler_start(p));
    spike(mb);
    wtfperf_profile *prof = NULL;
    CHECK_OK(wtfperf_profiler_stop(p, &prof));
    CHECK(wtfperf_profile_duration_s(prof) < 10.0);
    double peak = wtfperf_profile_peak_memory_mb(prof);
#ifdef __linux__
    CHECK(wtfperf_profile_peak_is_exact(prof));
#endif
    if (wtfperf_profile_peak_is_exact(prof)) {
        CHECK(peak >= (double)mb);
    }
    /* The samples never saw it: the timeline's largest RSS is far lower. */
    size_t n = wtfperf_profile_sample_count(prof);
    CHECK(n >= 1);
    uint64_t max_rss = 0;
    for (size_t i = 0; i < n; i++) {
        wtfperf_sample s;
        CHECK_OK(wtfperf_profile_sample(prof, i, &s));
        if (s.rss_bytes > max_rss) max_rss = s.rss_bytes;
    }
    /* (A sanitizer's allocator quarantines freed memory, so there the
       closing sample may still hold the spike.) */
    if (getenv("WTFPERF_UNDER_SANITIZER") == NULL) CHECK((double)max_rss / 1048576.0 < peak);
    else CHECK((double)max_rss / 1048576.0 <= peak + 0.001);
    wtfperf_buf json = {NULL, 0};
    CHECK_OK(wtfperf_profile_to_json(prof, &json));
    CHECK(strstr((const char *)json.data, "\"peak_source\":\"vmhwm\"") != NULL);
    wtfperf_buf_free(&json);
    printf("spike of %zu MB: peak %.1f MB, largest sample %.1f MB\n", mb, peak,
           (double)max_rss / 1048576.0);
    wtfperf_profile_free(prof);
    wtfperf_profiler_free(p);
}

static void test_busy_cpu(void) {
    wtfperf_profiler_options o = wtfperf_profiler_options_default();
    o.sample_interval_s = 0.05;
    wtfperf_profiler *p = NULL;
    CHECK_OK(wtfperf_profiler_new(&o, &p));
    CHECK_OK(wtfperf_profiler_start(p));
    double wall0 = now_s(CLOCK_MONOTONIC), cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    busy(0.3);
    double wall = now_s(CLOCK_MONOTONIC) - wall0;
    double own = (now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0) / wall * 100.0;
    wtfperf_profile *prof = NULL;
    CHECK_OK(wtfperf_profiler_stop(p, &prof));
    double avg = wtfperf_profile_avg_cpu_percent(prof);
    double cpu_s = wtfperf_profile_cpu_time_s(prof);
    printf("busy thread: profile %.1f %%, the thread's own clock %.1f %%\n", avg, own);
    /* ~100 % on an idle machine; on a loaded one, what the thread really
     * got (its own CPU clock), give or take the sampler's tiny share. */
    CHECK(avg >= own * 0.9 - 2.0);
    CHECK(avg <= own * 1.1 + 5.0);
    if (own >= 90.0) CHECK(avg >= 85.0);
    CHECK(cpu_s > 0.0 && cpu_s <= wtfperf_profile_duration_s(prof) * 2.0 + 0.05);
    wtfperf_profile_free(prof);
    wtfperf_profiler_free(p);

    /* The first sample's CPU figure is meaningful (measured since start):
     * no sampler tick in this window, so the first sample is ours. */
    o.sample_interval_s = 10.0;
    CHECK_OK(wtfperf_profiler_new(&o, &p));
    wall0 = now_s(CLOCK_MONOTONIC);
    cpu0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    CHECK_OK(wtfperf_profiler_start(p));
    burn_cpu(0.1);
    wtfperf_sample first;
    CHECK_OK(wtfperf_profiler_sample_now(p, &first));
    own = (now_s(CLOCK_THREAD_CPUTIME_ID) - cpu0) / (now_s(CLOCK_MONOTONIC) - wall0) * 100.0;
    CHECK_OK(wtfperf_profiler_stop(p, &prof));
    printf("first sample: %.1f %%, the thread's own clock %.1f %%\n", first.cpu_percent, own);
    CHECK(first.t_s > 0.0);
    CHECK(first.cpu_percent >= own * 0.85 - 2.0);
    CHECK(first.cpu_percent <= own * 1.15 + 5.0);
    wtfperf_sample again;
    CHECK_OK(wtfperf_profile_sample(prof, 0, &again));
    CHECK(again.t_s == first.t_s && again.cpu_percent == first.cpu_percent);
    wtfperf_profile_free(prof);
    wtfperf_profiler_free(p);
}

struct worker {
    wtfperf_profiler *p;
    int n;
    uint64_t token_out;
    int failures;
};

static void *scope_worker(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        uint64_t outer, inner;
        if (wtfperf_profiler_scope_enter(w->p, "worker", &outer) != WTFPERF_OK) w->failures++;
        if (wtfperf_profiler_scope_enter(w->p, "worker/inner", &inner) != WTFPERF_OK)
            w->failures++;
        if (wtfperf_profiler_scope_exit(w->p, inner) != WTFPERF_OK) w->failures++;
        if (wtfperf_profiler_scope_exit(w->p, outer) != WTFPERF_OK) w->failures++;
    }
    /* Leave one open for the main thread to close. */
    if (wtfperf_profiler_scope_enter(w->p, "handed over", &w->token_out) != WTFPERF_OK)
        w->failures++;
    return NULL;
}

static void test_scopes(void) {
    wtfperf_profiler_options o = wtfperf_profiler_options_default();
    o.sample_interval_s = 0.01;
    o.trace_memory = true;
    wtfperf_profiler *p = NULL;
    CHECK_OK(wtfperf_profiler_new(&o, &p));
    CHECK_OK(wtfperf_profiler_start(p));

    uint64_t outer = 0, inner = 0;
    CHECK_STATUS(wtfperf_profiler_scope_enter(p, NULL, &outer), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_scope_enter(p, "x", NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_scope_enter(p, "bad \xff name", &outer), WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();
    CHECK_STATUS(wtfperf_profiler_scope_exit(p, 0), WTFPERF_ERR_INVALID);
    CHECK_STATUS(wtfperf_profiler_scope_exit(p, 0xdeadbeefULL), WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();

    /* Interned names: ids work across start/stop and skip the lookup. */
    uint32_t id = 0, id2 = 0;
    CHECK_STATUS(wtfperf_profiler_scope_id(NULL, "by id", &id), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_scope_id(p, NULL, &id), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_scope_id(p, "by id", NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_scope_id(p, "\xc3", &id), WTFPERF_ERR_INVALID);
    CHECK_OK(wtfperf_profiler_scope_id(p, "by id", &id));
    CHECK_OK(wtfperf_profiler_scope_id(p, "by id", &id2));
    CHECK(id == id2);
    uint64_t by_id = 0;
    CHECK_STATUS(wtfperf_profiler_scope_enter_id(NULL, id, &by_id), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_scope_enter_id(p, id, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profiler_scope_enter_id(p, 999999, &by_id), WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();
    for (int i = 0; i < 3; i++) {
        CHECK_OK(wtfperf_profiler_scope_enter_id(p, id, &by_id));
        CHECK_OK(wtfperf_profiler_scope_exit(p, by_id));
    }
    /* The same name by text lands in the same aggregate. */
    CHECK_OK(wtfperf_profiler_scope_enter(p, "by id", &by_id));
    CHECK_OK(wtfperf_profiler_scope_exit(p, by_id));

    /* A buffer reused for other names: names are cached per thread by
     * pointer, but the bytes decide. */
    char reused[64];
    const char *texts[] = {"reused-a", "reused-a", "reused-b", "reused-a-longer", "reus",
                           "reused-a", "bad \xff", "a name longer than the per-thread name cache"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        snprintf(reused, sizeof reused, "%s", texts[i]);
        uint64_t t = 0;
        if (strchr(texts[i], '\xff') != NULL) {
            CHECK_STATUS(wtfperf_profiler_scope_enter(p, reused, &t), WTFPERF_ERR_INVALID);
            continue;
        }
        CHECK_OK(wtfperf_profiler_scope_enter(p, reused, &t));
        CHECK_OK(wtfperf_profiler_scope_exit(p, t));
    }
    snprintf(reused, sizeof reused, "%s", "reused-a");
    for (int i = 0; i < 2; i++) { /* twice: the second is cached */
        uint64_t t = 0;
        CHECK_OK(wtfperf_profiler_scope_enter(p, reused, &t));
        CHECK_OK(wtfperf_profiler_scope_exit(p, t));
    }
    reused[3] = (char)0xff; /* "reu\xffed-a": same length, no longer UTF-8 */
    CHECK_STATUS(wtfperf_profiler_scope_enter(p, reused, &outer), WTFPERF_ERR_INVALID);

    CHECK_OK(wtfperf_profiler_scope_enter(p, "parse", &outer));
    CHECK_OK(wtfperf_profiler_scope_enter(p, "parse/alloc", &inner));
    CHECK(outer != inner);
    char *keep = malloc(8u << 20);
    CHECK(keep != NULL);
    memset(keep, 1, 8u << 20);
    sleep_ms(5);
    CHECK_OK(wtfperf_profiler_scope_exit(p, inner));
    CHECK_STATUS(wtfperf_profiler_scope_exit(p, inner), WTFPERF_ERR_INVALID);
    CHECK_OK(wtfperf_profiler_scope_exit(p, outer));
    free(keep);

    struct worker w[2] = {{p, 200, 0, 0}, {p, 200, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&th[i], NULL, scope_worker, &w[i]) == 0);
    for (int i = 0; i < 2; i++) CHECK(pthread_join(th[i], NULL) == 0);
    CHECK(w[0].failures == 0 && w[1].failures == 0);
    CHECK_OK(wtfperf_profiler_scope_exit(p, w[0].token_out)); /* another thread's scope */
    uint64_t left_open = 0;
    CHECK_OK(wtfperf_profiler_scope_enter(p, "left open", &left_open));

    wtfperf_profile *prof = NULL;
    CHECK_OK(wtfperf_profiler_stop(p, &prof));
    /* Scopes of a stopped window: exiting is a harmless no-op. */
    CHECK_OK(wtfperf_profiler_scope_exit(p, left_open));
    CHECK_OK(wtfperf_profiler_scope_exit(p, w[1].token_out));

    wtfperf_buf json = {NULL, 0};
    CHECK_STATUS(wtfperf_profile_to_json(prof, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profile_to_json(NULL, &json), WTFPERF_ERR_NULL);
    CHECK_OK(wtfperf_profile_to_json(prof, &json));
    const char *j = (const char *)json.data;
    CHECK(json.len == strlen(j));
    CHECK(strstr(j, "\"schema\":\"wtfperf.profile\"") != NULL);
    CHECK(strstr(j, "\"version\":1") != NULL);
    CHECK(scope_count(j, "worker") == 400);
    CHECK(scope_count(j, "worker/inner") == 400);
    CHECK(scope_count(j, "handed over") == 1);
    CHECK(scope_count(j, "parse") == 1);
    CHECK(scope_count(j, "by id") == 4);
    CHECK(scope_count(j, "reused-a") == 5);
    CHECK(scope_count(j, "reused-b") == 1);
    CHECK(scope_count(j, "reused-a-longer") == 1);
    CHECK(scope_count(j, "reus") == 1);
    CHECK(scope_count(j, "a name longer than the per-thread name cache") == 1);
    CHECK(scope_count(j, "left open") == -1);
    CHECK(strstr(j, "\"unfinished_scopes\":2") != NULL);
    const char *traces = strstr(j, "\"memory_traces\":[{");
    CHECK(traces != NULL);
    const char *first_name = strstr(traces, "\"name\":\"");
    CHECK(first_name != NULL);
    /* valgrind replaces malloc, so glibc's mallinfo2 sees no growth there. */
    if (!under_valgrind()) CHECK(strncmp(first_name + 8, "parse", 5) == 0);
    wtfperf_buf_free(&json);

    wtfperf_buf trace = {NULL, 0};
    CHECK_STATUS(wtfperf_profile_to_chrome_trace(prof, NULL), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profile_to_chrome_trace(NULL, &trace), WTFPERF_ERR_NULL);
    CHECK_OK(wtfperf_profile_to_chrome_trace(prof, &trace));
    const char *t = (const char *)trace.data;
    CHECK(strstr(t, "\"traceEvents\":[") != NULL);
    CHECK(strstr(t, "\"ph\":\"X\"") != NULL);
    CHECK(strstr(t, "\"ph\":\"C\"") != NULL);
    CHECK(strstr(t, "\"name\":\"parse/alloc\"") != NULL);
    CHECK(strstr(t, "RSS (MB)") != NULL);
    wtfperf_buf_free(&trace);
    wtfperf_profile_free(prof);
    wtfperf_profiler_free(p);
}

static const char *self_path = NULL;

/* The forked worker of test_children: touch `mb` MiB, burn 0.2 s of CPU. */
static int child_main(size_t mb) {
    size_t n = mb << 20;
    char *m = malloc(n);
    if (m == NULL) return 2;
    for (size_t i = 0; i < n; i += 4096) m[i] = 1;
    burn_cpu(0.2);
    int ok = m[n / 2] == 1;
    free(m);
    return ok ? 0 : 3;
}

static void test_children(void) {
    size_t mb = under_valgrind() ? 8 : 64;
    wtfperf_profiler_options o = wtfperf_profiler_options_default();
    o.sample_interval_s = 0.02;
    o.include_children = true;
    wtfperf_profiler *p = NULL;
    CHECK_OK(wtfperf_profiler_new(&o, &p));
    CHECK_OK(wtfperf_profiler_start(p));
    fflush(NULL);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        /* exec, so that under valgrind the child runs natively and alone. */
        char arg[32];
        snprintf(arg, sizeof arg, "%zu", mb);
        execl(self_path, self_path, "--child", arg, (char *)NULL);
        _exit(4);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    wtfperf_profile *prof = NULL;
    CHECK_OK(wtfperf_profiler_stop(p, &prof));
    /* The main thread slept in waitpid: the CPU is the child's. */
    double cpu_s = wtfperf_profile_cpu_time_s(prof);
    double peak = wtfperf_profile_peak_memory_mb(prof);
    printf("forked child: cpu %.3f s, peak %.1f MB\n", cpu_s, peak);
    CHECK(cpu_s >= 0.19);
    CHECK(peak >= (double)mb);
    wtfperf_buf json = {NULL, 0};
    CHECK_OK(wtfperf_profile_to_json(prof, &json));
    CHECK(strstr((const char *)json.data, "\"include_children\":true") != NULL);
    CHECK(strstr((const char *)json.data, "\"peak_source\":\"vmhwm_sampled_children\"") != NULL);
    wtfperf_buf_free(&json);
    wtfperf_profile_free(prof);
    wtfperf_profiler_free(p);
}

static void test_profile_getters_and_manager(void) {
    /* NULL profiles: NAN for figures, 0 / false otherwise. */
    CHECK(isnan(wtfperf_profile_duration_s(NULL)));
    CHECK(isnan(wtfperf_profile_peak_memory_mb(NULL)));
    CHECK(isnan(wtfperf_profile_avg_memory_mb(NULL)));
    CHECK(isnan(wtfperf_profile_avg_cpu_percent(NULL)));
    CHECK(isnan(wtfperf_profile_cpu_time_s(NULL)));
    CHECK(!wtfperf_profile_peak_is_exact(NULL));
    CHECK(wtfperf_profile_sample_count(NULL) == 0);
    wtfperf_sample s;
    CHECK_STATUS(wtfperf_profile_sample(NULL, 0, &s), WTFPERF_ERR_NULL);
    wtfperf_profile_free(NULL);

    wtfperf_profile_manager *m = NULL;
    CHECK_STATUS(wtfperf_profile_manager_new(NULL), WTFPERF_ERR_NULL);
    CHECK_OK(wtfperf_profile_manager_new(&m));

    wtfperf_profiler_options o = wtfperf_profiler_options_default();
    o.sample_interval_s = 0.005;
    wtfperf_profiler *p = NULL;
    CHECK_OK(wtfperf_profiler_new(&o, &p));
    for (int run = 0; run < 3; run++) {
        CHECK_OK(wtfperf_profiler_start(p));
        busy(0.02 * (run + 1));
        wtfperf_profile *prof = NULL;
        CHECK_OK(wtfperf_profiler_stop(p, &prof));
        size_t n = wtfperf_profile_sample_count(prof);
        /* At least the closing sample; valgrind serializes threads, so the
           sampler may not get a turn during a short busy loop. */
        CHECK(n >= 1);
        double prev = 0.0;
        for (size_t i = 0; i < n; i++) {
            CHECK_OK(wtfperf_profile_sample(prof, i, &s));
            CHECK(s.t_s > prev);
            CHECK(s.rss_bytes > 0);
            CHECK(s.cpu_percent >= 0.0);
            prev = s.t_s;
        }
        CHECK_STATUS(wtfperf_profile_sample(prof, n, &s), WTFPERF_ERR_INVALID);
        CHECK_MESSAGE();
        CHECK_STATUS(wtfperf_profile_sample(prof, 0, NULL), WTFPERF_ERR_NULL);
        CHECK(wtfperf_profile_avg_memory_mb(prof) > 0.0);
        CHECK(wtfperf_profile_peak_memory_mb(prof) >= wtfperf_profile_avg_memory_mb(prof) * 0.99);
        CHECK(wtfperf_profile_duration_s(prof) >= 0.02 * (run + 1));
        CHECK_OK(wtfperf_profile_manager_add(m, run == 2 ? "other" : "scan", prof));
        CHECK_STATUS(wtfperf_profile_manager_add(NULL, "scan", prof), WTFPERF_ERR_NULL);
        CHECK_STATUS(wtfperf_profile_manager_add(m, NULL, prof), WTFPERF_ERR_NULL);
        CHECK_STATUS(wtfperf_profile_manager_add(m, "scan", NULL), WTFPERF_ERR_NULL);
        CHECK_STATUS(wtfperf_profile_manager_add(m, "\xfe", prof), WTFPERF_ERR_INVALID);
        wtfperf_profile_free(prof);
    }
    wtfperf_profiler_free(p);

    wtfperf_buf sum = {NULL, 0};
    CHECK_STATUS(wtfperf_profile_manager_summary_json(NULL, &sum), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_profile_manager_summary_json(m, NULL), WTFPERF_ERR_NULL);
    CHECK_OK(wtfperf_profile_manager_summary_json(m, &sum));
    const char *j = (const char *)sum.data;
    CHECK(strstr(j, "\"schema\":\"wtfperf.profile_summary\"") != NULL);
    CHECK(strstr(j, "\"runs\":3") != NULL);
    CHECK(strstr(j, "\"scan\":{\"avg_cpu_percent\":") != NULL);
    CHECK(strstr(j, "\"count\":2") != NULL);
    CHECK(strstr(j, "\"other\":{") != NULL);
    CHECK(strstr(j, "\"count\":1") != NULL);
    CHECK(strstr(j, "\"median\"") != NULL);
    wtfperf_buf_free(&sum);
    wtfperf_profile_manager_free(m);
    wtfperf_profile_manager_free(NULL);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--child") == 0) {
        return child_main((size_t)strtoul(argv[2], NULL, 10));
    }
    self_path = argv[0];
    test_options_and_new();
    test_states_and_null_profiler();
    test_exact_peak();
    test_busy_cpu();
    test_scopes();
    test_children();
    test_profile_getters_and_manager();
    HARNESS_DONE("profiler");
}
