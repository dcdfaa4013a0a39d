// TypeScript declarations for the wtfperf Node binding.

/** Status codes of the C API, by name. */
export declare const Status: Readonly<{
  WTFPERF_OK: 0;
  WTFPERF_MISS: 1;
  WTFPERF_ABORTED: 2;
  WTFPERF_ERR_NULL: -1;
  WTFPERF_ERR_INVALID: -2;
  WTFPERF_ERR_IO: -3;
  WTFPERF_ERR_STORE: -4;
  WTFPERF_ERR_STATE: -5;
  WTFPERF_ERR_PANIC: -6;
  WTFPERF_ERR_CALLBACK: -7;
}>;
export type StatusName = keyof typeof Status | 'WTFPERF_UNKNOWN';

/** The name of a status code. */
export declare function statusName(code: number): StatusName;

/**
 * An error reported by libwtfperf, or by the binding for a misuse (a call on a
 * closed handle is WTFPERF_ERR_STATE).
 */
export declare class WtfperfError extends Error {
  readonly name: 'WtfperfError';
  /** Status name, e.g. "WTFPERF_ERR_IO". */
  readonly status: StatusName;
  /** Status number, e.g. -3. */
  readonly code: number;
  /** The C function that failed, when known. */
  readonly function?: string;
}

/** The loaded library's version, e.g. "0.1.0". */
export declare function version(): string;
/** Path (or file name) the library was loaded from. */
export declare const libraryPath: string;
/** Test hook: always throws a WtfperfError with status WTFPERF_ERR_PANIC. */
export declare function debugForcePanic(message?: string | null): never;

/** Something the binding takes as bytes: Buffers/Uint8Arrays as is, strings as UTF-8. */
export type BytesLike = Uint8Array | ArrayBufferView | ArrayBuffer | string;

/**
 * A path argument: a string (passed as UTF-8) or a Buffer/Uint8Array (its
 * exact bytes, for names that are not UTF-8). An embedded NUL is refused
 * (WtfperfError WTFPERF_ERR_INVALID).
 */
export type PathLike = string | Uint8Array;

/**
 * How paths coming from the library are handed over, as in Node's fs:
 * 'utf8' (the default) gives strings (bytes that are not UTF-8 become
 * U+FFFD), 'buffer' gives Buffers holding the exact bytes.
 */
export type PathEncoding = 'utf8' | 'utf-8' | 'buffer';

/** `{ encoding: 'buffer' }`: the option that turns every path handed over into a Buffer. */
export interface BufferEncodingOption {
  encoding: 'buffer';
}

/** Objects owning a native handle. */
export interface Closable {
  /** Releases the native object; calling it again does nothing. */
  close(): void;
  /** True once close() was called. Any other use then throws (WTFPERF_ERR_STATE). */
  readonly closed: boolean;
}

// ---- profiler ----------------------------------------------------------------------------

export interface ProfilerOptions {
  /** Seconds between samples (default 0.1; must be > 0). */
  sampleIntervalS?: number;
  /** Read the heap at every scope enter and exit (default false). */
  traceMemory?: boolean;
  /** Add live descendant processes to RSS and CPU (default false). */
  includeChildren?: boolean;
  /** Timeline points kept, >= 2; the resolution halves when reached (default 65536). */
  maxSamples?: number;
  /** Finished scopes kept as trace events (default 100000). */
  maxScopeEvents?: number;
}

export interface Sample {
  /** Seconds since start. */
  tS: number;
  rssBytes: number;
  /** Percent of one core (two busy cores read 200). */
  cpuPercent: number;
  heapBytes: number;
}

