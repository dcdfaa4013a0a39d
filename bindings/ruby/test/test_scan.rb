# frozen_string_literal: true

require "test_helper"

class TestScan < Minitest::Test
  include WtfperfTestHelpers

  TREE = {
    "a.rb" => "puts :a\n",
    "lib/b.rb" => "class B; end\n",
    "lib/deep/c.py" => "print('c')\n",
    "README.md" => "# readme\n",
    "big.txt" => "x" * 5000
  }.freeze

  def make_tree
    root = tmpdir
    write_tree(root, TREE)
    root
  end

  def test_scan_a_small_tree_with_exact_counts
    root = make_tree
    files = []
    summary = Wtfperf.scan(root, max_file_size: 4096, sorted: true) { |file| files << file }
    assert_kind_of Wtfperf::ScanSummary, summary
    assert_equal 5, summary.files_seen
    assert_equal 4, summary.files_scanned
    assert_equal 1, summary.files_skipped
    assert_equal 0, summary.errors
    # the skipped file is reported (not counted as an error) in skipped_files, not in file_errors
    assert_equal [], summary.file_errors
    assert_equal summary.errors, summary.file_errors.size
    assert_equal 1, summary.skipped_files.size
    assert_equal summary.files_skipped, summary.skipped_files.size
    skipped = summary.skipped_files[0]
    assert_equal File.join(root, "big.txt"), skipped.path
    assert_equal Wtfperf::Status::ERR_INVALID, skipped.status
    assert_match(/\Askipped:/, skipped.message)
    expected = TREE.reject { |rel, _| rel == "big.txt" }
    assert_equal expected.values.sum(&:bytesize), summary.bytes_read
    assert_operator summary.duration_s, :>=, 0

    assert_equal expected.keys.sort, files.map(&:rel_path).sort
    files.each do |file|
      assert_equal File.join(root, file.rel_path), file.path
      assert_equal expected[file.rel_path], file.content
      assert_equal Encoding::BINARY, file.content.encoding
      assert_equal expected[file.rel_path].bytesize, file.size
      assert_equal 16, file.content_hash.bytesize
      assert_match(/\A\h{32}\z/, file.hash_hex)
      refute_equal "0" * 32, file.hash_hex
      assert_operator file.mtime_ns, :>, 0
    end
    assert_equal files.map(&:rel_path).sort, files.map(&:rel_path), "sorted: true keeps the order"
    rb = files.find { |f| f.rel_path == "a.rb" }
    assert_equal "ruby", rb.language.to_s.downcase
  end

  def test_content_hash_is_xxh3_128
    root = tmpdir
    write_tree(root, "empty" => "")
    hashes = []
    Wtfperf.scan(root) { |file| hashes << file.hash_hex }
    # XXH3-128 of no bytes, as `xxhsum -H2` prints it
    assert_equal ["99aa06d3014798d86001c324468d497f"], hashes

    xxhsum = ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).map { |d| File.join(d, "xxhsum") }.find { |f| File.executable?(f) }
    skip "xxhsum not installed" unless xxhsum
    root = make_tree
    Wtfperf.scan(root, include_globs: ["*.rb"]) do |file|
      expected = `#{xxhsum} -H2 #{file.path.shellescape} 2>/dev/null`.split.first
      assert_equal expected, file.hash_hex
    end
  end

  def test_options_globs_and_no_content
    root = make_tree
    seen = []
    summary = Wtfperf.scan(root, include_content: false, exclude_globs: ["*.md", "*.txt"]) { |f| seen << f }
    assert_equal 3, summary.files_seen
    assert_equal %w[a.rb lib/b.rb lib/deep/c.py], seen.map(&:rel_path).sort
    seen.each do |file|
      assert_nil file.content
      assert_equal "\0" * 16, file.content_hash
    end
    only_py = []
    Wtfperf.scan(root, include_globs: ["**/*.py"]) { |f| only_py << f.rel_path }
    assert_equal ["lib/deep/c.py"], only_py
    assert_raises(ArgumentError) { Wtfperf.scan(root, callbacks_parallel: true) {} }
    assert_raises(ArgumentError) { Wtfperf.scan(root, no_such: 1) {} }
    assert_raises(ArgumentError) { Wtfperf.scan(root, threads: -1) {} }
    assert_raises(ArgumentError) { Wtfperf.scan(root, include_globs_len: 3) {} }
    err = assert_raises(Wtfperf::InvalidError) { Wtfperf.scan(root, chunk_size: 0) {} }
    assert_match(/chunk_size/, err.message)
  end

  def test_progress_handler
    root = make_tree
    progress = []
    Wtfperf.scan(root, on_progress: ->(p) { progress << p }) { |_f| nil }
    progress.each { |p| assert_kind_of Wtfperf::Progress, p }
    assert(progress.each_cons(2).all? { |a, b| a.files_done <= b.files_done })
  end

  def test_an_exception_in_the_block_stops_the_scan_and_is_reraised
    root = tmpdir
    write_tree(root, (1..200).to_h { |i| ["f#{i}.txt", "file #{i}\n"] })
    calls = 0
    boom = RuntimeError.new("boom from the block")
    raised = assert_raises(RuntimeError) do
      Wtfperf.scan(root) do |_file|
        calls += 1
        raise boom
      end
    end
    assert_same boom, raised
    assert_equal 1, calls, "the block is not called again once it raised"
    # the library is fine afterwards
    count = 0
    assert_equal 200, Wtfperf.scan(root) { count += 1 }.files_scanned
    assert_equal 200, count
  end

  def test_break_throw_and_return_leave_the_scan_cleanly
    root = make_tree
    calls = 0
    result = Wtfperf.scan(root) do |file|
      calls += 1
      break file.rel_path
    end
    assert_kind_of String, result
    assert_equal 1, calls

    thrown = catch(:found) { Wtfperf.scan(root) { |f| throw :found, f.size } }
    assert_kind_of Integer, thrown
    assert_equal :returned, scan_and_return(root)
  end

  def scan_and_return(root)
    Wtfperf.scan(root) { return :returned }
    :not_returned
  end

  def test_scans_from_other_threads_and_nested_scans
    root = make_tree
    counts = Array.new(3) do
      Thread.new do
        n = 0
        Wtfperf.scan(root) { |_f| n += 1; Thread.pass }
        n
      end
    end.map(&:value)
    assert_equal [5, 5, 5], counts

    pairs = 0
    Wtfperf.scan(root, include_globs: ["*.rb"]) do |_outer|
      Wtfperf.scan(root, include_globs: ["*.md"]) { |_inner| pairs += 1 }
    end
    assert_equal 2, pairs
  end

  class Stop < StandardError; end

  def test_thread_raise_during_a_scan_stops_it
    root = File.join(tmpdir, "big")
    Wtfperf.bench_generate(root, files: 400)
    [0, 0.001].each do |nap|
      calls = 0
      started = Queue.new
      worker = Thread.new do
        Wtfperf.scan(root, chunk_size: 1, threads: 1) do |_f|
          started << true if calls.zero?
          calls += 1
          sleep nap if nap.positive?
        end
        :finished
      end
      worker.report_on_exception = false
      started.pop
      worker.raise(Stop, "stop now")
      result = begin
        worker.value
      rescue Stop
        :stopped
      end
      if nap.positive?
        assert_equal :stopped, result
        assert_operator calls, :<, 400
      else
        # the exception lands in the block or in the binding's trampoline
        # (then it is raised after the native call); a fast machine may finish first
        assert_includes %i[stopped finished], result
      end
    end
    assert_equal 400, Wtfperf.scan(root) { nil }.files_seen
  end

  def test_an_exception_in_on_error_or_on_progress_is_reraised
    root = make_tree
    assert_raises(KeyError) do
      Wtfperf.scan(root, on_progress: ->(_p) { raise KeyError, "from progress" }) { |_f| nil }
    end
  end

  def test_errors_surface_as_ruby_exceptions
    missing = File.join(tmpdir, "does", "not", "exist")
    err = assert_raises(Wtfperf::Error) { Wtfperf.scan(missing) { |_f| nil } }
    assert_operator err.status, :<, 0
    refute_empty err.message
    assert_raises(ArgumentError) { Wtfperf.scan("bad\0root") { |_f| nil } }
  end

  def test_unreadable_files_are_reported_not_fatal
    root = make_tree
    dangling = File.join(root, "dangling.rb")
    File.symlink(File.join(root, "nowhere.rb"), dangling)
    errors = []
    files = 0
    summary = Wtfperf.scan(root, follow_links: true, on_error: ->(e) { errors << e }) { |_f| files += 1 }
    assert_equal 5, files
    assert_equal 1, summary.errors
    assert_equal 1, errors.size
    assert_equal dangling, errors[0].path
    assert_equal Wtfperf::Status::ERR_IO, errors[0].status
    refute_empty errors[0].message
    assert_equal errors, summary.file_errors
  end
end
