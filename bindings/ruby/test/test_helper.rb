# frozen_string_literal: true

require "minitest/autorun"
require "tmpdir"
require "fileutils"
require "shellwords"
require "wtfperf"

module WtfperfTestHelpers
  # Creates files under `dir` from a { "rel/path" => "content" } hash.
  def write_tree(dir, files)
    files.each do |rel, content|
      path = File.join(dir, rel)
      FileUtils.mkdir_p(File.dirname(path))
      File.binwrite(path, content)
    end
  end

  # A fresh temporary directory, removed after the test.
  def tmpdir
    dir = Dir.mktmpdir("wtfperf-rb")
    (@tmpdirs ||= []) << dir
    dir
  end

  def teardown
    (@tmpdirs || []).each { |dir| FileUtils.rm_rf(dir) }
    super
  end
end
