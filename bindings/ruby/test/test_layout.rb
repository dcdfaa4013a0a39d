# frozen_string_literal: true

require "test_helper"
require "open3"
require "rbconfig"

# Every FFI::Struct matches include/wtfperf.h exactly: same field names in
# the same order (so a field added to the header is noticed), and, when a C
# compiler is around, the same offsets and size as the C compiler computes.
class TestLayout < Minitest::Test
  include WtfperfTestHelpers

  HEADER = File.join(Wtfperf::Loader::REPO_ROOT, "include", "wtfperf.h")

  def structs
    Wtfperf::Native.constants.filter_map do |name|
      klass = Wtfperf::Native.const_get(name)
      next unless klass.is_a?(Class) && klass < FFI::Struct

      c_name = "wtfperf_#{name.to_s.gsub(/(?<!^)([A-Z])/, '_\1').downcase}"
      c_name = "wtfperf_buf" if name == :Buf
      c_name = "wtfperf_cache_statistics" if name == :CacheStatistics
      [c_name, klass]
    end
  end

  # { "wtfperf_x" => ["field", ...] } parsed from the header.
  def header_fields
    text = File.read(HEADER).gsub(%r{/\*.*?\*/}m, "").gsub(%r{//[^\n]*}, "")
    text.scan(/typedef struct (\w+) \{(.*?)\} \1;/m).to_h do |name, body|
      fields = body.split(";").map(&:strip).reject(&:empty?).map { |decl| decl[/(\w+)\s*(\[\d+\])?\z/, 1] }
      [name, fields]
    end
  end

  def test_field_names_and_order_match_the_header
    skip "header not found at #{HEADER}" unless File.file?(HEADER)
    parsed = header_fields
    structs.each do |c_name, klass|
      assert parsed.key?(c_name), "#{c_name} (#{klass}) is not in the header"
      assert_equal parsed[c_name], klass.members.map(&:to_s), "fields of #{c_name}"
    end
  end

  def test_offsets_and_sizes_match_the_c_compiler
    skip "header not found" unless File.file?(HEADER)
    cc = %w[cc gcc clang].find { |c| system("#{c} --version >/dev/null 2>&1") }
    skip "no C compiler" unless cc
    dir = tmpdir
    lines = structs.flat_map do |c_name, klass|
      [%(printf("#{c_name} sizeof() %zu\\n", sizeof(#{c_name}));)] +
        klass.members.map { |f| %(printf("#{c_name} #{f} %zu\\n", offsetof(#{c_name}, #{f}));) }
    end
    File.write(File.join(dir, "layout.c"), <<~C)
      #include <stdio.h>
      #include <stddef.h>
      #include "wtfperf.h"
      int main(void) {
      #{lines.join("\n")}
        return 0;
      }
    C
    _out, err, status = Open3.capture3(cc, "-std=c11", "-I", File.dirname(HEADER), "-o", File.join(dir, "layout"),
                                       File.join(dir, "layout.c"))
    assert status.success?, err
    out, status = Open3.capture2(File.join(dir, "layout"))
    assert status.success?
    c_layout = out.lines.to_h { |l| k1, k2, v = l.split; ["#{k1} #{k2}", Integer(v)] }
    structs.each do |c_name, klass|
      assert_equal c_layout["#{c_name} sizeof()"], klass.size, "sizeof(#{c_name})"
      klass.members.each do |f|
        assert_equal c_layout["#{c_name} #{f}"], klass.offset_of(f), "offsetof(#{c_name}, #{f})"
      end
    end
  end
end
