# frozen_string_literal: true

require "test_helper"
require "open3"
require "rbconfig"

# Library lookup and the version check, each in a fresh Ruby process.
class TestLoading < Minitest::Test
  include WtfperfTestHelpers

  LIB = File.expand_path("../lib", __dir__)

  def ruby(env, code)
    Open3.capture3(env, RbConfig.ruby, "-I", LIB, "-e", code)
  end

  def test_build_tree_is_the_default
    built = Wtfperf::Loader.candidates({}).reject { |path| path == "libwtfperf.so" }
    skip "no libwtfperf.so in the build tree" if built.empty?
    out, err, status = ruby({ "WTFPERF_LIB" => nil }, 'require "wtfperf"; print Wtfperf.library_path')
    assert status.success?, err
    assert_equal built.first, out
  end

  # A script that scans and ends must exit: ffi's callback dispatcher
  # thread, once started inside a native call's uninterruptible section,
  # could not be killed at exit and the process hung there.
  def test_a_script_that_scans_exits
    dir = tmpdir
    write_tree(dir, { "a.rb" => "1", "b/c.rb" => "2" })
    code = "require 'wtfperf'; n = 0; Wtfperf.scan(#{dir.inspect}) { n += 1 }; print n"
    Open3.popen3({}, RbConfig.ruby, "-I", LIB, "-e", code) do |stdin, stdout, stderr, wait|
      stdin.close
      unless wait.join(30)
        Process.kill(:KILL, wait.pid)
        flunk "the script did not exit within 30 s (#{stdout.read}#{stderr.read})"
      end
      assert wait.value.success?, stderr.read
      assert_equal "2", stdout.read
    end
  end

  def test_a_missing_wtfperf_lib_is_a_clear_load_error
    missing = File.join(tmpdir, "nope", "libwtfperf.so")
    _out, err, status = ruby({ "WTFPERF_LIB" => missing }, 'require "wtfperf"')
    refute status.success?
    assert_includes err, "LoadError"
    assert_includes err, missing
    assert_includes err, "WTFPERF_LIB"
  end

  def test_a_library_of_another_version_is_refused
    cc = %w[cc gcc clang].find { |c| system("#{c} --version >/dev/null 2>&1") }
    skip "no C compiler" unless cc
    dir = tmpdir
    File.write(File.join(dir, "fake.c"), <<~C)
      #include <stdint.h>
      #include <stddef.h>
      const char *wtfperf_version(void) { return "9.4.0"; }
      const char *wtfperf_status_str(int32_t s) { (void)s; return "WTFPERF_OK"; }
      const char *wtfperf_last_error(void) { return ""; }
      void wtfperf_buf_free(void *b) { (void)b; }
      int32_t wtfperf_debug_force_panic(const char *m) { (void)m; return -6; }
    C
    so = File.join(dir, "libwtfperf.so")
    _out, err, status = Open3.capture3(cc, "-shared", "-fPIC", "-o", so, File.join(dir, "fake.c"))
    assert status.success?, err
    _out, err, status = ruby({ "WTFPERF_LIB" => so }, 'require "wtfperf"')
    refute status.success?
    assert_includes err, "LoadError"
    assert_includes err, '"9.4.0"'
    assert_includes err, "needs 0.1.x"
  end
end
