# frozen_string_literal: true

module Wtfperf
  # Version of this gem. Its MAJOR.MINOR is the C API version it was written
  # against; the loaded library must report the same MAJOR.MINOR.
  VERSION = "0.1.0"

  # "MAJOR.MINOR" the library must match (checked when the gem is required).
  API_VERSION = VERSION.split(".").first(2).join(".")
end
