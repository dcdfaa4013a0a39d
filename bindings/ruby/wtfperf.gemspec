# frozen_string_literal: true

require_relative "lib/wtfperf/version"

Gem::Specification.new do |spec|
  spec.name = "wtfperf"
  spec.version = Wtfperf::VERSION
  spec.summary = "Ruby binding of libwtfperf: profiler, analysis cache, parallel scan and incremental analyze"
  spec.description = <<~TEXT
    Wraps the C ABI of libwtfperf (a Rust library) through the ffi gem: a
    sampling profiler with scopes and summaries, an in-memory + SQLite analysis
    cache invalidated by file content, a parallel gitignore-aware scanner that
    hands each file to a Ruby block, and incremental analysis over the cache.
    The native library is not bundled: build it with `cargo build --release`
    or point WTFPERF_LIB at libwtfperf.so.
  TEXT
  spec.authors = ["wtfperf developers"]
  spec.license = "MIT"
  spec.required_ruby_version = ">= 2.7"
  spec.files = Dir["lib/**/*.rb"] + ["README.md", "wtfperf.gemspec"]
  spec.require_paths = ["lib"]
  spec.add_dependency "ffi", "~> 1.15"
  spec.add_development_dependency "minitest", "~> 5.0"
  spec.add_development_dependency "rake", "~> 13.0"
end
