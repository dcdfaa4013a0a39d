# frozen_string_literal: true

require "test_helper"

# Option values are checked against their C types instead of being coerced.
class TestValidation < Minitest::Test
  include WtfperfTestHelpers

  def test_booleans_must_be_true_or_false
    root = tmpdir
    err = assert_raises(ArgumentError) { Wtfperf.scan(root, sorted: "false") }
    assert_match(/sorted must be true or false/, err.message)
    assert_raises(ArgumentError) { Wtfperf.scan(root, include_content: nil) }
    assert_raises(ArgumentError) { Wtfperf::Profiler.new(trace_memory: 1) }
    assert_equal 0, Wtfperf.scan(root, sorted: false, include_content: true).files_seen
  end

  def test_integers_must_be_integers_in_range
    root = tmpdir
    err = assert_raises(ArgumentError) { Wtfperf.scan(root, max_depth: 1.7) }
    assert_match(/max_depth must be an Integer/, err.message)
    assert_raises(ArgumentError) { Wtfperf.scan(root, threads: "2") }
    assert_raises(ArgumentError) { Wtfperf.scan(root, max_file_size: -1) }
    assert_raises(RangeError) { Wtfperf.scan(root, max_file_size: 1 << 64) }
    assert_raises(ArgumentError) { Wtfperf::Cache.open(memory_max_entries: 10.0) }
    assert_equal 0, Wtfperf.scan(root, max_depth: 1, threads: 2).files_seen
  end

  def test_floats_must_be_numbers
    assert_raises(ArgumentError) { Wtfperf::Cache.open(memory_ttl_s: "60") }
    Wtfperf::Cache.open(memory_ttl_s: 60) { |cache| cache.set("k", "v") } # an Integer is fine
  end

  def test_set_many_rows_must_be_pairs_or_triples
    Wtfperf::Cache.open do |cache|
      err = assert_raises(ArgumentError) { cache.set_many([%w[a 1 x]]) }
      assert_match(/\[key, value\]/, err.message)
      assert_raises(ArgumentError) { cache.set_many([%w[a]]) }
      assert_raises(ArgumentError) { cache.set_many(["a"]) }
      cache.set_many([%w[a 1], ["b", "2", { ttl_s: 60 }]])
      assert_equal "2", cache.get("b")
    end
  end
end
