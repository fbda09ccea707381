# frozen_string_literal: true

require_relative "boot"

require "rails"
require "action_controller/railtie"

module RailsApp
  class Application < Rails::Application
    config.load_defaults 6.1
    config.root = File.expand_path("..", __dir__)

    # Reload code on change in development only; load everything up front elsewhere.
    config.cache_classes = !Rails.env.development?
    config.eager_load = !Rails.env.development?

    # JSON/text only: no cookies, sessions, flash or views.
    config.api_only = true

    # Accept any Host header (development otherwise allows only localhost).
    config.hosts.clear

    # Log to stdout only (no log/ directory), at info outside development.
    config.logger = ActiveSupport::TaggedLogging.new(ActiveSupport::Logger.new($stdout))
    config.log_level = ENV.fetch("RAILS_LOG_LEVEL") { Rails.env.development? ? "debug" : "info" }

    # Production refuses to serve without a secret_key_base. This app signs no
    # cookies, so a per-boot random one is fine; set SECRET_KEY_BASE for real apps.
    # (Also keeps development from writing tmp/development_secret.txt.)
    config.secret_key_base = ENV.fetch("SECRET_KEY_BASE") { SecureRandom.hex(64) }
  end
end