/** Samples RSS, CPU and heap on a native thread between start() and stop(). */
export declare class Profiler implements Closable {
  constructor(opts?: ProfilerOptions);
  start(): this;
  /** Stops sampling; the returned Profile should be closed when done. */
  stop(): Profile;
  /** Whether the profiler is between start() and stop(). */
  readonly running: boolean;
  /** Takes a sample now (recorded in the timeline too); WTFPERF_ERR_STATE when not running. */
  sampleNow(): Sample;
  scopeEnter(name: string): number | bigint;
  scopeExit(token: number | bigint): void;
  /** Interns a scope name; the id is for scopeEnterId() (valid for this profiler's lifetime). */
  scopeId(name: string): number;
  scopeEnterId(id: number): number | bigint;
  /** Runs fn inside a named scope (closed when a returned promise settles). */
  scope<T>(name: string, fn: () => T): T;
  close(): void;
  readonly closed: boolean;
}

/** A finished, immutable profiling run. */
export declare class Profile implements Closable {
  private constructor();
  readonly durationS: number;
  readonly peakMemoryMb: number;
  readonly avgMemoryMb: number;
  readonly avgCpuPercent: number;
  /** CPU seconds (user + system) used between start and stop. */
  readonly cpuTimeS: number;
  /** Whether peakMemoryMb is the kernel's exact high-water mark. */
  readonly peakIsExact: boolean;
  readonly sampleCount: number;
  sample(i: number): Sample;
  samples(): Sample[];
  /** The library's JSON export (timeline, scopes, memory traces), parsed. */
  toJSON(): any;
  toJSONString(): string;
  /** Chrome trace (Perfetto / chrome://tracing) JSON text. */
  toChromeTrace(): string;
  close(): void;
  readonly closed: boolean;
}

/** Collects named runs and summarizes them. */
export declare class ProfileManager implements Closable {
  constructor();
  add(name: string, profile: Profile): this;
  /** The per-name summary, parsed from the library's JSON. */
  summary(): any;
  close(): void;
  readonly closed: boolean;
}

/** Profiles fn (sync or async) with a fresh Profiler. */
export declare function profile<T>(
  fn: () => Promise<T>,
  opts?: ProfilerOptions,
): Promise<{ result: T; profile: Profile }>;
export declare function profile<T>(fn: () => T, opts?: ProfilerOptions): { result: T; profile: Profile };

// ---- cache -------------------------------------------------------------------------------

export interface CacheOptions {
  /** Directory of the persistent SQLite tier; null/absent: memory only. */
  dir?: PathLike | null;
  /** Default 1000. */
  memoryMaxEntries?: number;
  /** Default 3600. */
  memoryTtlS?: number;
  /** Default 86400. */
  persistentTtlS?: number;
  /** Bound of the memory tier in bytes of keys and values, plus 96 bytes of bookkeeping per entry; 0: none. */
  memoryMaxBytes?: number;
  /** Bound of the persistent tier in bytes (LRU eviction to 90%); 0: none. */
  persistentMaxBytes?: number;
  /** Paths inside this existing directory are stored relative to it (a moved checkout still hits). */
  root?: PathLike | null;
  /** How often, at most, reads check for other processes' changes (default 0.01 s). */
  syncIntervalS?: number;
}

export interface EntryOptions {
  /**
   * Bind the entry to this file's content: it is invalid once the file
   * changes. A directory stands for its tree (any file in it changing).
   */
  filePath?: PathLike | null;
  /** Also bind it to these files. */
  deps?: Iterable<PathLike> | null;
  /** Time to live in seconds (< 0 or absent: the cache's default). */
  ttlS?: number | null;
}

export interface CacheStatistics {
  memoryHits: number;
  memoryMisses: number;
  persistentHits: number;
  persistentMisses: number;
  memoryEntries: number;
  persistentEntries: number;
  invalidations: number;
  hitRate: number;
  memoryBytes: number;
  persistentBytes: number;
  sets: number;
  invalidationsFileChanged: number;
  invalidationsDependencyChanged: number;
  invalidationsExpired: number;
  invalidationsEvicted: number;
  invalidationsExplicit: number;
  totalHits: number;
  totalMisses: number;
  totalSets: number;
  totalInvalidations: number;
  totalHitRate: number;
  analysisEntries: number;
  /** A corrupt database was moved aside and replaced at open. */
  recovered: boolean;
}

