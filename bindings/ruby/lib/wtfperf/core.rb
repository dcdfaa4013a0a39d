# frozen_string_literal: true

module Wtfperf
  # Helpers shared by every wrapper: status checks, buffers, C strings.
  module Core
    module_function

    # Returns the status when it is not an error (OK, MISS, ABORTED);
    # otherwise raises the matching Wtfperf::Error with wtfperf_last_error().
    # Call it immediately after the native call, on the same thread, so the
    # message belongs to that call.
    def check!(status)
      return status if status >= 0

      message = Native.wtfperf_last_error.to_s.dup.force_encoding(Encoding::UTF_8)
      message = Native.wtfperf_status_str(status) if message.empty?
      raise Wtfperf.error_class(status).new(message, status: status)
    end

    # Runs the block with a zeroed wtfperf_buf for a native call to fill,
    # checks the status the block returns, copies the bytes out and frees the
    # buffer. Returns [status, bytes] (bytes nil unless the status is OK).
    def with_buf
      buf = Native::Buf.new
      begin
        status = check!(yield(buf))
        bytes = nil
        if status == Status::OK
          data = buf[:data]
          bytes = data.null? ? "".b : data.read_bytes(buf[:len])
        end
        [status, bytes]
      ensure
        Native.wtfperf_buf_free(buf)
      end
    end

    # Like with_buf for functions whose output is UTF-8 text (JSON, names).
    def buf_string(&block)
      _status, bytes = with_buf(&block)
      bytes&.force_encoding(Encoding::UTF_8)
    end

    # Sets the fields of an options struct (from its `_default()` function)
    # from keyword arguments named like the C fields. Unknown names raise
    # ArgumentError; `skip` lists fields the caller sets itself.
    def set_fields(struct, opts, what, skip: [])
      known = struct.members - skip
      opts.each do |key, value|
        name = key.to_sym
        unless known.include?(name) || skip.include?(name)
          raise ArgumentError, "unknown #{what} option #{key.inspect} (known: #{known.join(', ')})"
        end
        next if skip.include?(name)

        struct[name] = field_value(struct.layout[name].type, value, "#{what} option #{name}")
      end
      struct
    end

    # `value` checked as an unsigned integer of C type `type` (:size_t,
    # :uint64, ...): ArgumentError unless an Integer >= 0, RangeError above
    # the type's maximum. (The ffi gem would wrap -1 to SIZE_MAX silently.)
    def uint(value, what, type = :uint64)
      raise ArgumentError, "#{what} must be an Integer, got #{value.inspect}" unless value.is_a?(Integer)
      raise ArgumentError, "#{what} must not be negative (got #{value})" if value.negative?

      max = (1 << (8 * FFI.type_size(type))) - 1
      raise RangeError, "#{what} #{value} is out of range for #{type} (max #{max})" if value > max

      value
    end

    # `value` checked for a struct field of FFI type `type`: booleans must
    # be true or false (not any truthy object), integers Integers in range
    # for the C type (not a Float cut silently), floats Numeric.
    def field_value(type, value, what)
      if type == FFI::Type::BOOL
        raise ArgumentError, "#{what} must be true or false, got #{value.inspect}" unless [true, false].include?(value)
      elsif UNSIGNED.include?(type)
        uint(value, what, type.size == 8 ? :uint64 : :"uint#{type.size * 8}")
      elsif SIGNED.include?(type)
        raise ArgumentError, "#{what} must be an Integer, got #{value.inspect}" unless value.is_a?(Integer)

        bits = type.size * 8
        range = -(1 << (bits - 1))..((1 << (bits - 1)) - 1)
        raise RangeError, "#{what} #{value} is out of range for a #{bits}-bit integer" unless range.cover?(value)
      elsif [FFI::Type::DOUBLE, FFI::Type::FLOAT].include?(type)
        raise ArgumentError, "#{what} must be a number, got #{value.inspect}" unless value.is_a?(Numeric) && value.real?

        value = Float(value)
      end
      value
    end

    SIGNED = [FFI::Type::INT8, FFI::Type::INT16, FFI::Type::INT32, FFI::Type::INT64,
              FFI::Type::LONG, FFI::Type::LONG_LONG].freeze

    UNSIGNED = [FFI::Type::UINT8, FFI::Type::UINT16, FFI::Type::UINT32, FFI::Type::UINT64,
                FFI::Type::ULONG, FFI::Type::ULONG_LONG].freeze

    # A NUL-terminated C string for a path or name (any non-NUL bytes).
    def c_string(value, what = "string")
      str = value.respond_to?(:to_path) ? value.to_path : value
      raise TypeError, "#{what} must be a String or Pathname, got #{value.class}" unless str.is_a?(String)
      raise ArgumentError, "#{what} must not contain NUL bytes" if str.include?("\0")

      FFI::MemoryPointer.from_string(str)
    end

    # A NULL-able C string.
    def opt_c_string(value, what = "string")
      value.nil? ? nil : c_string(value, what)
    end

    # A `const char *const *` array of C strings. Returns [array_pointer, count, keepalive]:
    # keep `keepalive` referenced for as long as the native side reads the array.
    # A single String or Pathname is refused (TypeError naming `what`), as
    # in the other bindings: pass [path] for one.
    def c_string_array(values, what = "strings")
      if values.is_a?(String) || values.respond_to?(:to_path)
        raise TypeError, "#{what} must be an Array of paths or names, not a single #{values.class}: " \
                         "pass [#{values.to_s.inspect}]"
      end

      list = Array(values).map { |v| c_string(v, what) }
      return [nil, 0, list] if list.empty?

      array = FFI::MemoryPointer.new(:pointer, list.size)
      array.write_array_of_pointer(list)
      [array, list.size, [array, list]]
    end

    # The bytes of a key or value (a String; other objects are rejected).
    def bytes(value, what = "value")
      raise TypeError, "#{what} must be a String, got #{value.class}" unless value.is_a?(String)

      value.b
    end

    # A (pointer, length) pair for input bytes; (NULL, 0) for an empty string.
    def bytes_ptr(str)
      return [nil, 0] if str.empty?

      ptr = FFI::MemoryPointer.new(:uint8, str.bytesize)
      ptr.put_bytes(0, str)
      [ptr, str.bytesize]
    end

    # Ruby String for a NUL-terminated C string pointer (nil for NULL):
    # UTF-8 when the bytes are valid UTF-8, binary otherwise.
    def read_c_string(ptr)
      return nil if ptr.null?

      text(ptr.read_string)
    end

    # Tags bytes as UTF-8 when they are valid UTF-8, binary otherwise.
    def text(bytes)
      str = bytes.dup.force_encoding(Encoding::UTF_8)
      str.valid_encoding? ? str : str.force_encoding(Encoding::BINARY)
    end
  end

  # Forces an internal panic in the library (a test hook): always raises
  # Wtfperf::PanicError, showing that a panic never crashes the process.
  def self.debug_force_panic(message = nil)
    Core.check!(Native.wtfperf_debug_force_panic(message))
  end
end
