# frozen_string_literal: true

module Wtfperf
  # Status codes of the C API (include/wtfperf.h). Codes are never renumbered.
  module Status
    OK = 0
    MISS = 1
    ABORTED = 2
    ERR_NULL = -1
    ERR_INVALID = -2
    ERR_IO = -3
    ERR_STORE = -4
    ERR_STATE = -5
    ERR_PANIC = -6
    ERR_CALLBACK = -7
  end

  # A failing call into libwtfperf.
  #
  # #status is the library's status code (one of Wtfperf::Status), #message
  # the library's own message (wtfperf_last_error(), read right after the
  # failing call, on the same thread). Each error status has a subclass, so
  # callers may rescue e.g. Wtfperf::InvalidError only.
  class Error < StandardError
    attr_reader :status

    def initialize(message = nil, status: nil)
      @status = status
      super(message)
    end

    # The status code's name, e.g. "WTFPERF_ERR_INVALID".
    def status_name
      @status.nil? ? nil : Wtfperf.status_name(@status)
    end
  end

  # WTFPERF_ERR_NULL: a required pointer was missing.
  class NullError < Error; end
  # WTFPERF_ERR_INVALID: a bad argument (range, UTF-8, zero interval...).
  class InvalidError < Error; end
  # WTFPERF_ERR_IO: an operating-system I/O error.
  class IoError < Error; end
  # WTFPERF_ERR_STORE: the persistent (SQLite) tier failed.
  class StoreError < Error; end
  # WTFPERF_ERR_STATE: the call is not valid in the object's state.
  class StateError < Error; end
  # Use of a handle after #close (raised by the binding, status ERR_STATE).
  class ClosedError < StateError; end
  # WTFPERF_ERR_PANIC: an internal panic was caught; the library stays usable.
  class PanicError < Error; end
  # WTFPERF_ERR_CALLBACK: a host callback failed.
  class CallbackError < Error; end

  ERROR_CLASSES = {
    Status::ERR_NULL => NullError,
    Status::ERR_INVALID => InvalidError,
    Status::ERR_IO => IoError,
    Status::ERR_STORE => StoreError,
    Status::ERR_STATE => StateError,
    Status::ERR_PANIC => PanicError,
    Status::ERR_CALLBACK => CallbackError
  }.freeze
  private_constant :ERROR_CLASSES

  # The exception class for an error status (Wtfperf::Error for unknown codes).
  def self.error_class(status)
    ERROR_CLASSES.fetch(status, Error)
  end
end
