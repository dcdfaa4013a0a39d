'use strict';

/** Status codes of the C API (`wtfperf_status`), by name. Never renumbered. */
const Status = Object.freeze({
  WTFPERF_OK: 0,
  WTFPERF_MISS: 1,
  WTFPERF_ABORTED: 2,
  WTFPERF_ERR_NULL: -1,
  WTFPERF_ERR_INVALID: -2,
  WTFPERF_ERR_IO: -3,
  WTFPERF_ERR_STORE: -4,
  WTFPERF_ERR_STATE: -5,
  WTFPERF_ERR_PANIC: -6,
  WTFPERF_ERR_CALLBACK: -7,
});

const NAMES = new Map(Object.entries(Status).map(([name, code]) => [code, name]));

/** The name of a status code ("WTFPERF_UNKNOWN" for codes this binding does not know). */
function statusName(code) {
  return NAMES.get(code) ?? 'WTFPERF_UNKNOWN';
}

/**
 * An error reported by libwtfperf (or by this binding about a misuse, such as a
 * call on a closed handle).
 *
 * `status` is the status name ("WTFPERF_ERR_IO"), `code` its number (-3),
 * `message` the library's message for the failing call, read on the same
 * thread right after it returned.
 */
class WtfperfError extends Error {
  constructor(code, message, fn) {
    const status = statusName(code);
    super(message || status);
    this.name = 'WtfperfError';
    this.code = code;
    this.status = status;
    if (fn !== undefined) this.function = fn;
  }
}

module.exports = { Status, statusName, WtfperfError };
