#!/usr/bin/env ruby
# frozen_string_literal: true

# A tiny background worker: prints a numbered line every second and exits 0 on
# SIGTERM (or SIGINT / Ctrl-C). Plain Ruby, no gems. Run: ruby worker.rb
$stdout.sync = true

interval = Float(ENV.fetch("WORKER_INTERVAL", 1))
stop_r, stop_w = IO.pipe # a signal writes here, which cuts the sleep short
received = nil

%w[TERM INT].each do |sig|
  trap(sig) do
    received ||= sig
    stop_w.write_nonblock(".", exception: false)
  end
end

puts "worker: started, pid #{Process.pid}"
count = 0
until received
  count += 1
  puts "worker: tick #{count}"
  IO.select([stop_r], nil, nil, interval) # sleeps `interval` unless signalled
end
puts "worker: SIG#{received} after #{count} ticks, exiting"
exit 0
