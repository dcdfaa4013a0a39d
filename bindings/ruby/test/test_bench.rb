# frozen_string_literal: true

require "test_helper"

class TestBench < Minitest::Test
  include WtfperfTestHelpers

  def test_generated_project_scans_to_the_promised_count
    root = File.join(tmpdir, "project")
    files = Wtfperf.bench_generate(root, files: 30, seed: 7)
    assert_equal 30, files
    summary = Wtfperf.scan(root) { |_f| nil }
    assert_equal files, summary.files_seen
    err = assert_raises(Wtfperf::InvalidError) { Wtfperf.bench_generate(root, files: 30) }
    assert_match(/empty|exist/i, err.message)
  end

  def test_bench_generate_rejects_bad_counts_before_any_native_call
    root = File.join(tmpdir, "project")
    native = Wtfperf.const_get(:Native)
    called = false
    native.singleton_class.alias_method(:__orig_bench_generate, :wtfperf_bench_generate)
    native.define_singleton_method(:wtfperf_bench_generate) { |*| called = true; raise "native call reached" }
    begin
      [{ files: -1 }, { files: 3, seed: -1 }, { files: 3, max_file_size: -1 }].each do |kw|
        assert_raises(ArgumentError, kw.inspect) { Wtfperf.bench_generate(root, **kw) }
      end
      assert_raises(RangeError) { Wtfperf.bench_generate(root, files: 3, seed: 1 << 64) }
      assert_raises(ArgumentError) { Wtfperf.bench_generate(root, files: 2.5) }
      assert_raises(ArgumentError) { Wtfperf.bench_generate(root, files: "3") }
    ensure
      native.singleton_class.alias_method(:wtfperf_bench_generate, :__orig_bench_generate)
      native.singleton_class.send(:remove_method, :__orig_bench_generate)
    end
    refute called, "no native call was made"
    refute File.exist?(root)
  end

  def test_bench_run_small_suite
    work = tmpdir
    out = File.join(work, "reports")
    report = Wtfperf.bench_run(generate_files: 40, runs: 1, warmup: 0, parallel: 2, work_dir: work,
                               output_dir: out, formats: %w[json md])
    assert_equal "wtfperf-bench", report["schema"]
    assert_equal Wtfperf.library_version, report["wtfperf_version"]
    assert_equal 1, report.dig("config", "runs")
    refute_empty report["projects"]
    assert_equal %w[.json .md], Dir.children(out).map { |f| File.extname(f) }.uniq.sort
  end

  def test_bench_errors
    err = assert_raises(Wtfperf::InvalidError) { Wtfperf.bench_run(runs: 0) }
    assert_equal Wtfperf::Status::ERR_INVALID, err.status
    assert_raises(Wtfperf::InvalidError) { Wtfperf.bench_run(formats: "pdf", runs: 1) }
    assert_raises(Wtfperf::IoError) { Wtfperf.bench_run(project: File.join(tmpdir, "missing"), runs: 1) }
    assert_raises(ArgumentError) { Wtfperf.bench_run(nope: 1) }
  end
end
