# Rack entry point, used by `rails s` (and by `puma` when run directly).
require_relative "config/environment"

run Rails.application
