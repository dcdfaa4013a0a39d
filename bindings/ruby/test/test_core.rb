# frozen_string_literal: true

require "test_helper"

class TestCore < Minitest::Test
  def test_version_matches_the_gem
    assert_match(/\A\d+\.\d+\.\d+/, Wtfperf.library_version)
    assert_equal Wtfperf::API_VERSION, Wtfperf.library_version.split(".").first(2).join(".")
  end

  def test_library_path_honours_wtfperf_lib
    if ENV["WTFPERF_LIB"]
      assert_equal ENV["WTFPERF_LIB"], Wtfperf.library_path
    else
      assert_match(/libwtfperf\.so\z/, Wtfperf.library_path)
    end
  end

  def test_loader_candidates
    assert_equal ["/x/libwtfperf.so"], Wtfperf::Loader.candidates("WTFPERF_LIB" => "/x/libwtfperf.so")
    fallback = Wtfperf::Loader.candidates({})
    assert_equal "libwtfperf.so", fallback.last
    fallback[0...-1].each { |path| assert File.file?(path), path }
  end

  def test_forced_panic_raises_a_panic_error_with_status_and_message
    err = assert_raises(Wtfperf::PanicError) { Wtfperf.debug_force_panic("ruby says hi") }
    assert_kind_of Wtfperf::Error, err
    assert_equal Wtfperf::Status::ERR_PANIC, err.status
    assert_equal "WTFPERF_ERR_PANIC", err.status_name
    assert_includes err.message, "ruby says hi"
    # the library stays usable
    assert_equal Wtfperf.library_version, Wtfperf.library_version
  end

  def test_status_names
    assert_equal "WTFPERF_OK", Wtfperf.status_name(Wtfperf::Status::OK)
    assert_equal "WTFPERF_ERR_INVALID", Wtfperf.status_name(Wtfperf::Status::ERR_INVALID)
    assert_equal "WTFPERF_UNKNOWN", Wtfperf.status_name(12_345)
  end

  def test_error_classes_per_status
    assert_equal Wtfperf::InvalidError, Wtfperf.error_class(Wtfperf::Status::ERR_INVALID)
    assert_equal Wtfperf::StoreError, Wtfperf.error_class(Wtfperf::Status::ERR_STORE)
    assert_equal Wtfperf::Error, Wtfperf.error_class(-99)
  end

  def test_empty_buffer_is_copied_and_freed
    status, bytes = Wtfperf::Core.with_buf { |_buf| Wtfperf::Status::OK }
    assert_equal Wtfperf::Status::OK, status
    assert_equal "".b, bytes
  end

  def test_buffer_is_freed_when_the_call_fails
    assert_raises(Wtfperf::PanicError) do
      Wtfperf::Core.with_buf { |_buf| Native.wtfperf_debug_force_panic(nil) }
    end
  end

  def test_c_string_rejects_nul_bytes
    assert_raises(ArgumentError) { Wtfperf::Core.c_string("a\0b") }
    assert_raises(TypeError) { Wtfperf::Core.c_string(42) }
  end

  Native = Wtfperf::Native
end
