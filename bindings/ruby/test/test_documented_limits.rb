# frozen_string_literal: true

require "test_helper"

# Limits the README documents (Callbacks and threads), checked so the text stays true.
class TestDocumentedLimits < Minitest::Test
  include WtfperfTestHelpers

  def test_readme_documents_the_limits
    readme = File.read(File.expand_path("../README.md", __dir__))
    ["Ractor::UnsafeError", "`ttl_s: 0` means the entry never expires", "those C callbacks return nothing"].each do |text|
      assert readme.include?(text), "README documents: #{text}"
    end
  end

  def test_a_raise_in_on_error_without_a_block_propagates_after_the_walk
    root = tmpdir
    write_tree(root, (1..20).to_h { |i| ["f#{i}.txt", "x"] })
    3.times { |i| File.symlink(File.join(root, "nowhere#{i}"), File.join(root, "dangling#{i}")) }
    calls = 0
    err = assert_raises(RuntimeError) do
      Wtfperf.scan(root, follow_links: true, on_error: ->(_e) { calls += 1; raise "stop" })
    end
    assert_equal "stop", err.message
    assert_equal 1, calls, "no handler call after the raise"
  end

  def test_ttl_zero_never_expires
    Wtfperf::Cache.open(memory_ttl_s: 0.05) do |cache|
      cache.set("forever", "v", ttl_s: 0)
      cache.set("short", "v")
      sleep 0.1
      assert_equal "v", cache.get("forever")
      assert_nil cache.get("short")
    end
  end

  def test_other_ractors_get_a_clean_unsafe_error
    skip "no Ractor" unless defined?(Ractor)
    verbose = $VERBOSE
    $VERBOSE = nil # "Ractor is experimental"
    r = Ractor.new do
      Wtfperf::Cache.open { |c| c.set("a", "b") }
      :no_error
    rescue Exception => e # rubocop:disable Lint/RescueException
      e.class.name
    end
    assert_equal "Ractor::UnsafeError", r.take
  ensure
    $VERBOSE = verbose
  end
end
