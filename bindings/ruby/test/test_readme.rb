# frozen_string_literal: true

require "test_helper"
require "open3"
require "rbconfig"

# The README's example runs as written.
class TestReadme < Minitest::Test
  include WtfperfTestHelpers

  README = File.expand_path("../README.md", __dir__)
  LIB = File.expand_path("../lib", __dir__)

  def example
    File.read(README)[/```ruby\n(.*?)```/m, 1] or flunk("no ruby example in the README")
  end

  def run_example(script, cwd, root)
    env = { "WTFPERF_LIB" => Wtfperf.library_path }
    out, err, status = Open3.capture3(env, RbConfig.ruby, "-I", LIB, script, root, chdir: cwd)
    assert status.success?, "example failed:\n#{out}\n#{err}"
    out
  end

  def test_readme_example_runs_and_second_run_is_cached
    work = tmpdir
    root = File.join(work, "project")
    write_tree(root, "a.rb" => "# TODO one\n# TODO two\n", "lib/b.rb" => "x = 1\n", "c.py" => "# TODO\n")
    script = File.join(work, "example.rb")
    File.write(script, example)

    first = run_example(script, work, root)
    assert_includes first, %(a.rb: {"todos":2}\n)
    assert_includes first, "2 files, 0 from the cache, 0 errors"
    second = run_example(script, work, root)
    assert_includes second, %(a.rb: {"todos":2} (cached)\n)
    assert_includes second, "lib/b.rb: {\"todos\":0} (cached)"
    assert_includes second, "2 files, 2 from the cache"
    assert_match(/peak \d+\.\d MB/, second)
  end
end
