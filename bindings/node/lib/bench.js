'use strict';
// The benchmark suite (wtfperf_bench_run) and its project generator.

const { koffi, declare, check, withBuf, num, toPath, toText, uint } = require('./native');

// Field order and types exactly as in include/wtfperf.h.
const wtfperf_bench_options = koffi.struct('wtfperf_bench_options', {
  project: 'const char *',
  parallel: 'size_t',
  cache: 'bool',
  full_suite: 'bool',
  output_dir: 'const char *',
  runs: 'size_t',
  warmup: 'size_t',
  formats: 'const char *',
  baseline: 'const char *',
  seed: 'uint64_t',
  generate_files: 'size_t',
  threshold: 'double',
  cold_page_cache: 'bool',
  sample_interval_s: 'double',
  incremental_fraction: 'double',
  work_dir: 'const char *',
});

const c = {
  options_default: declare('wtfperf_bench_options wtfperf_bench_options_default(void)'),
  run: declare('wtfperf_status wtfperf_bench_run(const wtfperf_bench_options *options, _Out_ wtfperf_buf *json_report)'),
  generate: declare(
    'wtfperf_status wtfperf_bench_generate(const char *root, size_t files, uint64_t seed, uint64_t max_file_size, _Out_ uint64_t *out_files)',
  ),
};

const FIELDS = {
  project: 'project',
  parallel: 'parallel',
  cache: 'cache',
  fullSuite: 'full_suite',
  outputDir: 'output_dir',
  runs: 'runs',
  warmup: 'warmup',
  formats: 'formats',
  baseline: 'baseline',
  seed: 'seed',
  generateFiles: 'generate_files',
  threshold: 'threshold',
  coldPageCache: 'cold_page_cache',
  sampleIntervalS: 'sample_interval_s',
  incrementalFraction: 'incremental_fraction',
  workDir: 'work_dir',
};
const STRINGS = new Set(['formats']);
// size_t / uint64_t fields (the rest of the numbers are doubles).
const INTEGERS = new Set(['parallel', 'runs', 'warmup', 'seed', 'generate_files']);
// Paths: strings or Buffers/Uint8Arrays (their exact bytes).
const PATHS = new Set(['project', 'output_dir', 'baseline', 'work_dir']);

/** Options struct from the library's defaults, with the given fields set. */
function benchOptions(opts = {}) {
  const o = c.options_default();
  for (const [js, field] of Object.entries(FIELDS)) {
    const v = opts[js];
    if (v === undefined) continue;
    if (STRINGS.has(field)) o[field] = v === null ? null : toText(v, js);
    else if (PATHS.has(field)) o[field] = v === null ? null : toPath(v, js);
    else if (typeof o[field] === 'boolean') o[field] = Boolean(v);
    else if (INTEGERS.has(field)) o[field] = uint(v, js);
    else o[field] = v;
  }
  return o;
}

/**
 * Runs the benchmark suite (blocking; about a minute with the defaults) and
 * returns its JSON report, parsed (schema "wtfperf-bench" version 1, see
 * docs/bench-schema.md).
 */
function benchRun(opts = {}) {
  const { bytes } = withBuf((out) => c.run(benchOptions(opts), out), 'wtfperf_bench_run');
  return JSON.parse(bytes.toString('utf8'));
}

/**
 * Generates a deterministic synthetic project into `root` (missing or
 * empty; a string or a Buffer/Uint8Array) with `files` files a scan should
 * meet; returns that number.
 */
function benchGenerate(root, files, { seed = 42, maxFileSize = 0 } = {}) {
  const out = [0];
  const args = [uint(files, 'files'), uint(seed, 'seed'), uint(maxFileSize, 'maxFileSize')];
  check(c.generate(toPath(root, 'root'), ...args, out), 'wtfperf_bench_generate');
  return num(out[0]);
}

module.exports = { benchRun, benchGenerate, benchOptions, types: { wtfperf_bench_options } };
