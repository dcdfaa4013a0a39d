# frozen_string_literal: true

require "test_helper"

class TestCache < Minitest::Test
  include WtfperfTestHelpers

  def test_round_trip_with_file_invalidation
    dir = tmpdir
    source = File.join(dir, "a.rb")
    dep = File.join(dir, "config.yml")
    File.write(source, "puts 1\n")
    File.write(dep, "strict: true\n")

    Wtfperf::Cache.open(dir: File.join(dir, "cache")) do |cache|
      cache.set("lint:a.rb", '{"findings":[]}', file_path: source, deps: [dep])
      cache.set("plain", "value")
      assert_equal '{"findings":[]}', cache.get("lint:a.rb")
      assert_equal Encoding::BINARY, cache.get("plain").encoding
      assert_equal "value", cache["plain"]
      assert_nil cache.get("missing")

      assert_empty cache.check_file_changes([source, dep])
      File.write(source, "puts 2\n")
      yielded = []
      changed = cache.check_file_changes([source, dep]) { |path| yielded << path }
      assert_equal [source], changed
      assert_equal changed, yielded
      assert_nil cache.get("lint:a.rb"), "an entry bound to a changed file is a miss"
      assert_equal "value", cache.get("plain")
    end
  end

  def test_dependency_change_and_invalidate_file
    dir = tmpdir
    source = File.join(dir, "b.rb")
    dep = File.join(dir, "dep.rb")
    File.write(source, "x\n")
    File.write(dep, "y\n")
    cache = Wtfperf::Cache.open
    cache.set("k1", "v1", deps: [dep])
    assert_equal "v1", cache.get("k1")
    File.write(dep, "changed\n")
    assert_nil cache.get("k1"), "an entry whose dependency changed is a miss"

    cache.set("k2", "v2", file_path: source)
    cache.set("k3", "v3", file_path: source)
    assert_equal 2, cache.invalidate_file(source)
    assert_nil cache.get("k2")
    assert_equal 0, cache.invalidate_file(source)
  ensure
    cache&.close
  end

  def test_persistent_tier_survives_reopen
    dir = File.join(tmpdir, "store")
    Wtfperf::Cache.open(dir: dir) { |c| c.set("key\0with nul", "\xFF\x00bytes".b) }
    Wtfperf::Cache.open(dir: dir) do |cache|
      assert_equal "\xFF\x00bytes".b, cache.get("key\0with nul")
      stats = cache.stats
      assert_kind_of Wtfperf::CacheStats, stats
      assert_operator stats.persistent_entries, :>=, 1
      assert_operator stats.persistent_hits, :>=, 1
    end
  end

  def test_invalidate_clear_stats_and_cleanup
    cache = Wtfperf::Cache.open(memory_max_entries: 10)
    cache["a"] = "1"
    cache["b"] = "2"
    cache["empty"] = ""
    assert_equal "", cache.get("empty")
    cache.invalidate("a")
    assert_nil cache.get("a")
    assert_equal "2", cache.get("b")
    stats = cache.stats
    assert_operator stats.memory_hits, :>=, 2
    assert_operator stats.memory_misses, :>=, 1
    assert stats.hit_rate.between?(0.0, 1.0)
    assert_equal 3, stats.sets
    assert_equal false, stats.recovered
    assert_kind_of Hash, cache.stats_hash
    assert_kind_of Integer, cache.cleanup_expired
    cache.clear
    assert_nil cache.get("b")
    assert_equal 0, cache.stats.memory_entries
  ensure
    cache&.close
  end

  def test_set_many_and_explain_miss
    dir = tmpdir
    source = File.join(dir, "m.rb")
    File.write(source, "m\n")
    Wtfperf::Cache.open(dir: File.join(dir, "cache")) do |cache|
      cache.set_many("a" => "1", "b" => "2")
      cache.set_many([["c", "3"], ["bound", "4", { file_path: source, ttl_s: 60 }], ["", "empty key"]])
      cache.set_many([])
      assert_equal %w[1 2 3 4], %w[a b c bound].map { |k| cache.get(k) }
      assert_equal "empty key", cache.get("")
      assert_raises(ArgumentError) { cache.set_many([["k", "v", { bogus: 1 }]]) }

      File.write(source, "changed\n")
      assert_nil cache.get("bound")
      explained = cache.explain_miss("bound")
      assert_equal "file_changed", explained["last_reason"]
      assert_nil cache.get("never")
      assert_equal "not_found", cache.explain_miss("never")["last_reason"]
    end
  end

  def test_root_relative_paths_survive_a_move
    base = tmpdir
    old_root = File.join(base, "checkout1")
    write_tree(old_root, "src/x.rb" => "x = 1\n")
    cache_dir = File.join(base, "cache")
    Wtfperf::Cache.open(dir: cache_dir, root: old_root) do |cache|
      cache.set("lint:x", "ok", file_path: File.join(old_root, "src/x.rb"))
    end
    new_root = File.join(base, "checkout2")
    FileUtils.mv(old_root, new_root)
    Wtfperf::Cache.open(dir: cache_dir, root: new_root) do |cache|
      assert_equal "ok", cache.get("lint:x")
    end
  end

  def test_ttl_expiry
    cache = Wtfperf::Cache.open
    cache.set("short", "lived", ttl_s: 0.05)
    cache.set("long", "lived")
    sleep 0.2
    assert_nil cache.get("short")
    assert_equal "lived", cache.get("long")
  ensure
    cache&.close
  end

  def test_errors_are_ruby_exceptions
    cache = Wtfperf::Cache.open
    err = assert_raises(Wtfperf::InvalidError) { cache.set("k", "v", ttl_s: Float::NAN) }
    assert_equal Wtfperf::Status::ERR_INVALID, err.status
    refute_empty err.message
    assert_raises(TypeError) { cache.set(:sym, "v") }
    assert_raises(ArgumentError) { Wtfperf::Cache.open(bogus: 1) }
    assert_raises(ArgumentError) { cache.set("k", "v", file_path: "a\0b") }

    blocker = File.join(tmpdir, "file")
    File.write(blocker, "not a directory")
    err = assert_raises(Wtfperf::Error) { Wtfperf::Cache.open(dir: File.join(blocker, "sub")) }
    assert_operator err.status, :<, 0
    refute_empty err.message
  ensure
    cache&.close
  end

  def test_close_is_idempotent_and_use_after_close_raises
    cache = Wtfperf::Cache.open
    assert_nil cache.close
    assert_nil cache.close
    assert cache.closed?
    assert_raises(Wtfperf::ClosedError) { cache.get("k") }
    assert_raises(Wtfperf::ClosedError) { cache.set("k", "v") }
    assert_match(/closed/, cache.inspect)
  end

  def test_shared_between_threads
    Wtfperf::Cache.open do |cache|
      threads = Array.new(4) do |t|
        Thread.new { 50.times { |i| cache.set("t#{t}:#{i}", i.to_s) } }
      end
      threads.each(&:join)
      assert_equal "49", cache.get("t3:49")
    end
  end
end
