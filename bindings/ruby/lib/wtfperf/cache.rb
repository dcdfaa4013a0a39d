# frozen_string_literal: true

require "json"

module Wtfperf
  module Native
    # struct wtfperf_cache_options
    class CacheOptions < FFI::Struct
      layout :dir, :pointer,
             :memory_max_entries, :size_t,
             :memory_ttl_s, :double,
             :persistent_ttl_s, :double,
             :memory_max_bytes, :uint64,
             :persistent_max_bytes, :uint64,
             :root, :pointer,
             :sync_interval_s, :double
    end

    # struct wtfperf_entry_options
    class EntryOptions < FFI::Struct
      layout :file_path, :pointer,
             :deps, :pointer,
             :deps_len, :size_t,
             :ttl_s, :double
    end

    # struct wtfperf_cache_statistics
    class CacheStatistics < FFI::Struct
      layout :memory_hits, :uint64,
             :memory_misses, :uint64,
             :persistent_hits, :uint64,
             :persistent_misses, :uint64,
             :memory_entries, :uint64,
             :persistent_entries, :uint64,
             :invalidations, :uint64,
             :hit_rate, :double,
             :memory_bytes, :uint64,
             :persistent_bytes, :uint64,
             :sets, :uint64,
             :invalidations_file_changed, :uint64,
             :invalidations_dependency_changed, :uint64,
             :invalidations_expired, :uint64,
             :invalidations_evicted, :uint64,
             :invalidations_explicit, :uint64,
             :total_hits, :uint64,
             :total_misses, :uint64,
             :total_sets, :uint64,
             :total_invalidations, :uint64,
             :total_hit_rate, :double,
             :analysis_entries, :uint64,
             :recovered, :bool
    end

    callback :wtfperf_path_cb, [:pointer, :pointer], :void

    attach_function :wtfperf_cache_options_default, [], CacheOptions.by_value
    attach_function :wtfperf_entry_options_default, [], EntryOptions.by_value
    attach_function :wtfperf_cache_open, [CacheOptions.by_ref, :pointer], :status, blocking: true
    attach_function :wtfperf_cache_close, [:pointer], :void, blocking: true
    attach_function :wtfperf_cache_set, [:pointer, :pointer, :size_t, :pointer, :size_t, EntryOptions.by_ref],
                    :status, blocking: true
    attach_function :wtfperf_cache_set_many, [:pointer, :pointer, :pointer, :pointer, :pointer, :pointer, :size_t],
                    :status, blocking: true
    attach_function :wtfperf_cache_explain_miss, [:pointer, :pointer, :size_t, Buf.by_ref], :status
    attach_function :wtfperf_cache_get, [:pointer, :pointer, :size_t, Buf.by_ref], :status, blocking: true
    attach_function :wtfperf_cache_invalidate, [:pointer, :pointer, :size_t], :status, blocking: true
    attach_function :wtfperf_cache_invalidate_file, [:pointer, :pointer, :pointer], :status, blocking: true
    attach_function :wtfperf_cache_check_file_changes,
                    [:pointer, :pointer, :size_t, :wtfperf_path_cb, :pointer, :pointer], :status
    attach_function :wtfperf_cache_cleanup_expired, [:pointer, :pointer], :status, blocking: true
    attach_function :wtfperf_cache_clear, [:pointer], :status, blocking: true
    attach_function :wtfperf_cache_stats, [:pointer, CacheStatistics.by_ref], :status
    attach_function :wtfperf_cache_stats_json, [:pointer, Buf.by_ref], :status
  end

  # Counters of a cache (Cache#stats).
  CacheStats = Struct.new(*Native::CacheStatistics.members) do
    def self.from_native(native)
      new(*Native::CacheStatistics.members.map { |m| native[m] })
    end
  end

  # An analysis-result cache: an in-memory LRU tier with TTL over a
  # persistent SQLite tier (when `dir` is given). Entries may be bound to a
  # file's content and to dependency files, and are invalidated when those
  # change. Keys and values are byte strings (values come back binary).
  #
  # A Cache may be shared between threads, and several processes may open
  # the same directory. Close it with #close (or use the block form of
  # ::open); a finalizer closes a forgotten one.
  #
  #   Wtfperf::Cache.open(dir: ".wtfperf-cache") do |cache|
  #     cache.set("lint:a.rb", "[]", file_path: "a.rb")
  #     cache.get("lint:a.rb")   # => "[]", or nil once a.rb changed
  #   end
  class Cache < Handle
    STRING_OPTIONS = %i[dir root].freeze
    private_constant :STRING_OPTIONS

    # Opens a cache. Options are the fields of wtfperf_cache_options: dir
    # (nil: memory only), memory_max_entries (1000), memory_ttl_s (3600),
    # persistent_ttl_s (86400), memory_max_bytes, persistent_max_bytes (0:
    # no bound), root (paths inside it are stored relative to it),
    # sync_interval_s (how stale, at most, a memory copy may be when another
    # process changed the database; default 0.01). With a
    # block, yields the cache, closes it afterwards and returns the block's
    # value.
    def self.open(**options)
      cache = new(**options)
      return cache unless block_given?

      begin
        yield cache
      ensure
        cache.close
      end
    end

    def initialize(**options)
      native_options = Native.wtfperf_cache_options_default
      Core.set_fields(native_options, options, "cache", skip: STRING_OPTIONS)
      _keepalive = STRING_OPTIONS.filter_map do |field|
        str = Core.opt_c_string(options[field], field.to_s)
        native_options[field] = str if str
      end
      out = FFI::MemoryPointer.new(:pointer)
      Core.check!(Native.wtfperf_cache_open(native_options, out))
      super(out.read_pointer, :wtfperf_cache_close)
    end

    # Stores `value` under `key` (both Strings, taken as bytes). The entry is
    # committed when this returns. file_path: binds it to that file's
    # content (a directory: to its whole tree); deps: paths it also depends
    # on; ttl_s: seconds to live (nil
    # or negative: the cache's default).
    def set(key, value, file_path: nil, deps: nil, ttl_s: nil)
      key_ptr, key_len = Core.bytes_ptr(Core.bytes(key, "key"))
      value_ptr, value_len = Core.bytes_ptr(Core.bytes(value, "value"))
      entry, _keepalive = entry_options(file_path, deps, ttl_s)
      with_handle do |ptr|
        Core.check!(Native.wtfperf_cache_set(ptr, key_ptr, key_len, value_ptr, value_len, entry))
      end
      self
    end

    # Stores many entries in one transaction (all or nothing); much faster
    # than #set in a loop. `entries` is a Hash { key => value } or an Array
    # of [key, value] or [key, value, { file_path:, deps:, ttl_s: }].
    def set_many(entries)
      rows = entries.map do |row|
        row = [row] unless row.is_a?(Array)
        unless row.size.between?(2, 3) && (row[2].nil? || row[2].is_a?(Hash))
          raise ArgumentError, "set_many: each entry must be [key, value] or [key, value, {file_path:, deps:, ttl_s:}], " \
                               "got #{row.inspect[0, 100]}"
        end

        key, value, opts = row
        opts ||= {}
        unknown = opts.keys - %i[file_path deps ttl_s]
        raise ArgumentError, "unknown entry option(s) #{unknown.join(', ')}" unless unknown.empty?

        [Core.bytes(key, "key"), Core.bytes(value, "value"), opts]
      end
      return self if rows.empty?

      keepalive = []
      arrays = [0, 1].map do |col|
        pointers = FFI::MemoryPointer.new(:pointer, rows.size)
        lengths = FFI::MemoryPointer.new(:size_t, rows.size)
        rows.each_with_index do |row, i|
          ptr, len = Core.bytes_ptr(row[col])
          keepalive << ptr
          pointers.put_pointer(i * FFI::Pointer.size, ptr)
          lengths.put(:size_t, i * FFI.type_size(:size_t), len)
        end
        [pointers, lengths]
      end
      options = FFI::MemoryPointer.new(:pointer, rows.size)
      rows.each_with_index do |(_key, _value, opts), i|
        next if opts.empty?

        entry, keep = entry_options(opts[:file_path], opts[:deps], opts[:ttl_s])
        keepalive << entry << keep
        options.put_pointer(i * FFI::Pointer.size, entry.to_ptr)
      end
      (keys, key_lens), (values, value_lens) = arrays
      with_handle do |ptr|
        Core.check!(Native.wtfperf_cache_set_many(ptr, keys, key_lens, values, value_lens, options, rows.size))
      end
      self
    end

    # Why the last lookups of `key` missed, as a Hash (last_reason, misses,
    # stored_in_memory, stored_in_persistent).
    def explain_miss(key)
      key_ptr, key_len = Core.bytes_ptr(Core.bytes(key, "key"))
      JSON.parse(with_handle do |ptr|
        Core.buf_string { |buf| Native.wtfperf_cache_explain_miss(ptr, key_ptr, key_len, buf) }
      end)
    end

    # The value stored under `key` (a binary String), or nil when the cache
    # has no valid entry (missing, expired, or its file/deps changed).
    def get(key)
      key_ptr, key_len = Core.bytes_ptr(Core.bytes(key, "key"))
      with_handle do |ptr|
        _status, bytes = Core.with_buf { |buf| Native.wtfperf_cache_get(ptr, key_ptr, key_len, buf) }
        bytes
      end
    end

    def [](key)
      get(key)
    end

    def []=(key, value)
      set(key, value)
    end

    # Removes the entry of `key` (whether or not it existed).
    def invalidate(key)
      key_ptr, key_len = Core.bytes_ptr(Core.bytes(key, "key"))
      with_handle { |ptr| Core.check!(Native.wtfperf_cache_invalidate(ptr, key_ptr, key_len)) }
      self
    end
    alias delete invalidate

    # Removes every entry bound to `path` or depending on it; returns how many.
    def invalidate_file(path)
      out = FFI::MemoryPointer.new(:size_t)
      with_handle do |ptr|
        Core.check!(Native.wtfperf_cache_invalidate_file(ptr, Core.c_string(path, "path"), out))
      end
      out.read(:size_t)
    end

    # Which of `paths` changed since they were last recorded (by a previous
    # call, or else by the entries bound to or depending on them); a path
    # never recorded counts as changed when it exists. Records the current
    # state for the next call. Returns the changed paths as given; with a
    # block, also yields each one (after the native call).
    def check_file_changes(paths)
      array, count, _keepalive = Core.c_string_array(paths, "paths")
      changed = []
      # Only appends (no user code runs inside the native call); the block
      # is called after it returns.
      collect = proc { |_userdata, path| changed << Core.read_c_string(path) }
      out = FFI::MemoryPointer.new(:size_t)
      with_handle do |ptr|
        Core.check!(Native.wtfperf_cache_check_file_changes(ptr, array, count, collect, nil, out))
      end
      changed.each { |path| yield path } if block_given?
      changed
    end

    # Removes expired entries from both tiers; returns how many.
    def cleanup_expired
      out = FFI::MemoryPointer.new(:size_t)
      with_handle { |ptr| Core.check!(Native.wtfperf_cache_cleanup_expired(ptr, out)) }
      out.read(:size_t)
    end

    # Removes every entry from both tiers.
    def clear
      with_handle { |ptr| Core.check!(Native.wtfperf_cache_clear(ptr)) }
      self
    end

    # The counters (a Wtfperf::CacheStats with the fields of
    # wtfperf_cache_statistics: memory_hits, memory_misses, persistent_hits,
    # persistent_misses, memory_entries, persistent_entries, invalidations,
    # hit_rate, memory_bytes, ..., total_hit_rate, analysis_entries, recovered).
    def stats
      native = Native::CacheStatistics.new
      with_handle { |ptr| Core.check!(Native.wtfperf_cache_stats(ptr, native)) }
      CacheStats.from_native(native)
    end

    # The library's statistics document as JSON text.
    def stats_json
      with_handle { |ptr| Core.buf_string { |buf| Native.wtfperf_cache_stats_json(ptr, buf) } }
    end

    # #stats_json parsed into a Hash.
    def stats_hash
      JSON.parse(stats_json)
    end
  
    private

    # A wtfperf_entry_options and what must stay alive while it is used.
    def entry_options(file_path, deps, ttl_s)
      entry = Native.wtfperf_entry_options_default
      file = Core.opt_c_string(file_path, "file_path")
      entry[:file_path] = file if file
      deps_array, deps_len, keepalive = Core.c_string_array(deps, "deps")
      entry[:deps] = deps_array if deps_array
      entry[:deps_len] = deps_len
      entry[:ttl_s] = Float(ttl_s) unless ttl_s.nil?
      [entry, [file, keepalive]]
    end
  end
end
