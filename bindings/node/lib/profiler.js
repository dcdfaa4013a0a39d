'use strict';
// Profiler, Profile and ProfileManager over wtfperf_profiler_* / wtfperf_profile_*.

const { koffi, declare, check, withBuf, num, uint, toText } = require('./native');
const { NativeHandle } = require('./handle');
const { Status, WtfperfError } = require('./errors');

koffi.opaque('wtfperf_profiler');
koffi.opaque('wtfperf_profile');
koffi.opaque('wtfperf_profile_manager');

// Field order and types exactly as in include/wtfperf.h.
const wtfperf_profiler_options = koffi.struct('wtfperf_profiler_options', {
  sample_interval_s: 'double',
  trace_memory: 'bool',
  include_children: 'bool',
  max_samples: 'size_t',
  max_scope_events: 'size_t',
});
const wtfperf_sample = koffi.struct('wtfperf_sample', {
  t_s: 'double',
  rss_bytes: 'uint64_t',
  cpu_percent: 'double',
  heap_bytes: 'uint64_t',
});

const c = {
  options_default: declare('wtfperf_profiler_options wtfperf_profiler_options_default(void)'),
  new: declare('wtfperf_status wtfperf_profiler_new(const wtfperf_profiler_options *options, _Out_ wtfperf_profiler **out)'),
  start: declare('wtfperf_status wtfperf_profiler_start(wtfperf_profiler *profiler)'),
  stop: declare('wtfperf_status wtfperf_profiler_stop(wtfperf_profiler *profiler, _Out_ wtfperf_profile **out)'),
  is_running: declare('bool wtfperf_profiler_is_running(const wtfperf_profiler *profiler)'),
  sample_now: declare('wtfperf_status wtfperf_profiler_sample_now(wtfperf_profiler *profiler, _Out_ wtfperf_sample *out)'),
  scope_enter: declare('wtfperf_status wtfperf_profiler_scope_enter(wtfperf_profiler *profiler, const char *name, _Out_ uint64_t *out_token)'),
  scope_id: declare('wtfperf_status wtfperf_profiler_scope_id(wtfperf_profiler *profiler, const char *name, _Out_ uint32_t *out_id)'),
  scope_enter_id: declare(
    'wtfperf_status wtfperf_profiler_scope_enter_id(wtfperf_profiler *profiler, uint32_t id, _Out_ uint64_t *out_token)',
  ),
  scope_exit: declare('wtfperf_status wtfperf_profiler_scope_exit(wtfperf_profiler *profiler, uint64_t token)'),
  free: declare('void wtfperf_profiler_free(wtfperf_profiler *profiler)'),
  duration_s: declare('double wtfperf_profile_duration_s(const wtfperf_profile *profile)'),
  peak_memory_mb: declare('double wtfperf_profile_peak_memory_mb(const wtfperf_profile *profile)'),
  avg_memory_mb: declare('double wtfperf_profile_avg_memory_mb(const wtfperf_profile *profile)'),
  avg_cpu_percent: declare('double wtfperf_profile_avg_cpu_percent(const wtfperf_profile *profile)'),
  cpu_time_s: declare('double wtfperf_profile_cpu_time_s(const wtfperf_profile *profile)'),
  peak_is_exact: declare('bool wtfperf_profile_peak_is_exact(const wtfperf_profile *profile)'),
  sample_count: declare('size_t wtfperf_profile_sample_count(const wtfperf_profile *profile)'),
  sample: declare('wtfperf_status wtfperf_profile_sample(const wtfperf_profile *profile, size_t i, _Out_ wtfperf_sample *out)'),
  to_json: declare('wtfperf_status wtfperf_profile_to_json(const wtfperf_profile *profile, _Out_ wtfperf_buf *out)'),
  to_chrome_trace: declare('wtfperf_status wtfperf_profile_to_chrome_trace(const wtfperf_profile *profile, _Out_ wtfperf_buf *out)'),
  profile_free: declare('void wtfperf_profile_free(wtfperf_profile *profile)'),
  manager_new: declare('wtfperf_status wtfperf_profile_manager_new(_Out_ wtfperf_profile_manager **out)'),
  manager_add: declare('wtfperf_status wtfperf_profile_manager_add(wtfperf_profile_manager *manager, const char *name, const wtfperf_profile *profile)'),
  manager_summary_json: declare('wtfperf_status wtfperf_profile_manager_summary_json(const wtfperf_profile_manager *manager, _Out_ wtfperf_buf *out)'),
  manager_free: declare('void wtfperf_profile_manager_free(wtfperf_profile_manager *manager)'),
};

