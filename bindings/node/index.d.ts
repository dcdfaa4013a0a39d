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
