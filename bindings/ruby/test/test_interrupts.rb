# frozen_string_literal: true

require "test_helper"
require "rbconfig"
require "timeout"

# Crash-safety of scan/analyze against asynchronous interrupts and abandoned
# external enumerators. Each crash repro runs in a subprocess, bounded by a
# timeout, so a crash or hang fails the test instead of the test run.
module InterruptTestHelpers
  include WtfperfTestHelpers

  LIB_DIR = File.expand_path("../lib", __dir__)

  # A tree big enough that a scan takes a while.
  def big_tree(count = 3000)
    root = tmpdir
    count.times do |i|
      dir = File.join(root, "d#{i % 50}")
      FileUtils.mkdir_p(dir)
      File.write(File.join(dir, "f#{i}.txt"), "line #{i}\n" * 20)
    end
    root
  end

  # Runs `code` in a fresh ruby with the binding loaded; returns [status, output].
  def run_ruby(code, timeout: 120)
    out = +""
    status = nil
    IO.popen([{ "RUST_BACKTRACE" => "0" }, RbConfig.ruby, "-I", LIB_DIR, "-rwtfperf", "-e", code,
              { err: %i[child out], pgroup: true }]) do |io|
      reader = Thread.new { io.read }
      unless reader.join(timeout)
        Process.kill("KILL", -io.pid)
        reader.join
        flunk "subprocess hung (> #{timeout}s):\n#{reader.value}"
      end
      out = reader.value
    end
    status = $?
    [status, out]
  end

  # A tree where a scan outlasts the kill delays below.
  def long_tree
    File.directory?("/usr/share") ? "/usr/share" : big_tree(30_000)
  end

  # Runs `code` in a fresh ruby and asserts it ran to its end (a crash,
  # an exception or a hang fails).
  def assert_survives(code)
    status, out = run_ruby(code + "\nputs \"survived\"\n")
    assert status.success?, "subprocess failed (#{status.inspect}):\n#{out}"
    assert_includes out, "survived"
  end
end

class TestInterrupts < Minitest::Test
  include InterruptTestHelpers

  def test_thread_kill_inside_scan_and_analyze_does_not_crash
    root = long_tree
    assert_survives(<<~RUBY)
      root = #{root.dump}
      40.times do |i|
        th = Thread.new do
          if i.even?
            Wtfperf.scan(root, include_content: false) { |f| }
          else
            Wtfperf.analyze(root, analyzer_id: "k") { |f| "x" }
          end
        end
        sleep 0.02 + rand * 0.1
        th.kill
        th.join
        GC.start
      end
    RUBY
  end

  def test_timeout_still_ends_a_long_scan_promptly
    root = big_tree
    blocks = 0
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Timeout::Error) do
      Timeout.timeout(0.05) do
        loop { Wtfperf.scan(root, include_content: false) { |_f| blocks += 1 } }
      end
    end
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0, :<, 5
    # the binding is still usable afterwards
    assert_equal 3000, Wtfperf.scan(root, include_content: false).files_seen
  end

  def test_thread_raise_ends_a_scan_and_the_exception_comes_out_of_scan
    root = big_tree
    started = Queue.new
    worker = Thread.new do
      Wtfperf.scan(root, include_content: false) do |_f|
        started << true if started.empty?
        sleep 0.001
      end
      :not_interrupted
    rescue RuntimeError => e
      e.message
    end
    started.pop
    worker.raise(RuntimeError, "stop now")
    assert_equal "stop now", worker.value
  end
end

class TestAbandonedEnumerator < Minitest::Test
  include InterruptTestHelpers

  def test_an_abandoned_external_enumerator_does_not_crash
    root = long_tree
    assert_survives(<<~RUBY)
      30.times do
        e = Wtfperf.enum_for(:scan, #{root.dump}, include_content: false)
        e.next
        e = nil
        GC.start
      end
    RUBY
  end

  def test_finished_runs_leave_no_registered_fibers
    root = tmpdir
    write_tree(root, "a" => "1", "b" => "2")
    before = Wtfperf::Bridge.live_runs
    Wtfperf.scan(root) { |_f| }
    Wtfperf.scan(root) { |_f| break }
    assert_equal %w[1 2], Wtfperf.enum_for(:scan, root, sorted: true).map(&:content)
    assert_equal before, Wtfperf::Bridge.live_runs
  end
end
