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
  # later callback answers "stop" at once), runs to its end, and only then
  # does the exception or jump continue, from the method that was called.
  # Everything runs on the calling thread.
  class Bridge
    # What a callback receives when the Ruby side is gone: stop.
    STOP = Object.new.freeze

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
      message = @fiber.resume
      finished = false
      begin
        while message[0] == :event
          handler = @handlers.fetch(message[1])
          message = @fiber.resume(handler.call(*message[2]))
        end
        finished = true
        raise @failure if @failure

        message[1]
      ensure
        unless finished
          # A handler raised or jumped out: let the native call see "stop"
          # and run to its end before the raise/jump goes on.
          @stopping = true
          begin
            @fiber.resume(STOP) while @fiber.alive?
          rescue StandardError
            nil # the first exception (or the jump) is the one that matters
          end
        end
      end
    end
  end
end