/** The analysis-result cache (memory LRU over an optional persistent SQLite tier). */
export declare class Cache implements Closable {
  constructor(opts?: CacheOptions);
  static open(opts?: CacheOptions): Cache;
  set(key: BytesLike, value: BytesLike, opts?: EntryOptions): void;
  /** Stores many entries in one transaction (all or nothing). */
  setMany(entries: Iterable<[BytesLike, BytesLike] | [BytesLike, BytesLike, EntryOptions | null | undefined]>): void;
  /** Why the last lookups of key missed: { key, last_reason, misses, stored_in_memory, stored_in_persistent }. */
  explainMiss(key: BytesLike): any;
  /** The stored value, or null on a miss (absent, expired, or its files changed). */
  get(key: BytesLike): Buffer | null;
  invalidate(key: BytesLike): void;
  /** Removes the entries bound to path; returns how many. */
  invalidateFile(path: PathLike): number;
  /**
   * The paths whose content changed since entries were bound to them: each as
   * the caller passed it, or, with `encoding`, all as Buffers ('buffer') or
   * all as strings ('utf8').
   */
  checkFileChanges(paths: Iterable<PathLike>, opts: BufferEncodingOption): Buffer[];
  checkFileChanges(paths: Iterable<PathLike>, opts: { encoding: 'utf8' | 'utf-8' }): string[];
  checkFileChanges<P extends PathLike>(paths: Iterable<P>, opts?: { encoding?: null }): P[];
  cleanupExpired(): number;
  clear(): void;
  stats(): CacheStatistics;
  statsJson(): any;
  close(): void;
  readonly closed: boolean;
}

// ---- scan / analyze ----------------------------------------------------------------------

export interface ScanOptions {
  /** Worker threads; 0 (default): all cores. */
  threads?: number;
  /** Files in flight per worker (default 64). */
  chunkSize?: number;
  /** Larger files are skipped (default 10 MiB). */
  maxFileSize?: number;
  /** Read and hash files (default true). */
  includeContent?: boolean;
  followLinks?: boolean;
  /** Honour .gitignore and friends (default true). */
  respectIgnoreFiles?: boolean;
  includeHidden?: boolean;
  /** Only files matching one of these globs. */
  include?: string[];
  /** Leave out files and directories matching these globs. */
  exclude?: string[];
  /** Deliver files in path order. */
  sorted?: boolean;
  /** Deepest level entered (1: the root's own entries); 0: no limit. */
  maxDepth?: number;
  /** Do not cross into other file systems. */
  sameFileSystem?: boolean;
  /** 'buffer': every path handed to a callback is a Buffer of its exact bytes (default 'utf8': strings). */
  encoding?: PathEncoding | null;
}

/** A file; `P` is string (encoding 'utf8', the default) or Buffer (encoding 'buffer'). */
export interface ScannedFile<P extends string | Buffer = string> {
  /** root joined with relPath. */
  path: P;
  relPath: P;
  size: number;
  mtimeNs: bigint;
  /** XXH3-128, canonical byte order (as `xxhsum -H2` prints); zeros when not read. */
  contentHash: Buffer;
  /** The content (a copy), or null when not read (includeContent false, cached file). */
  content: Buffer | null;
  /** Language guessed from the file name, or null. */
  language: string | null;
  inode: number;
}

export interface Progress {
  filesDone: number;
  /** 0 while unknown. */
  filesTotal: number;
  bytesDone: number;
}

export interface ScanSummary {
  filesSeen: number;
  filesScanned: number;
  filesSkipped: number;
  errors: number;
  bytesRead: number;
  cacheHits: number;
  durationS: number;
  /** A callback asked to stop (onFile returned false). */
  aborted: boolean;
}

