# frozen_string_literal: true

module Wtfperf
  # Base of every object that owns a native handle.
  #
  # #close frees the handle and is idempotent; any other use after #close
  # raises Wtfperf::ClosedError. A finalizer frees a handle that was never
  # closed (a backstop only: close handles yourself, or use the block forms).
  # #close while native calls on the handle are running on other threads
  # waits for them to return (new calls from other threads are refused with
  # ClosedError meanwhile). #close from inside a call using the handle on
  # the same thread (e.g. from an analyze block using this cache) raises
  # Wtfperf::StateError, since waiting there could never end.
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
      @users = {}.compare_by_identity # thread => calls in flight on it
      @closing = false
      @lock = Mutex.new
      @idle = ConditionVariable.new
      ObjectSpace.define_finalizer(self, self.class.send(:finalizer, @cell, free_fn))
    end

    # Frees the native handle, after the calls in flight on other threads
    # have returned. Safe to call more than once.
    def close
      @lock.synchronize do
        return nil if @cell.address.nil?
        if @users.key?(Thread.current)
          raise StateError.new("#{self.class.name} is in use by a running native call on this thread",
                               status: Status::ERR_STATE)
        end

        begin
          @closing = true
          @idle.wait(@lock) until @users.empty?
        ensure
          @closing = false
        end
        address = @cell.address
        return nil if address.nil? # another thread closed it meanwhile

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

    # Yields the live native pointer; #close waits until the block ends (or
    # raises StateError when called from inside it, on this thread).
    def with_handle
      thread = Thread.current
      address = @lock.synchronize do
        raise ClosedError.new("#{self.class.name} is closed", status: Status::ERR_STATE) if @cell.address.nil?
        # While another thread waits in #close, only calls nested in a call
        # already running on this thread may start.
        if @closing && !@users.key?(thread)
          raise ClosedError.new("#{self.class.name} is being closed", status: Status::ERR_STATE)
        end

        @users[thread] = @users.fetch(thread, 0) + 1
        @cell.address
      end
      begin
        yield FFI::Pointer.new(address)
      ensure
        @lock.synchronize do
          left = @users.fetch(thread) - 1
          if left.zero?
            @users.delete(thread)
            @idle.broadcast if @users.empty?
          else
            @users[thread] = left
          end
        end
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
