# frozen_string_literal: true

module Wtfperf
  # Base of every object that owns a native handle.
  #
  # #close frees the handle and is idempotent; any other use after #close
  # raises Wtfperf::ClosedError. A finalizer frees a handle that was never
  # closed (a backstop only: close handles yourself, or use the block forms).
  # #close while a native call on the handle is running (e.g. from inside an
  # analyze block using this cache) raises Wtfperf::StateError.
  class Handle
    # Mutable state shared with the finalizer (which must not capture the
    # wrapper itself, or the wrapper would never be collected).
    class Cell
      attr_accessor :address

      def initialize(address)
        @address = address
      end
    end
    private_constant :Cell

    def self.finalizer(cell, free_fn)
      proc do
        address = cell.address
        cell.address = nil
        Native.public_send(free_fn, FFI::Pointer.new(address)) if address
      end
    end
    private_class_method :finalizer

    # `pointer` is a freshly created handle this object now owns; `free_fn`
    # the Native function that releases it.
    def initialize(pointer, free_fn)
      raise Error.new("native call returned a NULL handle", status: Status::ERR_NULL) if pointer.null?

      @cell = Cell.new(pointer.address)
      @free_fn = free_fn
      @uses = 0
      @lock = Mutex.new
      ObjectSpace.define_finalizer(self, self.class.send(:finalizer, @cell, free_fn))
    end

    # Frees the native handle. Safe to call more than once.
    def close
      @lock.synchronize do
        address = @cell.address
        return nil if address.nil?
        raise StateError.new("#{self.class.name} is in use by a running native call", status: Status::ERR_STATE) if @uses.positive?

        @cell.address = nil
        ObjectSpace.undefine_finalizer(self)
        Native.public_send(@free_fn, FFI::Pointer.new(address))
      end
      nil
    end

    def closed?
      @cell.address.nil?
    end

    def inspect
      "#<#{self.class.name}#{closed? ? ' (closed)' : ''}>"
    end

    private

    # Yields the live native pointer; #close is refused until the block ends.
    def with_handle
      address = @lock.synchronize do
        raise ClosedError.new("#{self.class.name} is closed", status: Status::ERR_STATE) if @cell.address.nil?

        @uses += 1
        @cell.address
      end
      begin
        yield FFI::Pointer.new(address)
      ensure
        @lock.synchronize { @uses -= 1 }
      end
    end

    # The live native pointer, for a call that does not call back into Ruby.
    def handle_ptr
      address = @cell.address
      raise ClosedError.new("#{self.class.name} is closed", status: Status::ERR_STATE) if address.nil?

      FFI::Pointer.new(address)
    end
  end
end
