# frozen_string_literal: true

require "test_helper"

class TestProfiler < Minitest::Test
  def workload
    blocks = Array.new(40) { "x" * 1_000_000 } # ~40 MB live
    sum = 0
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 0.3
    sum += 1 while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    [blocks.sum(&:bytesize), sum]
  end

  def test_profile_a_workload
    profiler = Wtfperf::Profiler.new(sample_interval_s: 0.02)
    profiler.start
    assert profiler.running?
    value = profiler.scope("work") { profiler.scope("inner") { workload } }
    assert_equal 40_000_000, value[0]
    profile = profiler.stop
    refute profiler.running?

    assert_operator profile.duration_s, :>=, 0.3
    assert_operator profile.duration, :<, 30
    assert_operator profile.sample_count, :>=, 2
    samples = profile.samples
    assert_equal profile.sample_count, samples.size
    assert(samples.each_cons(2).all? { |a, b| a.t_s <= b.t_s })
    assert(samples.all? { |s| s.rss_bytes.positive? })
    assert_operator profile.peak_memory_mb, :>=, 40
    assert_operator profile.peak_memory_mb, :>=, profile.avg_memory_mb
    assert_operator profile.avg_cpu_percent, :>, 0
    assert_operator profile.cpu_time_s, :>, 0
    assert_includes [true, false], profile.peak_exact?

    json = profile.to_h
    assert_equal "wtfperf.profile", json["schema"]
    scopes = json["scopes"].to_h { |s| [s["name"], s] }
    assert_equal [1, 1], scopes.values_at("work", "inner").map { |s| s["count"] }
    assert_operator scopes["work"]["total_s"], :>=, scopes["inner"]["total_s"]
    assert_includes profile.to_chrome_trace, "inner"
  ensure
    profile&.close
    profiler&.close
  end

  def test_profile_block_form_and_sample_now
    profile = Wtfperf::Profiler.profile(sample_interval_s: 0.05) { workload }
    assert_operator profile.duration_s, :>=, 0.3
    profile.close

    profiler = Wtfperf::Profiler.new
    profile = profiler.start do
      sample = profiler.sample_now
      assert_kind_of Wtfperf::Sample, sample
      assert_operator sample.rss_mb, :>, 1
    end
    assert_kind_of Wtfperf::Profile, profile
    profiler.close
  end

  def test_block_form_stops_when_the_block_raises
    profiler = Wtfperf::Profiler.new
    assert_raises(ZeroDivisionError) { profiler.start { 1 / 0 } }
    refute profiler.running?
    profiler.close
  end

  def test_scopes_repeat_nest_and_cross_threads
    profiler = Wtfperf::Profiler.new
    profile = profiler.start do
      3.times { profiler.scope("outer") { profiler.scope("inner") { nil } } }
      token = profiler.enter_scope("handoff")
      Thread.new { profiler.exit_scope(token) }.join
      assert_raises(Wtfperf::InvalidError) { profiler.scope("bad\xFF".b) { nil } }
    end
    counts = profile.to_h["scopes"].to_h { |s| [s["name"], s["count"]] }
    assert_equal({ "outer" => 3, "inner" => 3, "handoff" => 1 }, counts)
    profile.close
    profiler.close
  end

  class BodyError < StandardError; end

  def test_scope_raises_the_blocks_exception_when_the_exit_fails_too
    profiler = Wtfperf::Profiler.new
    profiler.start
    err = assert_raises(BodyError) do
      profiler.scope("closing") do
        profiler.close
        raise BodyError, "from the block"
      end
    end
    assert_equal "from the block", err.message
  end

  def test_scope_raises_the_exit_error_when_the_block_succeeds
    profiler = Wtfperf::Profiler.new
    profiler.start
    err = assert_raises(Wtfperf::ClosedError) { profiler.scope("closing") { profiler.close } }
    assert_match(/closed/, err.message)
  end

  def test_state_and_argument_errors
    profiler = Wtfperf::Profiler.new
    err = assert_raises(Wtfperf::StateError) { profiler.stop }
    assert_equal Wtfperf::Status::ERR_STATE, err.status
    refute_empty err.message
    profiler.start
    assert_raises(Wtfperf::StateError) { profiler.start }
    assert_raises(Wtfperf::InvalidError) { profiler.exit_scope(987_654_321) }
    profiler.stop.close
    profiler.close

    err = assert_raises(Wtfperf::InvalidError) { Wtfperf::Profiler.new(sample_interval_s: 0.0) }
    assert_equal Wtfperf::Status::ERR_INVALID, err.status
    assert_match(/interval/i, err.message)
    assert_raises(ArgumentError) { Wtfperf::Profiler.new(no_such_option: 1) }
  end

  def test_close_is_idempotent_and_use_after_close_raises
    profiler = Wtfperf::Profiler.new
    profiler.close
    profiler.close
    assert profiler.closed?
    err = assert_raises(Wtfperf::ClosedError) { profiler.start }
    assert_equal Wtfperf::Status::ERR_STATE, err.status

    profile = Wtfperf::Profiler.profile { nil }
    profile.close
    assert_raises(Wtfperf::ClosedError) { profile.duration_s }
  end

  def test_profile_manager_summary
    manager = Wtfperf::ProfileManager.new
    3.times do
      profile = Wtfperf::Profiler.profile(sample_interval_s: 0.01) { workload }
      manager.add("workload", profile)
      profile.close
    end
    summary = manager.summary
    assert_equal "wtfperf.profile_summary", summary["schema"]
    assert_equal 3, summary["names"]["workload"]["count"]
    assert_operator summary["names"]["workload"]["duration_s"]["min"], :>=, 0.3
    assert_raises(TypeError) { manager.add("x", Object.new) }
    manager.close
    assert_raises(Wtfperf::ClosedError) { manager.summary_json }
  end

  def make_unclosed_managers(count)
    count.times { Wtfperf::ProfileManager.new }
    nil
  end

  def test_finalizer_frees_forgotten_handles
    before = ObjectSpace.each_object(Wtfperf::ProfileManager).count
    make_unclosed_managers(50)
    3.times { GC.start(full_mark: true, immediate_sweep: true) }
    after = ObjectSpace.each_object(Wtfperf::ProfileManager).count
    # The finalizer holds no reference to its wrapper, so the wrappers can be
    # collected (conservative stack scanning may keep a few alive).
    assert_operator after - before, :<, 50
  end
end
