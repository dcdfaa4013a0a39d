'use strict';
// wtfperf for Node: a thin, safe wrapper over libwtfperf's C ABI (through koffi).

const native = require('./lib/native');
const { Status, statusName, WtfperfError } = require('./lib/errors');
const { Profiler, Profile, ProfileManager, profile } = require('./lib/profiler');
const { Cache } = require('./lib/cache');
const { scan, analyze } = require('./lib/scan');
const { benchRun, benchGenerate } = require('./lib/bench');

/** The loaded library's version string, e.g. "0.1.0". */
function version() {
  return native.libraryVersion;
}

/**
 * Test hook: makes the library panic inside its panic guard. Always throws a
 * WtfperfError with status WTFPERF_ERR_PANIC whose message contains `message`.
 */
function debugForcePanic(message = null) {
  const text = message === null || message === undefined ? null : native.toText(message, 'message');
  native.check(native.core.debug_force_panic(text), 'wtfperf_debug_force_panic');
}

module.exports = {
  version,
  libraryPath: native.libraryPath,
  Status,
  statusName,
  WtfperfError,
  debugForcePanic,
  Profiler,
  Profile,
  ProfileManager,
  profile,
  Cache,
  scan,
  analyze,
  benchRun,
  benchGenerate,
};
