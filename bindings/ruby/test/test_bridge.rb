# frozen_string_literal: true

require "test_helper"

# The callback bridge alone, with a Ruby block standing in for the native call.
class TestBridge < Minitest::Test
  Bridge = Wtfperf::Bridge

  class AsyncLike < Exception; end # rubocop:disable Lint/InheritException

  def test_events_reach_handlers_and_replies_come_back
    seen = []
    result = Bridge.new(double: ->(x) { seen << x; x * 2 }).run do |br|
      [br.trampoline(:stop) { br.emit(:double, 1) }, br.trampoline(:stop) { br.emit(:double, 21) }]
    end
    assert_equal [2, 42], result
    assert_equal [1, 21], seen
  end

  def test_an_exception_inside_a_trampoline_stops_and_is_raised_after_the_call
    calls = []
    native_finished = false
    err = assert_raises(AsyncLike) do
      Bridge.new(on: ->(x) { calls << x }).run do |br|
        codes = []
        codes << br.trampoline(:stop) { br.emit(:on, 1); :go }
        codes << br.trampoline(:stop) { raise AsyncLike, "interrupt-like" }
        codes << br.trampoline(:stop) { br.emit(:on, 3).equal?(Bridge::STOP) ? :stop : :go }
        assert_equal %i[go stop stop], codes
        native_finished = true
      end
    end
    assert_equal "interrupt-like", err.message
    assert native_finished, "the native side ran to its end first"
    assert_equal [1], calls
  end

  def test_a_handler_exception_makes_later_events_stop_at_once
    replies = []
    native_finished = false
    assert_raises(KeyError) do
      Bridge.new(on: ->(x) { raise KeyError, "no #{x}" }).run do |br|
        3.times { |i| replies << br.trampoline(:stop) { br.emit(:on, i) } }
        native_finished = true
      end
    end
    assert native_finished
    assert_equal [Bridge::STOP] * 3, replies
  end

  def test_throw_from_a_handler_completes_after_the_native_side
    order = []
    value = catch(:out) do
      Bridge.new(on: ->(_x) { throw :out, :thrown }).run do |br|
        br.trampoline(:stop) { br.emit(:on, 0) }
        order << :native_done
      end
    end
    assert_equal :thrown, value
    assert_equal [:native_done], order
  end
end