export interface ScanCallbacks<P extends string | Buffer = string> {
  /** Return false to stop the scan. */
  onFile?: (file: ScannedFile<P>) => boolean | void;
  /** A file that could not be read (the scan goes on). */
  onError?: (error: WtfperfError, path: P | null) => void;
  onProgress?: (progress: Progress) => void;
}

/**
 * Walks root, reading and hashing files on worker threads; every callback runs
 * on this thread. An exception thrown by a callback stops the scan and is
 * re-thrown after it. With `encoding: 'buffer'` the paths are Buffers.
 */
export declare function scan(
  root: PathLike,
  opts: ScanOptions & BufferEncodingOption,
  callbacks?: ScanCallbacks<Buffer>,
): ScanSummary;
export declare function scan(root: PathLike, opts?: ScanOptions | null, callbacks?: ScanCallbacks): ScanSummary;

/**
 * Returns the file's result (null/undefined: empty), or false when the file
 * could not be analyzed (reported to onError with WTFPERF_ERR_CALLBACK,
 * counted in errors, not cached; the run goes on).
 */
export type AnalyzeFn<P extends string | Buffer = string> = (
  file: ScannedFile<P>,
) => BytesLike | false | null | undefined | void;
export type ResultCallback<P extends string | Buffer = string> = (
  file: ScannedFile<P>,
  result: Buffer,
  cached: boolean,
) => void;

export interface AnalyzeCallbacks<P extends string | Buffer = string> {
  onResult?: ResultCallback<P>;
  onError?: (error: WtfperfError, path: P | null) => void;
  onProgress?: (progress: Progress) => void;
}

/**
 * Incremental analysis: analyzeFn runs only for files whose result is not in
 * the cache; onResult gets every file's result. Exceptions thrown by callbacks
 * stop the run and are re-thrown after it. With `encoding: 'buffer'` the paths
 * (file.path, file.relPath, onError's path) are Buffers.
 */
export declare function analyze(
  root: PathLike,
  opts: ScanOptions & BufferEncodingOption,
  cache: Cache | null,
  analyzerId: string,
  analyzeFn: AnalyzeFn<Buffer>,
  callbacks?: ResultCallback<Buffer> | AnalyzeCallbacks<Buffer>,
): ScanSummary;
export declare function analyze(
  root: PathLike,
  opts: ScanOptions | null | undefined,
  cache: Cache | null,
  analyzerId: string,
  analyzeFn: AnalyzeFn,
  callbacks?: ResultCallback | AnalyzeCallbacks,
): ScanSummary;

// ---- bench -------------------------------------------------------------------------------

export interface BenchOptions {
  /** A real tree to measure; absent: generated projects. */
  project?: PathLike | null;
  /** Highest thread count of the parallel scenarios; 0: all cores. */
  parallel?: number;
  /** Run the analyze scenarios (default true). */
  cache?: boolean;
  fullSuite?: boolean;
  /** Directory the reports are written to; absent: none written. */
  outputDir?: PathLike | null;
  /** Measured runs per scenario (default 5). */
  runs?: number;
  /** Warm-up runs (default 1). */
  warmup?: number;
  /** Comma-separated "md", "json", "html"; absent: all three. */
  formats?: string | null;
  /** Earlier JSON report to compare with. */
  baseline?: PathLike | null;
  seed?: number | bigint;
  /** Files of the generated project; 0: 5000. */
  generateFiles?: number;
  threshold?: number;
  coldPageCache?: boolean;
  sampleIntervalS?: number;
  incrementalFraction?: number;
  /** Directory for generated projects and caches; absent: the system's temporary directory. */
  workDir?: PathLike | null;
}

/** Runs the benchmark suite (blocking) and returns its JSON report, parsed (schema "wtfperf-bench"). */
export declare function benchRun(opts?: BenchOptions): any;
/** Generates a deterministic synthetic project into root; returns the number of files a scan meets. */
export declare function benchGenerate(
  root: PathLike,
  files: number,
  opts?: { seed?: number | bigint; maxFileSize?: number },
): number;
