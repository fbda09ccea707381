import Doctor from './doctor.js'
import Down from './down.js'
import Exec from './exec.js'
import Init from './init.js'
import Inspect from './inspect.js'
import Logs from './logs.js'
import Ps from './ps.js'
import Restart from './restart.js'
import Run from './run.js'
import SeccompCheck from './seccomp/check.js'
import SeccompExplain from './seccomp/explain.js'
import Start from './start.js'
import Stats from './stats.js'
import Stop from './stop.js'
import Systemd from './systemd.js'
import Up from './up.js'

/** oclif's explicit command strategy: one bundle, no directory scan at start. */
export const commands = {
  doctor: Doctor,
  down: Down,
  exec: Exec,
  init: Init,
  inspect: Inspect,
  logs: Logs,
  ps: Ps,
  restart: Restart,
  run: Run,
  'seccomp:check': SeccompCheck,
  'seccomp:explain': SeccompExplain,
  start: Start,
  stats: Stats,
  stop: Stop,
  systemd: Systemd,
  up: Up,
}
