# frozen_string_literal: true

ENV["BUNDLE_GEMFILE"] ||= File.expand_path("../Gemfile", __dir__)
require "bundler/setup" # gems come from Gemfile.lock, made offline by setup.sh

# Under a supervisor stdout is a pipe: flush every line, don't buffer.
$stdout.sync = true
$stderr.sync = true
