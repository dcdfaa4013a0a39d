# frozen_string_literal: true

module Wtfperf
  # Runs a native call that calls back into Ruby so that the Ruby blocks never
  # run on top of native frames.
  #
  # Ruby leaves a block by raise, but also by break, next-less return and
  # throw; the last three are longjmps that no C frame may be crossed by
  # (the ffi gem only rescues exceptions in callbacks, and a longjmp through
  # the library's Rust frames would skip its destructors and locks). So the
  # native call runs on its own Fiber, and every callback only passes its
  # event to the caller's fiber and waits for the reply. The user's block
  # runs in the caller's fiber, where raise/break/throw/return work as usual:
  # when the block leaves abnormally, the native call is told to stop (every
  # later callback answers "stop" at once; only the per-file callbacks can
  # actually stop it, the void ones cannot), runs to its end, and only then
  # does the exception or jump continue, from the method that was called.
  # Everything runs on the calling thread.
  #
  # Asynchronous interrupts (Thread#kill, Thread#raise, Timeout, Ctrl-C's
  # Interrupt) are deferred (Thread.handle_interrupt(Object => :never))
  # whenever the native fiber runs, i.e. for the whole native call except
  # while a user handler runs on the caller's fiber: Thread#kill in
  # particular is no exception (no rescue sees it) and would otherwise
  # unwind the native fiber straight through the library's frames. A
  # trampoline that finds an interrupt pending answers "stop" without
  # handing its event over, so the run ends promptly; the interrupt is
  # delivered on the caller's fiber once the native fiber is suspended or
  # finished, and #run's ensure lets the native call run to its end (as for
  # a handler that raised). User handlers run under the caller's own
  # interrupt mask, like ordinary Ruby code.
  class Bridge
    # What a callback receives when the Ruby side is gone: stop.
    STOP = Object.new.freeze

    # The ffi gem starts its "FFI Callback Dispatcher" thread when the
    # first callback object is made, and a thread inherits its creator's
    # interrupt mask: made inside #run (under handle_interrupt(Object =>
    # :never)), that thread could not be killed when Ruby exits, and a
    # script that scanned and then ended hung at exit. One callback object
    # made here, at require time, starts it with the ordinary mask.
    WARM_UP = FFI::Function.new(:void, []) {}
    private_constant :WARM_UP

    # Fibers of the runs in progress (bridge => [caller's fiber, native
    # fiber]). A run whose caller's fiber is suspended for good (an
    # external enumerator abandoned after #next) must never be collected:
    # freeing that fiber would reuse the stack the library's native frames
    # and worker threads still point into. Such a run leaks (its threads
    # and descriptors stay) instead of corrupting memory.
    LIVE = {}.compare_by_identity
    LIVE_LOCK = Mutex.new
    private_constant :LIVE, :LIVE_LOCK

    # How many runs are in progress (or abandoned mid-run).
    def self.live_runs
      LIVE_LOCK.synchronize { LIVE.size }
    end

    def initialize(handlers)
      @handlers = handlers
      @stopping = false
      @failure = nil
      @fiber = nil
    end

    # Wraps the body of a native-side trampoline. An exception raised there
    # (a bug, or an asynchronous one such as Interrupt from Ctrl-C or
    # Thread#raise, which lands in whatever Ruby code runs next, often this
    # one) never propagates into the native caller: it is kept, the run is
    # told to stop (`stop_value` is returned), and #run raises it once the
    # native call has returned.
    def trampoline(stop_value)
      if Thread.pending_interrupt?
        # An interrupt is waiting (deferred by #run): stop without running
        # the user's handler; #run's caller gets the interrupt afterwards.
        @stopping = true
        return stop_value
      end

      yield
    rescue Exception => e # rubocop:disable Lint/RescueException
      @failure ||= e
      @stopping = true
      stop_value
    end

    # Called by the native-side trampolines (inside the native call): hands
    # the event to the Ruby side and returns its reply (or STOP).
    def emit(kind, *args)
      return STOP if @stopping

      Fiber.yield([:event, kind, args])
    end

    # Runs `native` (a block calling into the library, given this bridge) on
    # a fiber and dispatches its events to the handlers; returns what the
    # block returned.
    def run(&native)
      @fiber = Fiber.new { [:done, native.call(self)] }
      finished = false
      registered = false
      begin
        Thread.handle_interrupt(Object => :never) do
          LIVE_LOCK.synchronize { LIVE[self] = [Fiber.current, @fiber] }
          registered = true
        end
        message = resume(nil)
        while message[0] == :event
          handler = @handlers.fetch(message[1])
          message = resume(handler.call(*message[2]))
        end
        finished = true
        raise @failure if @failure

        message[1]
      ensure
        unless finished
          # A handler raised or jumped out, or an interrupt (even
          # Thread#kill) arrived: let the native call see "stop" and run to
          # its end before the raise/jump goes on.
          @stopping = true
          begin
            # Masked as a whole: a second interrupt must not cut this short.
            Thread.handle_interrupt(Object => :never) { @fiber.resume(STOP) while @fiber.alive? }
          rescue StandardError
            nil # the first exception (or the jump) is the one that matters
          end
        end
        if registered && !@fiber.alive?
          Thread.handle_interrupt(Object => :never) { LIVE_LOCK.synchronize { LIVE.delete(self) } }
        end
      end
    end

    private

    # Runs the native fiber (with interrupts deferred) until its next event
    # or its end.
    def resume(reply)
      Thread.handle_interrupt(Object => :never) { @fiber.resume(reply) }
    end
  end
end
