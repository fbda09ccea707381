# frozen_string_literal: true

# How `rails s` behaves in this app. Loaded by bin/rails before the command runs.
require "rails/command"
require "rails/commands/server/server_command"

# Bind 127.0.0.1 unless told otherwise. Rails' own default is "localhost" in
# development and 0.0.0.0 in production; `-b` still wins, then $BINDING
# (Rails' own variable), then $BIND. The port is Rails' own: `-p`, then $PORT,
# then 3000.
ENV["BINDING"] ||= ENV.fetch("BIND", "127.0.0.1")

# No pidfile. Rails always hands Rack a pidfile (tmp/pids/server.pid), and Rack
# refuses to start ("A server is already running") when that file names a live
# process. Under a pid namespace a stale file says 1, which is always alive, so
# a killed server would never come back. A supervisor tracks the pid itself, so
# the file is only written when asked for with `-P FILE` or $PIDFILE.
#
# (Don't use `-P /dev/null` instead: Rack reads it as pid 0 = "dead" and
# deletes the file, which as root removes /dev/null itself.)
module NoDefaultPidfile
  private

  def pid
    explicit = options[:pid] || ENV["PIDFILE"]
    File.expand_path(explicit) if explicit
  end

  def prepare_restart
    super if pid
  end
end

Rails::Command::ServerCommand.prepend(NoDefaultPidfile)
