# frozen_string_literal: true

require "test_helper"
require "pathname"

# A single String or Pathname where a list of paths or globs is expected,
# and a NUL inside any text that goes to C as a NUL-terminated string.
class TestArguments < Minitest::Test
  include WtfperfTestHelpers

  # Array("/etc/hostname") is ["/etc/hostname"], so a bare String was taken
  # as a list of one; the other bindings (Python, Node) refuse it, since
  # iterating it would split it into characters ("/" a dependency: the whole
  # filesystem). Refused here too, naming the parameter.
  def test_a_single_string_or_pathname_where_a_list_is_expected_is_a_type_error
    root = tmpdir
    write_tree(root, "a.rb" => "a\n", "b.txt" => "b\n")
    dep = File.join(root, "a.rb")
    Wtfperf::Cache.open do |cache|
      [dep, Pathname.new(dep)].each do |single|
        err = assert_raises(TypeError) { cache.set("k", "v", deps: single) }
        assert_match(/deps/, err.message)
        assert_raises(TypeError) { cache.set_many([["k", "v", { deps: single }]]) }
        err = assert_raises(TypeError) { cache.check_file_changes(single) }
        assert_match(/paths/, err.message)
      end
      %i[include_globs exclude_globs].each do |field|
        err = assert_raises(TypeError) { Wtfperf.scan(root, field => "*.rb") }
        assert_match(/#{field}/, err.message)
        assert_raises(TypeError) { Wtfperf.analyze(root, analyzer_id: "id", field => "*.rb") { |_f| "" } }
      end
      assert_nil cache.get("k")
      # Lists still work (an Array or any Enumerable), and nil means none.
      cache.set("k", "v", deps: [dep])
      cache.set("k2", "v", deps: nil)
      assert_equal "v", cache.get("k")
      assert_equal [], cache.check_file_changes([Pathname.new(dep)])
      seen = []
      Wtfperf.scan(root, include_globs: ["*.rb"], sorted: true) { |f| seen << f.rel_path }
      assert_equal ["a.rb"], seen
    end
  end

  # Refused with ArgumentError (as a NUL in a path already was), never cut
  # short at the NUL.
  def test_a_nul_in_a_text_argument_is_refused
    root = tmpdir
    write_tree(root, "a.rb" => "a\n")
    err = assert_raises(ArgumentError) { Wtfperf.analyze(root, analyzer_id: "todo@1\0x") { |_f| "" } }
    assert_match(/analyzer_id/, err.message)
    assert_raises(ArgumentError) { Wtfperf.scan(root, include_globs: ["*.rb\0x"]) }
    assert_raises(ArgumentError) { Wtfperf.scan(root, exclude_globs: ["a\0"]) }
    profiler = Wtfperf::Profiler.new
    profiler.start
    assert_raises(ArgumentError) { profiler.enter_scope("a\0b") }
    assert_raises(ArgumentError) { profiler.scope("a\0b") { 1 } }
    profiler.exit_scope(profiler.enter_scope("a"))
    profile = profiler.stop
    Wtfperf::ProfileManager.new.tap do |manager|
      assert_raises(ArgumentError) { manager.add("run\0x", profile) }
      manager.close
    end
    assert_raises(ArgumentError) { Wtfperf.bench_run(formats: "json\0md", project: File.join(root, "missing")) }
    assert_raises(ArgumentError) { Wtfperf.bench_run(formats: ["json\0", "md"], project: File.join(root, "missing")) }
    assert_raises(ArgumentError) { Wtfperf.debug_force_panic("boom\0x") }
    profile.close
    profiler.close
  end
end
