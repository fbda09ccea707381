/**
 * A process named by its pid and its start time: a pid alone may be reused by another process,
 * the pair names one process for as long as it lives. Read from /proc, the kernel's word.
 */
import {readFileSync} from 'node:fs'

/** Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** A stored pid names the process only if that process started when stored, and has not died. */
export function isProcessAlive(pid: number, startTime: string): boolean {
  // A SIGKILLed process stays a zombie until reaped, with its start time: dead all the same.
  return processStartTime(pid) === startTime && !isZombie(pid)
}

/** Field 3 of /proc/PID/stat: Z (zombie) or X (dead) once the process has exited. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))
  } catch {
    return true
  }
}
