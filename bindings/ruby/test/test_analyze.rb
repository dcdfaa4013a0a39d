# frozen_string_literal: true

require "test_helper"
require "json"

class TestAnalyze < Minitest::Test
  include WtfperfTestHelpers

  TREE = {
    "app/models/user.rb" => "class User\n  def name; end\nend\n",
    "app/models/post.rb" => "class Post\nend\n",
    "lib/util.rb" => "module Util\n  def self.x; 1; end\nend\n",
    "script.py" => "print(1)\n"
  }.freeze

  # A toy analyzer: counts lines and `def`s.
  def analyzer
    lambda do |file|
      text = file.content
      JSON.generate("lines" => text.count("\n"), "defs" => text.scan(/\bdef\b/).size)
    end
  end

  def run_analysis(root, cache, analyzed, results)
    Wtfperf.analyze(root, cache: cache, analyzer_id: "toy-1",
                          on_result: ->(file, result, cached) { results[file.rel_path] = [result, cached] }) do |file|
      analyzed << file.rel_path
      analyzer.call(file)
    end
  end

  def test_analyze_twice_second_run_all_cached
    root = tmpdir
    write_tree(root, TREE)
    Wtfperf::Cache.open(dir: File.join(tmpdir, "cache")) do |cache|
      analyzed = []
      results = {}
      first = run_analysis(root, cache, analyzed, results)
      assert_equal TREE.keys.sort, analyzed.sort
      assert_equal 4, first.files_seen
      assert_equal 0, first.cache_hits
      assert_equal 0, first.errors
      assert_equal TREE.keys.sort, results.keys.sort
      assert(results.values.none? { |_, cached| cached })
      assert_equal({ "lines" => 3, "defs" => 1 }, JSON.parse(results["app/models/user.rb"][0]))

      analyzed2 = []
      results2 = {}
      second = run_analysis(root, cache, analyzed2, results2)
      assert_empty analyzed2, "nothing is analyzed again"
      assert_equal 4, second.cache_hits
      assert(results2.values.all? { |_, cached| cached })
      assert_equal results.transform_values(&:first), results2.transform_values(&:first)

      File.write(File.join(root, "lib/util.rb"), "module Util\nend\n")
      analyzed3 = []
      third = run_analysis(root, cache, analyzed3, {})
      assert_equal ["lib/util.rb"], analyzed3
      assert_equal 3, third.cache_hits
    end
  end

  def test_cached_files_are_not_read
    root = tmpdir
    write_tree(root, TREE)
    cache = Wtfperf::Cache.open
    Wtfperf.analyze(root, cache: cache, analyzer_id: "a") { |f| f.content.size.to_s }
    contents = []
    Wtfperf.analyze(root, cache: cache, analyzer_id: "a", on_result: ->(f, _r, _c) { contents << f.content }) { "x" }
    assert_equal [nil] * 4, contents
    # another analyzer id is a miss
    calls = 0
    Wtfperf.analyze(root, cache: cache, analyzer_id: "b") { calls += 1; "y" }
    assert_equal 4, calls
  ensure
    cache&.close
  end

  def test_without_cache_everything_is_analyzed
    root = tmpdir
    write_tree(root, TREE)
    calls = 0
    2.times do
      summary = Wtfperf.analyze(root, analyzer_id: "nocache") { calls += 1; "r" }
      assert_equal 0, summary.cache_hits
    end
    assert_equal 8, calls
  end

  def test_failed_files_are_reported_and_not_cached
    root = tmpdir
    write_tree(root, TREE)
    Wtfperf::Cache.open do |cache|
      errors = []
      summary = Wtfperf.analyze(root, cache: cache, analyzer_id: "picky",
                                      on_error: ->(e) { errors << e }) do |file|
        file.rel_path.end_with?(".py") ? nil : "ok"
      end
      assert_equal 1, summary.errors
      assert_equal 1, errors.size
      assert_equal Wtfperf::Status::ERR_CALLBACK, errors[0].status
      assert_equal File.join(root, "script.py"), errors[0].path

      again = []
      Wtfperf.analyze(root, cache: cache, analyzer_id: "picky") { |f| again << f.rel_path; "ok" }
      assert_equal ["script.py"], again
    end
  end

  def test_an_exception_in_the_analyzer_stops_and_is_reraised
    root = tmpdir
    write_tree(root, (1..100).to_h { |i| ["f#{i}.rb", "# #{i}\n"] })
    cache = Wtfperf::Cache.open
    calls = 0
    error = Class.new(StandardError)
    assert_raises(error) do
      Wtfperf.analyze(root, cache: cache, analyzer_id: "boom") do |_file|
        calls += 1
        raise error, "analyzer failed"
      end
    end
    assert_equal 1, calls
    assert_equal 0, cache.stats.memory_entries, "nothing cached for the failed run"
    assert_raises(TypeError) { Wtfperf.analyze(root, cache: cache, analyzer_id: "t") { 42 } }
  ensure
    cache&.close
  end

  def test_break_and_on_result_exceptions_stop_the_run
    root = tmpdir
    write_tree(root, (1..50).to_h { |i| ["f#{i}.rb", "# #{i}\n"] })
    Wtfperf::Cache.open do |cache|
      calls = 0
      value = Wtfperf.analyze(root, cache: cache, analyzer_id: "brk") { |f| calls += 1; break f.rel_path }
      assert_match(/\Af\d+\.rb\z/, value)
      assert_equal 1, calls

      results = 0
      err = assert_raises(IndexError) do
        Wtfperf.analyze(root, cache: cache, analyzer_id: "res",
                              on_result: ->(_f, _r, _c) { results += 1; raise IndexError, "from on_result" }) { "r" }
      end
      assert_equal "from on_result", err.message
      assert_equal 1, results

      # everything still works afterwards, and complete runs are cached
      Wtfperf.analyze(root, cache: cache, analyzer_id: "ok") { "r" }
      assert_equal 50, Wtfperf.analyze(root, cache: cache, analyzer_id: "ok") { flunk "cached" }.cache_hits
    end
  end

  def test_analyze_arguments_are_checked
    root = tmpdir
    write_tree(root, TREE)
    assert_raises(ArgumentError) { Wtfperf.analyze(root, analyzer_id: "x") }
    assert_raises(TypeError) { Wtfperf.analyze(root, analyzer_id: "x", cache: "nope") { "r" } }
    err = assert_raises(Wtfperf::InvalidError) { Wtfperf.analyze(root, analyzer_id: "") { "r" } }
    assert_equal Wtfperf::Status::ERR_INVALID, err.status
    refute_empty err.message
  end

  def test_closing_the_cache_inside_the_analyzer_is_refused
    root = tmpdir
    write_tree(root, TREE)
    cache = Wtfperf::Cache.open
    assert_raises(Wtfperf::StateError) do
      Wtfperf.analyze(root, cache: cache, analyzer_id: "x") { cache.close; "r" }
    end
    refute cache.closed?
    cache.close
    assert_raises(Wtfperf::ClosedError) { Wtfperf.analyze(root, cache: cache, analyzer_id: "x") { "r" } }
  end

  def test_close_from_another_thread_waits_for_the_call_in_flight
    root = tmpdir
    write_tree(root, TREE)
    cache = Wtfperf::Cache.open
    inside = Queue.new
    release = Queue.new
    first = true
    worker = Thread.new do
      Wtfperf.analyze(root, cache: cache, analyzer_id: "w", threads: 1) do |_f|
        if first
          first = false
          inside << true
          release.pop
        end
        "r"
      end
    end
    inside.pop
    closer = Thread.new { cache.close; :closed }
    sleep 0.2
    assert closer.alive?, "close waits while analyze uses the cache"
    refute cache.closed?
    assert_raises(Wtfperf::ClosedError) { cache.get("k") } # no new call from another thread meanwhile
    release << true
    summary = worker.value
    assert_equal 0, summary.errors
    assert_equal :closed, closer.value
    assert cache.closed?
  end
end
