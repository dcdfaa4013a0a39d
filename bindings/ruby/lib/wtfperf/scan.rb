# frozen_string_literal: true

module Wtfperf
  module Native
    # struct wtfperf_scan_options
    class ScanOptions < FFI::Struct
      layout :threads, :size_t,
             :chunk_size, :size_t,
             :max_file_size, :uint64,
             :include_content, :bool,
             :follow_links, :bool,
             :respect_ignore_files, :bool,
             :include_hidden, :bool,
             :include_globs, :pointer,
             :include_globs_len, :size_t,
             :exclude_globs, :pointer,
             :exclude_globs_len, :size_t,
             :callbacks_parallel, :bool,
             :sorted, :bool,
             :max_depth, :size_t,
             :same_file_system, :bool
    end

    # struct wtfperf_file
    class File < FFI::Struct
      layout :path, :pointer,
             :rel_path, :pointer,
             :size, :uint64,
             :mtime_ns, :int64,
             :content_hash, [:uint8, 16],
             :content, :pointer,
             :content_len, :size_t,
             :language, :pointer,
             :inode, :uint64
    end

    # struct wtfperf_progress
    class Progress < FFI::Struct
      layout :files_done, :uint64,
             :files_total, :uint64,
             :bytes_done, :uint64
    end

    # struct wtfperf_scan_summary
    class ScanSummary < FFI::Struct
      layout :files_seen, :uint64,
             :files_scanned, :uint64,
             :files_skipped, :uint64,
             :errors, :uint64,
             :bytes_read, :uint64,
             :cache_hits, :uint64,
             :duration_s, :double
    end

    callback :wtfperf_file_cb, [:pointer, :pointer], :int32
    callback :wtfperf_error_cb, [:pointer, :pointer, :int32, :pointer], :void
    callback :wtfperf_progress_cb, [:pointer, :pointer], :void
    callback :wtfperf_analyze_fn, [:pointer, :pointer, :pointer], :int32
    callback :wtfperf_result_cb, [:pointer, :pointer, :pointer, :size_t, :bool], :void

    # struct wtfperf_scan_callbacks
    class ScanCallbacks < FFI::Struct
      layout :on_file, :wtfperf_file_cb,
             :on_error, :wtfperf_error_cb,
             :on_progress, :wtfperf_progress_cb,
             :userdata, :pointer
    end

    # struct wtfperf_analyze_callbacks
    class AnalyzeCallbacks < FFI::Struct
      layout :analyze, :wtfperf_analyze_fn,
             :on_result, :wtfperf_result_cb,
             :on_error, :wtfperf_error_cb,
             :on_progress, :wtfperf_progress_cb,
             :userdata, :pointer
    end

    attach_function :wtfperf_scan_options_default, [], ScanOptions.by_value
    attach_function :wtfperf_scan, [:pointer, ScanOptions.by_ref, ScanCallbacks.by_ref, ScanSummary.by_ref], :status
    attach_function :wtfperf_sink_write, [:pointer, :pointer, :size_t], :status
    attach_function :wtfperf_analyze_with,
                    [:pointer, ScanOptions.by_ref, :pointer, :pointer, AnalyzeCallbacks.by_ref, ScanSummary.by_ref],
                    :status
  end

  # A file handed to a scan or analyze block. Everything is copied out of
  # the native call, so the object stays valid after the block.
  #
  # path: root joined with rel_path; rel_path: relative to the root; size
  # and mtime_ns from stat; content_hash: XXH3-128, 16 bytes in canonical
  # order (#hash_hex as `xxhsum -H2` prints it; all zero when content was not
  # read); content: the bytes (binary String), nil when not read (and for
  # cached files in analyze); language: detected language name or nil.
  ScannedFile = Struct.new(:path, :rel_path, :size, :mtime_ns, :content_hash, :content, :language, :inode) do
    def self.from_native(pointer)
      native = Native::File.new(pointer)
      content_ptr = native[:content]
      content = content_ptr.null? ? nil : content_ptr.read_bytes(native[:content_len])
      new(Core.read_c_string(native[:path]), Core.read_c_string(native[:rel_path]), native[:size],
          native[:mtime_ns], native[:content_hash].to_ptr.read_bytes(16), content,
          Core.read_c_string(native[:language]), native[:inode])
    end

    def hash_hex
      content_hash.unpack1("H*")
    end

    # The content as UTF-8 text (binary when it is not valid UTF-8).
    def text
      content && Core.text(content)
    end
  end

  # A file the scan could not read (reported, counted, never fatal).
  FileError = Struct.new(:path, :status, :message) do
    def status_name
      Wtfperf.status_name(status)
    end
  end

  # Progress of a running scan (files_total is 0 while unknown).
  Progress = Struct.new(:files_done, :files_total, :bytes_done)

  # What a scan or analyze did; `file_errors` lists the FileError of every
  # file that failed (the `errors` count's details: file_errors.size ==
  # errors), `skipped_files` the FileError of every file skipped for being
  # over max_file_size (status WTFPERF_ERR_INVALID, message "skipped: ...";
  # skipped_files.size == files_skipped). Both went to on_error.
  ScanSummary = Struct.new(*Native::ScanSummary.members, :file_errors, :skipped_files) do
    def self.from_native(native, reports)
      new(*Native::ScanSummary.members.map { |m| native[m] }, reports.errors, reports.skipped)
    end
  end

  # The FileErrors a run reported, sorted into failures and skipped files.
  FileReports = Struct.new(:errors, :skipped) do
    def initialize
      super([], [])
    end

    # The library reports a file over max_file_size to on_error with
    # WTFPERF_ERR_INVALID and a message starting "skipped:"; it counts it
    # in files_skipped, not in errors.
    def <<(error)
      skipped = error.status == Status::ERR_INVALID && error.message.to_s.start_with?("skipped:")
      (skipped ? self.skipped : errors) << error
      self
    end
  end
  private_constant :FileReports

  module ScanSupport
    module_function

    STOP = 1 # what on_file returns to stop a scan (any nonzero)

    # A filled wtfperf_scan_options from keyword options (field names of
    # the header; include_globs / exclude_globs as Arrays of Strings).
    # Returns [struct, keepalive].
    def options(opts)
      if opts.key?(:callbacks_parallel) && opts[:callbacks_parallel]
        raise ArgumentError, "callbacks_parallel is not supported from Ruby: blocks run on the calling thread"
      end

      native = Native.wtfperf_scan_options_default
      globs = %i[include_globs exclude_globs]
      Core.set_fields(native, opts, "scan", skip: globs + %i[include_globs_len exclude_globs_len])
      %i[include_globs_len exclude_globs_len].each do |len|
        raise ArgumentError, "#{len} is set from #{len.to_s.sub('_len', '')}" if opts.key?(len)
      end
      keepalive = []
      globs.each do |field|
        next unless opts.key?(field)

        array, count, keep = Core.c_string_array(opts[field], field.to_s)
        native[field] = array
        native[:"#{field}_len"] = count
        keepalive << keep
      end
      [native, keepalive]
    end

    # The wtfperf_error_cb trampoline: records the error, then hands it to
    # the on_error handler (if any) through the bridge.
    def error_callback(bridge, file_errors, has_handler)
      proc do |_userdata, path, status, message|
        bridge.trampoline(nil) do
          error = FileError.new(Core.read_c_string(path), status, Core.read_c_string(message))
          file_errors << error
          bridge.emit(:on_error, error) if has_handler
        end
      end
    end

    def progress_callback(bridge)
      proc do |_userdata, progress|
        bridge.trampoline(nil) do
          native = Native::Progress.new(progress)
          bridge.emit(:on_progress, Progress.new(native[:files_done], native[:files_total], native[:bytes_done]))
        end
      end
    end
  end
  private_constant :ScanSupport

  # Walks `root` in parallel (gitignore-aware), reads and hashes files on
  # worker threads and yields each file (a Wtfperf::ScannedFile) to the
  # block, on the calling thread, one at a time. Returns a ScanSummary.
  #
  # Options are the fields of wtfperf_scan_options: threads, chunk_size,
  # max_file_size, include_content, follow_links, respect_ignore_files,
  # include_hidden, include_globs, exclude_globs, sorted, ... Handlers:
  # on_error: (called with a FileError for each unreadable file),
  # on_progress: (called with a Progress).
  #
  # Leaving the block early (break, return, throw or an exception) stops the
  # scan; the exception is raised (or the jump done) once the native scan
  # has returned.
  def self.scan(root, on_error: nil, on_progress: nil, **options, &block)
    root_ptr = Core.c_string(root, "root")
    native_options, _keepalive = ScanSupport.options(options)
    handlers = {}
    handlers[:on_file] = block if block
    handlers[:on_error] = on_error if on_error
    handlers[:on_progress] = on_progress if on_progress
    bridge = Bridge.new(handlers)
    file_errors = FileReports.new
    summary = Native::ScanSummary.new
    bridge.run do |br|
      on_file = proc do |_userdata, file|
        br.trampoline(ScanSupport::STOP) do
          reply = br.emit(:on_file, ScannedFile.from_native(file))
          reply.equal?(Bridge::STOP) ? ScanSupport::STOP : 0
        end
      end
      callbacks = Native::ScanCallbacks.new
      callbacks[:on_file] = on_file if block
      callbacks[:on_error] = ScanSupport.error_callback(br, file_errors, !on_error.nil?)
      callbacks[:on_progress] = ScanSupport.progress_callback(br) if on_progress
      Core.check!(Native.wtfperf_scan(root_ptr, native_options, callbacks, summary))
    end
    ScanSummary.from_native(summary, file_errors)
  end

  # Incremental analysis: scans `root` like Wtfperf.scan and yields each file
  # whose result is not in `cache` to the block, which returns the result (a
  # String, stored in the cache under analyzer_id + relative path + content
  # hash). Returning nil or false marks the file as failed (reported to
  # on_error with WTFPERF_ERR_CALLBACK, counted in errors, not cached).
  #
  # on_result: is called for every file with (file, result, cached) where
  # `cached` is true when the result came from the cache (then file.content
  # is nil: the file was not read). cache: may be nil (nothing cached).
  # Other keywords as for Wtfperf.scan. Returns a ScanSummary (cache_hits
  # counts the files served from the cache).
  def self.analyze(root, analyzer_id:, cache: nil, on_result: nil, on_error: nil, on_progress: nil, **options, &block)
    raise ArgumentError, "Wtfperf.analyze needs a block (the analyzer)" unless block
    raise TypeError, "cache must be a Wtfperf::Cache or nil" unless cache.nil? || cache.is_a?(Cache)

    root_ptr = Core.c_string(root, "root")
    id_ptr = Core.c_string(analyzer_id.to_s, "analyzer_id")
    native_options, _keepalive = ScanSupport.options(options)
    # The result is checked here, in the caller's fiber, so a bad result
    # raises like any exception from the block (stopping the analysis).
    analyze = lambda do |file|
      result = block.call(file)
      unless result.nil? || result == false || result.is_a?(String)
        raise TypeError, "the analyze block must return a String (or nil/false for a failed file), got #{result.class}"
      end

      result
    end
    handlers = { analyze: analyze }
    handlers[:on_result] = on_result if on_result
    handlers[:on_error] = on_error if on_error
    handlers[:on_progress] = on_progress if on_progress
    file_errors = FileReports.new
    summary = Native::ScanSummary.new
    run = lambda do |cache_ptr|
      Bridge.new(handlers).run do |br|
        analyze_fn = proc do |_userdata, file, sink|
          br.trampoline(Status::ABORTED) do
            reply = br.emit(:analyze, ScannedFile.from_native(file))
            if reply.equal?(Bridge::STOP)
              Status::ABORTED # stops the whole run
            elsif reply.nil? || reply == false
              1 # this file failed: reported, counted, not cached
            else
              ptr, len = Core.bytes_ptr(reply.b)
              Native.wtfperf_sink_write(sink, ptr, len).zero? ? 0 : 1
            end
          end
        end
        result_cb = proc do |_userdata, file, result, len, cached|
          br.trampoline(nil) do
            bytes = result.null? ? "".b : result.read_bytes(len)
            br.emit(:on_result, ScannedFile.from_native(file), bytes, cached)
          end
        end
        callbacks = Native::AnalyzeCallbacks.new
        callbacks[:analyze] = analyze_fn
        callbacks[:on_result] = result_cb if on_result
        callbacks[:on_error] = ScanSupport.error_callback(br, file_errors, !on_error.nil?)
        callbacks[:on_progress] = ScanSupport.progress_callback(br) if on_progress
        Core.check!(Native.wtfperf_analyze_with(root_ptr, native_options, cache_ptr, id_ptr, callbacks, summary))
      end
    end
    cache ? cache.send(:with_handle, &run) : run.call(nil)
    ScanSummary.from_native(summary, file_errors)
  end
end
