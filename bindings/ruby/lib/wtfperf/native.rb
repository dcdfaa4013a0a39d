# frozen_string_literal: true

require "ffi"

module Wtfperf
  # Finds libwtfperf.so: $WTFPERF_LIB if set, else the build tree this gem
  # sits in (target/release, then target/debug), else the system library path.
  module Loader
    # The repository root when the gem is used from its source tree.
    REPO_ROOT = File.expand_path("../../../..", __dir__)
    LIB_NAME = "libwtfperf.so"

    # Paths to try, in order. An explicit $WTFPERF_LIB is the only candidate.
    def self.candidates(env = ENV)
      explicit = env["WTFPERF_LIB"]
      return [explicit] if explicit && !explicit.empty?

      build_tree = %w[release debug].map { |profile| File.join(REPO_ROOT, "target", profile, LIB_NAME) }
      build_tree.select { |path| File.file?(path) } + [LIB_NAME]
    end
  end

  # Raw bindings of include/wtfperf.h. Not part of the public API: use the
  # Ruby classes (Wtfperf::Cache, Wtfperf.scan...), which check statuses,
  # own handles and copy buffers out.
  module Native
    extend FFI::Library

    tried = []
    Loader.candidates.each do |candidate|
      ffi_lib(candidate)
      LIBRARY_PATH = candidate
      break
    rescue LoadError => e
      tried << "#{candidate} (#{e.message.lines.first.strip})"
    end
    unless const_defined?(:LIBRARY_PATH, false)
      raise LoadError, "wtfperf: cannot load the native library; tried: #{tried.join('; ')}. " \
                       "Build it with `cargo build` or set WTFPERF_LIB to the path of libwtfperf.so"
    end

    typedef :int32, :status

    # struct wtfperf_buf { uint8_t *data; size_t len; }
    class Buf < FFI::Struct
      layout :data, :pointer,
             :len, :size_t
    end

    attach_function :wtfperf_version, [], :string
    attach_function :wtfperf_status_str, [:status], :string
    attach_function :wtfperf_last_error, [], :string
    attach_function :wtfperf_buf_free, [Buf.by_ref], :void
    attach_function :wtfperf_debug_force_panic, [:string], :status

    # Attaches a function only when the loaded library exports it (for parts
    # of the API that are optional). Returns whether it was attached.
    def self.attach_optional(name, args, ret, **opts)
      attach_function(name, args, ret, **opts)
      true
    rescue FFI::NotFoundError
      false
    end
  end

  # The version string of the loaded library, e.g. "0.1.0".
  def self.library_version
    Native.wtfperf_version
  end

  # Path of the loaded libwtfperf.so (or its bare name when found on the system path).
  def self.library_path
    Native::LIBRARY_PATH
  end

  # The C name of a status code, e.g. status_name(-2) == "WTFPERF_ERR_INVALID".
  def self.status_name(status)
    Native.wtfperf_status_str(status)
  end

  library_major_minor = library_version.to_s.split(".").first(2).join(".")
  unless library_major_minor == API_VERSION
    raise LoadError, "wtfperf: #{Native::LIBRARY_PATH} is version #{library_version.inspect}, " \
                     "but this gem needs #{API_VERSION}.x"
  end
end
