/* Bench boundary: options defaults, a tiny real run, the generator, error paths. */
#include "harness.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_root[512];

static void path_in_tmp(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", tmp_root, name);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int main(void) {
    const char *tmpdir = getenv("TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s", tmpdir && tmpdir[0] ? tmpdir : "/tmp");

    /* Defaults. */
    wtfperf_bench_options d = wtfperf_bench_options_default();
    CHECK(d.project == NULL && d.output_dir == NULL && d.formats == NULL && d.baseline == NULL);
    CHECK(d.work_dir == NULL);
    CHECK(d.parallel == 0 && d.cache && !d.full_suite && !d.cold_page_cache);
    CHECK(d.runs == 5 && d.warmup == 1 && d.seed == 42 && d.generate_files == 0);
    CHECK(d.threshold > 0.14 && d.threshold < 0.16);
    CHECK(d.sample_interval_s > 0.0 && d.incremental_fraction > 0.0);

    /* A tiny run that writes every report format. */
    char out_dir[600];
    path_in_tmp(out_dir, sizeof out_dir, "reports");
    wtfperf_bench_options o = wtfperf_bench_options_default();
    o.generate_files = 20;
    o.sample_interval_s = 0.05;
    o.runs = 1;
    o.warmup = 0;
    o.parallel = 2;
    o.output_dir = out_dir;
    o.formats = "md,json,html";
    o.work_dir = tmp_root;
    wtfperf_buf report = {NULL, 0};
    CHECK_OK(wtfperf_bench_run(&o, &report));
    CHECK(report.data != NULL && report.len > 0);
    CHECK(report.data[report.len] == '\0');
    CHECK(strstr((const char *)report.data, "\"schema\": \"wtfperf-bench\"") != NULL);
    CHECK(strstr((const char *)report.data, "\"schema_version\": 1") != NULL);
    CHECK(strstr((const char *)report.data, "\"generated-20\"") != NULL);
    char path[700];
    snprintf(path, sizeof path, "%s/bench-report.json", out_dir);
    CHECK(file_exists(path));
    snprintf(path, sizeof path, "%s/bench-report.md", out_dir);
    CHECK(file_exists(path));
    snprintf(path, sizeof path, "%s/bench-report.html", out_dir);
    CHECK(file_exists(path));

    /* The saved report as a baseline: compared, and no regression against itself
       is not guaranteed on a noisy machine, so only the member is checked. */
    char base[700];
    snprintf(base, sizeof base, "%s/bench-report.json", out_dir);
    wtfperf_bench_options b = o;
    b.output_dir = NULL;
    b.cache = false;
    b.baseline = base;
    wtfperf_buf compared = {NULL, 0};
    CHECK_OK(wtfperf_bench_run(&b, &compared));
    CHECK(strstr((const char *)compared.data, "\"regressions\"") != NULL);
    wtfperf_buf_free(&compared);
    CHECK(compared.data == NULL);
    wtfperf_buf_free(&report);
    CHECK(report.data == NULL && report.len == 0);

    /* Errors: NULL out-param (checked before any work, even with NULL options). */
    CHECK_STATUS(wtfperf_bench_run(NULL, NULL), WTFPERF_ERR_NULL);
    CHECK_MESSAGE();
    CHECK_STATUS(wtfperf_bench_run(&o, NULL), WTFPERF_ERR_NULL);
    wtfperf_buf untouched = {NULL, 0};
    wtfperf_bench_options bad = o;
    bad.output_dir = NULL;
    bad.runs = 0;
    CHECK_STATUS(wtfperf_bench_run(&bad, &untouched), WTFPERF_ERR_INVALID);
    CHECK(strstr(wtfperf_last_error(), "runs") != NULL);
    CHECK(untouched.data == NULL);
    bad = o;
    bad.formats = "md,pdf";
    CHECK_STATUS(wtfperf_bench_run(&bad, &untouched), WTFPERF_ERR_INVALID);
    CHECK(strstr(wtfperf_last_error(), "pdf") != NULL);
    bad = o;
    bad.project = "/nonexistent/wtfperf/project";
    CHECK_STATUS(wtfperf_bench_run(&bad, &untouched), WTFPERF_ERR_IO);
    CHECK(strstr(wtfperf_last_error(), "/nonexistent/wtfperf/project") != NULL);
    bad = o;
    bad.baseline = "/nonexistent/wtfperf/base.json";
    CHECK_STATUS(wtfperf_bench_run(&bad, &untouched), WTFPERF_ERR_IO);
    bad = o;
    bad.project = "";
    CHECK_STATUS(wtfperf_bench_run(&bad, &untouched), WTFPERF_ERR_INVALID);
    bad = o;
    bad.sample_interval_s = 0.0;
    CHECK_STATUS(wtfperf_bench_run(&bad, &untouched), WTFPERF_ERR_INVALID);
    bad = o;
    bad.threshold = 1.0 / 0.0;
    CHECK_STATUS(wtfperf_bench_run(&bad, &untouched), WTFPERF_ERR_INVALID);
    bad = o;
    bad.incremental_fraction = 2.0;
    CHECK_STATUS(wtfperf_bench_run(&bad, &untouched), WTFPERF_ERR_INVALID);
    CHECK(untouched.data == NULL);

    /* Generator: deterministic count, refuses a non-empty root, NULLs. */
    char gen[600];
    path_in_tmp(gen, sizeof gen, "generated");
    uint64_t files = 0;
    CHECK_OK(wtfperf_bench_generate(gen, 30, 7, 4096, &files));
    CHECK(files == 30);
    char gitignore[700];
    snprintf(gitignore, sizeof gitignore, "%s/.gitignore", gen);
    CHECK(file_exists(gitignore));
    CHECK_STATUS(wtfperf_bench_generate(gen, 30, 7, 4096, &files), WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();
    char gen2[600];
    path_in_tmp(gen2, sizeof gen2, "generated2");
    CHECK_OK(wtfperf_bench_generate(gen2, 5, 1, 0, NULL));
    char gen3[600];
    path_in_tmp(gen3, sizeof gen3, "generated3");
    CHECK_STATUS(wtfperf_bench_generate(gen3, 0, 1, 0, &files), WTFPERF_ERR_INVALID);
    /* Files just over a limit past 1 GiB would be built in memory: refused
     * (UINT64_MAX also wrapped around to tiny files). */
    CHECK_STATUS(wtfperf_bench_generate(gen3, 20, 1, UINT64_MAX, &files), WTFPERF_ERR_INVALID);
    CHECK_STATUS(wtfperf_bench_generate(gen3, 20, 1, (1ULL << 30) + 1, &files),
                 WTFPERF_ERR_INVALID);
    CHECK_MESSAGE();
    CHECK_STATUS(wtfperf_bench_generate(NULL, 5, 1, 0, &files), WTFPERF_ERR_NULL);
    CHECK_STATUS(wtfperf_bench_generate("", 5, 1, 0, &files), WTFPERF_ERR_INVALID);

    HARNESS_DONE("bench");
}
