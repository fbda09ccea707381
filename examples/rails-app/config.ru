# Rack entry point, used by `rails s` (and by `puma` when run directly).
require_relative "config/environment"
require_relative "config/drain"

# On SIGTERM, announce the end of each keep-alive connection before puma stops (config/drain.rb).
use Drain::Middleware

run Rails.application
