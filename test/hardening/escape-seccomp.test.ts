/**
 * Escape attempts against the default seccomp profile with high bits in 32-bit arguments. The
 * kernel reads only the low 32 bits of an int argument, so socket((1 << 32) | AF_VSOCK) is a
 * vsock socket to the kernel; a filter comparing 64 bits (libseccomp's, so Docker's) sees a family
 * above 40 and allows it. From inside `contain run` under the defaults every attempt must fail
 * with EPERM; a control outside contain shows what the kernel does with the same call.
 */
import {execa} from 'execa'
import t from 'tap'
import {cli, figure, requireRoot, settledLeftovers, token, skipFile} from './helpers.js'

const mark = token('sc')
const python = '/usr/bin/python3'
const EPERM = 1

/** Prints `NAME ERRNO` per attempt (0: the call succeeded). A successful clone's child exits at once. */
const PROBE = `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SOCKET, CLONE, PERSONALITY = 41, 56, 135
AF_ALG, AF_VSOCK, SOCK_STREAM, SOCK_SEQPACKET = 38, 40, 1, 5
HIGH, SIGN_EXTENDED = 1 << 32, 0xFFFFFFFF00000000
def call(nr, *args):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(nr), *[ctypes.c_ulong(arg) for arg in args])
    if result == 0 and nr == CLONE:
        os._exit(0)
    return ctypes.get_errno() if result < 0 else 0
attempts = {
    "socket_vsock": (SOCKET, AF_VSOCK, SOCK_STREAM, 0),
    "socket_vsock_high_bit": (SOCKET, HIGH | AF_VSOCK, SOCK_STREAM, 0),
    "socket_vsock_sign_extended": (SOCKET, SIGN_EXTENDED | AF_VSOCK, SOCK_STREAM, 0),
    "socket_alg_high_bit": (SOCKET, HIGH | AF_ALG, SOCK_SEQPACKET, 0),
    "personality_no_randomize_high_bit": (PERSONALITY, HIGH | 0x0040000),
    "clone_newuser_high_bit": (CLONE, HIGH | 0x10000000 | 17, 0, 0, 0, 0),
}
for name, args in attempts.items():
    print(name, call(*args), flush=True)
`

function answers(stdout: string): Record<string, number> {
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(line => line.split(' '))
      .map(([name, errno]) => [name, Number(errno)]),
  )
}

if (process.arch !== 'x64') {
  skipFile(t, `the probe uses x86_64 syscall numbers, this is ${process.arch}`)
} else if (requireRoot(t)) {
  t.test('high bits in 32-bit arguments do not get past the default profile', async t => {
    // The control: outside contain the kernel takes the high-bit family as AF_VSOCK (where vsock exists).
    const control = answers((await execa(python, ['-c', PROBE], {reject: false})).stdout)
    t.comment(`outside contain: socket_vsock ${control.socket_vsock}, socket_vsock_high_bit ${control.socket_vsock_high_bit} (0: a vsock socket)`)
    if (control.socket_vsock === 0) t.equal(control.socket_vsock_high_bit, 0, 'the kernel reads only the low 32 bits: the high-bit family made a vsock socket')

    const result = await cli(['run', '--name', `h${mark}`, '--', python, '-c', PROBE], {timeoutMs: 60_000})
    t.equal(result.exitCode, 0, `the probe ran: ${result.stderr.trim()}`)
    const inside = answers(result.stdout)
    const attempts = Object.keys(control)
    t.ok(attempts.length >= 6, `${attempts.length} attempts`)
    const held = attempts.filter(name => inside[name] === EPERM)
    for (const name of attempts) t.equal(inside[name], EPERM, `${name}: ${inside[name] === 0 ? 'SUCCEEDED' : `errno ${inside[name]}`}`)
    figure(
      t,
      `seccomp escape attempts: ${attempts.length} tried, ${held.length} held${held.length < attempts.length ? ` (got through: ${attempts.filter(name => !held.includes(name)).join(', ')})` : ''}`,
    )
    t.same(await settledLeftovers(mark), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
  })
}
