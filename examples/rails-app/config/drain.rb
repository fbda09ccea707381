# frozen_string_literal: true

# Ending keep-alive connections without a race when puma stops gracefully (SIGTERM).
#
# puma 5.6 closes every idle keep-alive connection the moment its graceful stop begins, without a
# word to the client: a request the client sends at that moment meets the close and fails
# (ECONNRESET, or an end of stream under the request). Under a supervisor that rolls the app
# (contain's rolling restart: the new instance already serves from the same socket) that close is
# the only request lost in a restart. HTTP's own way to end a persistent connection is to say so on
# a response (`Connection: close`, RFC 9112 section 9.6): the client then sends nothing more on it.
#
# So on SIGTERM the server first drains for DRAIN_SECONDS (default 1): it goes on answering, and
# every response ends its connection, announced; clients reconnect, through the listening socket,
# to whichever instance accepts. Only then does puma's own graceful stop begin (in-flight requests
# finish, connections still idle after the whole drain are closed: a client that sent nothing
# for that long). DRAIN_SECONDS=0 leaves puma's behaviour as it is.
module Drain
  @draining = false

  class << self
    def draining?
      @draining
    end

    # Called in puma's SIGTERM handler: a flag and a sleep, both allowed there; puma's threads
    # go on serving meanwhile.
    def drain!
      # Read here, in the signal handler, where an exception would cut the graceful stop short.
      seconds = Float(ENV.fetch("DRAIN_SECONDS", "1"), exception: false) || 1.0
      return unless seconds.positive?

      @draining = true
      sleep seconds
    end
  end

  # Rack middleware (config.ru): while draining, each response ends its connection. puma decides
  # keep-alive from the request's Connection header once the app has answered (Request#str_headers),
  # so a request already in the app when the drain began is answered with `Connection: close` too.
  class Middleware
    def initialize(app)
      @app = app
    end

    def call(env)
      response = @app.call(env)
      env["HTTP_CONNECTION"] = "close" if Drain.draining?
      response
    end
  end

  # Puma::Launcher#graceful_stop is what puma's SIGTERM handler runs: drain first.
  module GracefulStop
    def graceful_stop
      Drain.drain!
      super
    end
  end
end
