// ESM entry point: the same objects as the CommonJS module.
import wtfperf from './index.js';

export const {
  version,
  libraryPath,
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
} = wtfperf;
export default wtfperf;
