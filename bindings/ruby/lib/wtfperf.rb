# frozen_string_literal: true

# Ruby binding of libwtfperf (profiler, analysis cache, parallel scan and
# incremental analyze, benchmark suite) over its C ABI, through the `ffi` gem.
# See README.md.
module Wtfperf
end

require_relative "wtfperf/version"
require_relative "wtfperf/error"
require_relative "wtfperf/native"
require_relative "wtfperf/core"
require_relative "wtfperf/handle"
require_relative "wtfperf/bridge"
require_relative "wtfperf/profiler"
require_relative "wtfperf/cache"
require_relative "wtfperf/scan"
require_relative "wtfperf/bench"
