# frozen_string_literal: true

require "json"

module Wtfperf
  module Native
    # struct wtfperf_profiler_options (field order of include/wtfperf.h)
    class ProfilerOptions < FFI::Struct
      layout :sample_interval_s, :double,
             :trace_memory, :bool,
             :include_children, :bool,
             :max_samples, :size_t,
             :max_scope_events, :size_t
    end

    # struct wtfperf_sample
    class Sample < FFI::Struct
      layout :t_s, :double,
             :rss_bytes, :uint64,
             :cpu_percent, :double,
             :heap_bytes, :uint64
    end

    attach_function :wtfperf_profiler_options_default, [], ProfilerOptions.by_value
    attach_function :wtfperf_profiler_new, [ProfilerOptions.by_ref, :pointer], :status
    attach_function :wtfperf_profiler_start, [:pointer], :status
    attach_function :wtfperf_profiler_stop, [:pointer, :pointer], :status, blocking: true
    attach_function :wtfperf_profiler_is_running, [:pointer], :bool
    attach_function :wtfperf_profiler_sample_now, [:pointer, Sample.by_ref], :status
    attach_function :wtfperf_profiler_scope_enter, [:pointer, :pointer, :pointer], :status
    attach_function :wtfperf_profiler_scope_exit, [:pointer, :uint64], :status
    # Interned scope names (newer libraries); Profiler#scope uses them when present.
    SCOPE_IDS = attach_optional(:wtfperf_profiler_scope_id, [:pointer, :pointer, :pointer], :status) &&
                attach_optional(:wtfperf_profiler_scope_enter_id, [:pointer, :uint32, :pointer], :status)
    attach_function :wtfperf_profiler_free, [:pointer], :void, blocking: true
    attach_function :wtfperf_profile_duration_s, [:pointer], :double
    attach_function :wtfperf_profile_peak_memory_mb, [:pointer], :double
    attach_function :wtfperf_profile_avg_memory_mb, [:pointer], :double
    attach_function :wtfperf_profile_avg_cpu_percent, [:pointer], :double
    attach_function :wtfperf_profile_cpu_time_s, [:pointer], :double
    attach_function :wtfperf_profile_peak_is_exact, [:pointer], :bool
    attach_function :wtfperf_profile_sample_count, [:pointer], :size_t
    attach_function :wtfperf_profile_sample, [:pointer, :size_t, Sample.by_ref], :status
    attach_function :wtfperf_profile_to_json, [:pointer, Buf.by_ref], :status
    attach_function :wtfperf_profile_to_chrome_trace, [:pointer, Buf.by_ref], :status
    attach_function :wtfperf_profile_free, [:pointer], :void
    attach_function :wtfperf_profile_manager_new, [:pointer], :status
    attach_function :wtfperf_profile_manager_add, [:pointer, :pointer, :pointer], :status
    attach_function :wtfperf_profile_manager_summary_json, [:pointer, Buf.by_ref], :status
    attach_function :wtfperf_profile_manager_free, [:pointer], :void
  end

  # One point of a profile's timeline: seconds since start, RSS bytes, CPU
  # percent of one core since the previous sample, heap bytes (0 where unknown).
  Sample = Struct.new(:t_s, :rss_bytes, :cpu_percent, :heap_bytes) do
    def self.from_native(native)
      new(native[:t_s], native[:rss_bytes], native[:cpu_percent], native[:heap_bytes])
    end

    def rss_mb
      rss_bytes / 1_048_576.0
    end
  end

  # Samples RSS, CPU and heap on a native thread between #start and #stop,
  # and times named scopes (#scope). May be shared between threads.
  #
  #   profiler = Wtfperf::Profiler.new(sample_interval_s: 0.05)
  #   profiler.start
  #   profiler.scope("parse") { parse_everything }
  #   profile = profiler.stop   # => Wtfperf::Profile
  #
  # Options are the fields of wtfperf_profiler_options: sample_interval_s
  # (default 0.1), trace_memory, include_children, max_samples, max_scope_events.
  class Profiler < Handle
    # Profiles the block with a fresh profiler; returns the Profile (the
    # block's value is dropped: use Profiler#start/#stop to keep both).
    def self.profile(**options, &block)
      profiler = new(**options)
      begin
        profiler.start(&block)
      ensure
        profiler.close
      end
    end

    def initialize(**options)
      native_options = Core.set_fields(Native.wtfperf_profiler_options_default, options, "profiler")
      out = FFI::MemoryPointer.new(:pointer)
      Core.check!(Native.wtfperf_profiler_new(native_options, out))
      super(out.read_pointer, :wtfperf_profiler_free)
      @scope_ids = {} # name => id interned by the library
      @scope_ids_lock = Mutex.new
    end

    # Starts sampling (WTFPERF_ERR_STATE, i.e. Wtfperf::StateError, when running).
    # With a block: runs it, stops, and returns the Profile.
    def start
      with_handle { |ptr| Core.check!(Native.wtfperf_profiler_start(ptr)) }
      return self unless block_given?

      finished = false
      begin
        yield
        finished = true
      ensure
        # the block raised or jumped out: stop, and drop that profile
        stop.close if !finished && running?
      end
      stop
    end

    # Stops sampling and returns the finished Profile.
    def stop
      out = FFI::MemoryPointer.new(:pointer)
      with_handle { |ptr| Core.check!(Native.wtfperf_profiler_stop(ptr, out)) }
      Profile.new(out.read_pointer)
    end

    def running?
      with_handle { |ptr| Native.wtfperf_profiler_is_running(ptr) }
    end

    # Takes a sample now and returns it (a Wtfperf::Sample).
    def sample_now
      sample = Native::Sample.new
      with_handle { |ptr| Core.check!(Native.wtfperf_profiler_sample_now(ptr, sample)) }
      Sample.from_native(sample)
    end

    # Times the block as a scope named `name` (scopes nest; any thread);
    # returns the block's value. When the block raises, its exception
    # propagates even if exiting the scope fails too.
    def scope(name)
      token = enter_scope(name)
      raised = false
      begin
        yield
      rescue Exception # rubocop:disable Lint/RescueException
        raised = true
        raise
      ensure
        if raised
          # The block's exception is the one to report: drop the exit's (it
          # fails e.g. when the block closed the profiler).
          begin
            exit_scope(token)
          rescue StandardError
            nil
          end
        else
          exit_scope(token)
        end
      end
    end

    # Enters a scope without a block; pass the token to #exit_scope.
    def enter_scope(name)
      out = FFI::MemoryPointer.new(:uint64)
      with_handle do |ptr|
        if Native::SCOPE_IDS
          Core.check!(Native.wtfperf_profiler_scope_enter_id(ptr, scope_id(ptr, name.to_s), out))
        else
          Core.check!(Native.wtfperf_profiler_scope_enter(ptr, Core.c_string(name.to_s, "scope name"), out))
        end
      end
      out.read(:uint64)
    end

    def exit_scope(token)
      with_handle { |ptr| Core.check!(Native.wtfperf_profiler_scope_exit(ptr, token)) }
      nil
    end

    private

    # The library's id of a scope name, interned once per profiler.
    def scope_id(ptr, name)
      id = @scope_ids[name]
      return id if id

      out = FFI::MemoryPointer.new(:uint32)
      Core.check!(Native.wtfperf_profiler_scope_id(ptr, Core.c_string(name, "scope name"), out))
      @scope_ids_lock.synchronize { @scope_ids[name.dup.freeze] = out.read(:uint32) }
    end
  end

  # A finished profile (immutable). Its figures are read from the native
  # profile; #close frees it (a finalizer does too, as a backstop).
  class Profile < Handle
    def initialize(pointer)
      super(pointer, :wtfperf_profile_free)
    end

    # Wall-clock seconds from start to stop.
    def duration_s
      figure(:wtfperf_profile_duration_s)
    end
    alias duration duration_s

    # Peak RSS in MB (2^20 bytes); exact when #peak_exact?.
    def peak_memory_mb
      figure(:wtfperf_profile_peak_memory_mb)
    end

    def avg_memory_mb
      figure(:wtfperf_profile_avg_memory_mb)
    end

    # CPU time over wall time, percent of one core.
    def avg_cpu_percent
      figure(:wtfperf_profile_avg_cpu_percent)
    end

    # CPU seconds (user + system) used in the window.
    def cpu_time_s
      figure(:wtfperf_profile_cpu_time_s)
    end

    def peak_exact?
      figure(:wtfperf_profile_peak_is_exact)
    end

    def sample_count
      figure(:wtfperf_profile_sample_count)
    end

    # The timeline as an Array of Wtfperf::Sample.
    def samples
      with_handle do |ptr|
        sample = Native::Sample.new
        Array.new(Native.wtfperf_profile_sample_count(ptr)) do |i|
          Core.check!(Native.wtfperf_profile_sample(ptr, i, sample))
          Sample.from_native(sample)
        end
      end
    end
    alias memory_timeline samples

    # The profile as JSON text (schema wtfperf.profile).
    def to_json(*_args)
      with_handle { |ptr| Core.buf_string { |buf| Native.wtfperf_profile_to_json(ptr, buf) } }
    end

    # The profile as a Hash (parsed #to_json).
    def to_h
      JSON.parse(to_json)
    end

    # Trace Event JSON for Perfetto / chrome://tracing.
    def to_chrome_trace
      with_handle { |ptr| Core.buf_string { |buf| Native.wtfperf_profile_to_chrome_trace(ptr, buf) } }
    end

    private

    def figure(function)
      with_handle { |ptr| Native.public_send(function, ptr) }
    end
  end

  # Named runs and their summary (min / median / max / mean per name).
  class ProfileManager < Handle
    def initialize
      out = FFI::MemoryPointer.new(:pointer)
      Core.check!(Native.wtfperf_profile_manager_new(out))
      super(out.read_pointer, :wtfperf_profile_manager_free)
    end

    # Records the figures of `profile` (a Wtfperf::Profile) as a run named `name`.
    def add(name, profile)
      raise TypeError, "profile must be a Wtfperf::Profile, got #{profile.class}" unless profile.is_a?(Profile)

      with_handle do |ptr|
        profile.send(:with_handle) do |profile_ptr|
          Core.check!(Native.wtfperf_profile_manager_add(ptr, Core.c_string(name.to_s, "run name"), profile_ptr))
        end
      end
      self
    end
    alias add_profile add

    # The summary as JSON text (schema wtfperf.profile_summary).
    def summary_json
      with_handle { |ptr| Core.buf_string { |buf| Native.wtfperf_profile_manager_summary_json(ptr, buf) } }
    end

    # The summary as a Hash.
    def summary
      JSON.parse(summary_json)
    end
  end
end
