# frozen_string_literal: true

# Puma settings, read by `rails s` (and by `puma` run directly).

# Single mode: one process, no workers, a few threads.
threads_count = Integer(ENV.fetch("RAILS_MAX_THREADS", 3))
threads threads_count, threads_count

# Used when puma is run directly; under `rails s` the -b/-p flags,
# $BINDING/$BIND and $PORT are applied by config/server.rb and Rails.
bind "tcp://#{ENV.fetch('BINDING') { ENV.fetch('BIND', '127.0.0.1') }}:#{ENV.fetch('PORT', 3000)}"

environment ENV.fetch("RAILS_ENV", "development")

# SIGTERM = graceful stop and exit 0 (by default puma re-raises it: exit 143).
raise_exception_on_sigterm false

# ...after a drain: DRAIN_SECONDS (default 1) in which every response ends its keep-alive
# connection with `Connection: close`, so no client sends a request into puma's close of idle
# connections (config/drain.rb).
require "puma/launcher"
require_relative "drain"
Puma::Launcher.prepend(Drain::GracefulStop)

# No pidfile and no state file (see config/server.rb).