/** Options struct from the library's defaults, with the given fields set. */
function profilerOptions(opts = {}) {
  const o = c.options_default();
  if (opts.sampleIntervalS !== undefined) o.sample_interval_s = opts.sampleIntervalS;
  if (opts.traceMemory !== undefined) o.trace_memory = Boolean(opts.traceMemory);
  if (opts.includeChildren !== undefined) o.include_children = Boolean(opts.includeChildren);
  if (opts.maxSamples !== undefined) o.max_samples = uint(opts.maxSamples, 'maxSamples');
  if (opts.maxScopeEvents !== undefined) o.max_scope_events = uint(opts.maxScopeEvents, 'maxScopeEvents');
  return o;
}

function isPromiseLike(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
}

/**
 * Samples the process's RSS, CPU and heap on a native thread between start()
 * and stop(), and times named scopes. May be used from any JS code; scopes
 * may nest.
 */
class Profiler extends NativeHandle {
  /** @param {{sampleIntervalS?: number, traceMemory?: boolean}} [opts] */
  constructor(opts = {}) {
    const out = [null];
    check(c.new(profilerOptions(opts), out), 'wtfperf_profiler_new');
    super(out[0], c.free, 'Profiler');
  }

  /** Starts sampling. Throws WTFPERF_ERR_STATE when already running. */
  start() {
    check(c.start(this._ptr), 'wtfperf_profiler_start');
    return this;
  }

  /** Stops sampling and returns the finished Profile (close it when done). */
  stop() {
    const out = [null];
    check(c.stop(this._ptr, out), 'wtfperf_profiler_stop');
    return new Profile(out[0]);
  }

  /** Whether the profiler is between start() and stop(). */
  get running() {
    return c.is_running(this._ptr);
  }

  /** Takes a sample now (recorded in the timeline too). Throws WTFPERF_ERR_STATE when not running. */
  sampleNow() {
    const out = {};
    check(c.sample_now(this._ptr, out), 'wtfperf_profiler_sample_now');
    return fromSample(out);
  }

  /** Opens a named scope; returns the token to pass to scopeExit(). */
  scopeEnter(name) {
    const out = [0];
    check(c.scope_enter(this._ptr, toText(name, 'name'), out), 'wtfperf_profiler_scope_enter');
    return out[0];
  }

  /**
   * Interns a scope name once and returns its id for scopeEnterId() (valid
   * for this profiler's lifetime, running or not): hot loops skip the name
   * lookup.
   */
  scopeId(name) {
    const out = [0];
    check(c.scope_id(this._ptr, toText(name, 'name'), out), 'wtfperf_profiler_scope_id');
    return out[0];
  }

  /** Opens a scope by an id from scopeId(); returns the token for scopeExit(). */
  scopeEnterId(id) {
    // A uint32_t: koffi would wrap id + 2**32 around to id.
    if (uint(id, 'id') > 0xffffffff) throw new RangeError(`id must be below 2^32, got ${id}`);
    const out = [0];
    check(c.scope_enter_id(this._ptr, id, out), 'wtfperf_profiler_scope_enter_id');
    return out[0];
  }

  /** Closes the scope opened with `token`. */
  scopeExit(token) {
    check(c.scope_exit(this._ptr, uint(token, 'token')), 'wtfperf_profiler_scope_exit');
  }

  /**
   * Runs `fn` inside a named scope and returns its result. When `fn`
   * returns a promise, the scope closes when it settles. When `fn` throws
   * or rejects, that error propagates even if closing the scope fails too.
   */
  scope(name, fn) {
    const token = this.scopeEnter(name);
    // After a failed body: the body's error is the one to report (the exit
    // fails e.g. when the body closed the profiler), so drop the exit's.
    const exitAfterError = () => {
      try {
        this.scopeExit(token);
      } catch {
        // the body's error propagates instead
      }
    };
    let result;
    try {
      result = fn();
    } catch (e) {
      exitAfterError();
      throw e;
    }
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then(
        (value) => {
          this.scopeExit(token);
          return value;
        },
        (e) => {
          exitAfterError();
          throw e;
        },
      );
    }
    this.scopeExit(token);
    return result;
  }
}

