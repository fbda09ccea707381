# frozen_string_literal: true

require "socket"

class StatusController < ActionController::API
  # GET /up -> 200 "ok"
  def up
    render plain: "ok"
  end

  # GET /info -> what this process sees of itself and its sandbox
  def info
    render json: {
      hostname: Socket.gethostname,
      pid: Process.pid,
      ppid: Process.ppid,
      cgroup: cgroup_lines,
      memory_limit: memory_limit,
      uid: Process.uid,
      rails_env: Rails.env,
      ruby_version: RUBY_VERSION,
    }
  end

  private

  def cgroup_lines
    File.readlines("/proc/self/cgroup", chomp: true)
  rescue SystemCallError
    []
  end

  # The memory limit of this process's cgroup in bytes, "max" when unlimited
  # (cgroup v2), or nil when no limit file can be read. Looks in our own
  # cgroup's directory first, then at the top of /sys/fs/cgroup (which is our
  # own cgroup under a cgroup namespace).
  def memory_limit
    v2 = cgroup_lines.find { |l| l.start_with?("0::") }&.delete_prefix("0::")
    v1 = cgroup_lines.map { |l| l.split(":", 3) }.find { |_, c, _| c.split(",").include?("memory") }&.last
    candidates = []
    candidates += [File.join("/sys/fs/cgroup", v2, "memory.max"), "/sys/fs/cgroup/memory.max"] if v2
    candidates += [File.join("/sys/fs/cgroup/memory", v1, "memory.limit_in_bytes"),
                   "/sys/fs/cgroup/memory/memory.limit_in_bytes"] if v1
    candidates.uniq.each do |path|
      value = File.read(path).strip
      return value.match?(/\A\d+\z/) ? Integer(value) : value
    rescue SystemCallError
      next
    end
    nil
  end
end
