# frozen_string_literal: true

require "json"

module Wtfperf
  module Native
    # struct wtfperf_bench_options
    class BenchOptions < FFI::Struct
      layout :project, :pointer,
             :parallel, :size_t,
             :cache, :bool,
             :full_suite, :bool,
             :output_dir, :pointer,
             :runs, :size_t,
             :warmup, :size_t,
             :formats, :pointer,
             :baseline, :pointer,
             :seed, :uint64,
             :generate_files, :size_t,
             :threshold, :double,
             :cold_page_cache, :bool,
             :sample_interval_s, :double,
             :incremental_fraction, :double,
             :work_dir, :pointer
    end

    attach_function :wtfperf_bench_options_default, [], BenchOptions.by_value
    attach_function :wtfperf_bench_run, [BenchOptions.by_ref, Buf.by_ref], :status, blocking: true
    attach_function :wtfperf_bench_generate, [:pointer, :size_t, :uint64, :uint64, :pointer], :status,
                    blocking: true
  end

  module BenchSupport
    module_function

    STRING_FIELDS = %i[project output_dir formats baseline work_dir].freeze

    # wtfperf_bench_options from keywords named like its fields; string
    # fields take Strings (formats also an Array such as %w[md json]).
    # Returns [struct, keepalive].
    def options(opts)
      native = Native.wtfperf_bench_options_default
      Core.set_fields(native, opts, "bench", skip: STRING_FIELDS)
      keepalive = STRING_FIELDS.filter_map do |field|
        value = opts[field]
        next if value.nil?

        value = value.join(",") if field == :formats && value.is_a?(Array)
        native[field] = Core.c_string(value, field.to_s)
      end
      [native, keepalive]
    end
  end
  private_constant :BenchSupport

  # Runs the benchmark suite (sequential vs parallel vs cached scans) and
  # returns its JSON report (schema "wtfperf-bench") as text. Keywords are
  # the fields of wtfperf_bench_options (project, parallel, cache,
  # full_suite, output_dir, runs, warmup, formats, baseline, seed,
  # generate_files, threshold, ...). Blocks the calling thread (other Ruby
  # threads keep running).
  def self.bench_run_json(**options)
    native, _keepalive = BenchSupport.options(options)
    Core.buf_string { |buf| Native.wtfperf_bench_run(native, buf) }
  end

  # Like bench_run_json, parsed into a Hash.
  def self.bench_run(**options)
    JSON.parse(bench_run_json(**options))
  end

  # Generates a deterministic synthetic project into `root` (which must not
  # exist or be empty); returns the number of files a scan should meet.
  # files, seed and max_file_size must be non-negative Integers in range for
  # their C types (ArgumentError / RangeError, before anything is written).
  def self.bench_generate(root, files:, seed: 42, max_file_size: 0)
    root_ptr = Core.c_string(root, "root")
    files = Core.uint(files, "files", :size_t)
    seed = Core.uint(seed, "seed", :uint64)
    max_file_size = Core.uint(max_file_size, "max_file_size", :uint64)
    out = FFI::MemoryPointer.new(:uint64)
    Core.check!(Native.wtfperf_bench_generate(root_ptr, files, seed, max_file_size, out))
    out.read(:uint64)
  end
end