function fromSample(s) {
  return { tS: s.t_s, rssBytes: num(s.rss_bytes), cpuPercent: s.cpu_percent, heapBytes: num(s.heap_bytes) };
}

/** A finished, immutable profiling run. */
class Profile extends NativeHandle {
  /** @internal */
  constructor(ptr) {
    super(ptr, c.profile_free, 'Profile');
  }

  /** Wall time between start and stop, in seconds. */
  get durationS() {
    return c.duration_s(this._ptr);
  }
  /** Peak resident set size, in MB. */
  get peakMemoryMb() {
    return c.peak_memory_mb(this._ptr);
  }
  /** Mean resident set size over the samples, in MB. */
  get avgMemoryMb() {
    return c.avg_memory_mb(this._ptr);
  }
  /** Mean CPU use, percent of one core (two busy cores read 200). */
  get avgCpuPercent() {
    return c.avg_cpu_percent(this._ptr);
  }
  /** CPU seconds (user + system) the process used between start and stop. */
  get cpuTimeS() {
    return c.cpu_time_s(this._ptr);
  }
  /** Whether peakMemoryMb is the kernel's exact high-water mark (else the largest sample). */
  get peakIsExact() {
    return c.peak_is_exact(this._ptr);
  }
  /** Number of timeline samples. */
  get sampleCount() {
    return num(c.sample_count(this._ptr));
  }

  /** Sample `i` of the timeline: `{ tS, rssBytes, cpuPercent, heapBytes }`. */
  sample(i) {
    const out = {};
    check(c.sample(this._ptr, uint(i, 'i'), out), 'wtfperf_profile_sample');
    return fromSample(out);
  }

  /** The whole timeline. */
  samples() {
    const n = this.sampleCount;
    const all = new Array(n);
    for (let i = 0; i < n; i++) all[i] = this.sample(i);
    return all;
  }

  /** The library's JSON export (timeline, scopes, memory traces), parsed. */
  toJSON() {
    return JSON.parse(this.toJSONString());
  }

  /** The library's JSON export as text. */
  toJSONString() {
    return withBuf((out) => c.to_json(this._ptr, out), 'wtfperf_profile_to_json').bytes.toString('utf8');
  }

  /** A Chrome trace (Perfetto / chrome://tracing) as JSON text. */
  toChromeTrace() {
    return withBuf((out) => c.to_chrome_trace(this._ptr, out), 'wtfperf_profile_to_chrome_trace').bytes.toString(
      'utf8',
    );
  }
}

/** Collects named runs and summarizes them. */
class ProfileManager extends NativeHandle {
  constructor() {
    const out = [null];
    check(c.manager_new(out), 'wtfperf_profile_manager_new');
    super(out[0], c.manager_free, 'ProfileManager');
  }

  /** Adds a run under `name` (the profile's figures are copied; it may be closed after). */
  add(name, profile) {
    if (!(profile instanceof Profile)) throw new TypeError('profile must be a Profile');
    check(c.manager_add(this._ptr, toText(name, 'name'), profile._ptr), 'wtfperf_profile_manager_add');
    return this;
  }

  /** The summary per name, parsed from the library's JSON. */
  summary() {
    return JSON.parse(
      withBuf((out) => c.manager_summary_json(this._ptr, out), 'wtfperf_profile_manager_summary_json').bytes.toString(
        'utf8',
      ),
    );
  }
}

/**
 * Profiles `fn` (sync or async): returns `{ result, profile }`, or a promise
 * of it when `fn` returns a promise. If `fn` throws, the profiler is stopped
 * and the error re-thrown.
 */
function profile(fn, opts = {}) {
  const profiler = new Profiler(opts);
  const finish = () => {
    try {
      return profiler.stop();
    } finally {
      profiler.close();
    }
  };
  profiler.start();
  let result;
  try {
    result = fn();
  } catch (e) {
    finish().close();
    throw e;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => ({ result: value, profile: finish() }),
      (e) => {
        finish().close();
        throw e;
      },
    );
  }
  return { result, profile: finish() };
}

module.exports = { Profiler, Profile, ProfileManager, profile, profilerOptions, types: { wtfperf_profiler_options, wtfperf_sample } };
