import Doctor from './doctor.js'
import Run from './run.js'

/** oclif's explicit command strategy: one bundle, no directory scan at start. */
export const commands = {doctor: Doctor, run: Run}
