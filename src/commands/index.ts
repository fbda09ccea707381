import Doctor from './doctor.js'
import Run from './run.js'
import SeccompCheck from './seccomp/check.js'
import SeccompExplain from './seccomp/explain.js'

/** oclif's explicit command strategy: one bundle, no directory scan at start. */
export const commands = {doctor: Doctor, run: Run, 'seccomp:check': SeccompCheck, 'seccomp:explain': SeccompExplain}
