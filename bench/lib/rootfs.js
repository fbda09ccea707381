// A tiny root filesystem built from Debian's busybox-static, no registry involved:
//   <work>/rootfs/bin/busybox + symlinks true, sh, echo, seq, sleep, cat; empty proc/ dev/ sys/ tmp/ etc/
//   stamps/ as mount points; bin/benchtool (bench/native/benchtool.c, static) when a C compiler can link
//   it statically, for the suites that need nanosecond stamps or a known allocation inside a container;
// and a tarball of it for `docker import` / `podman import`.
import {chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {mustRun, run, tail} from './proc.js'

export const busyboxCandidates = ['/bin/busybox', '/usr/bin/busybox']
export const applets = ['true', 'sh', 'echo', 'seq', 'sleep', 'cat']

export async function buildRootfs(workDir) {
  const busybox = busyboxCandidates.find(p => existsSync(p))
  if (!busybox) throw new Error('busybox-static is not installed (no /bin/busybox)')
  // A dynamically linked busybox (package "busybox") would need libc inside the rootfs.
  const ldd = await mustRun('sh', ['-c', `ldd ${busybox} 2>&1 || true`])
  if (!/not a dynamic executable|statically linked/.test(ldd.stdout)) throw new Error(`${busybox} is dynamically linked; install busybox-static`)

  const dir = join(workDir, 'rootfs')
  for (const sub of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'stamps']) mkdirSync(join(dir, sub), {recursive: true})
  chmodSync(join(dir, 'tmp'), 0o1777)
  copyFileSync(busybox, join(dir, 'bin/busybox'))
  chmodSync(join(dir, 'bin/busybox'), 0o755)
  for (const applet of applets) {
    const link = join(dir, 'bin', applet)
    if (!existsSync(link)) symlinkSync('busybox', link)
  }
  const benchtool = await buildBenchtool(join(dir, 'bin/benchtool'))
  const tarball = join(workDir, 'rootfs.tar')
  await mustRun('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', dir, '-cf', tarball, '.'])
  const version = (await run(join(dir, 'bin/busybox'), ['--help'])).all.split('\n')[0]
  return {dir, tarball, busybox, version, benchtool: benchtool.path, benchtoolError: benchtool.error}
}

/** Compiles bench/native/benchtool.c statically (it runs inside the busybox rootfs, which has no libc). */
async function buildBenchtool(out) {
  const source = join(dirname(fileURLToPath(import.meta.url)), '../native/benchtool.c')
  for (const cc of ['cc', 'gcc']) {
    const r = await run(cc, ['-static', '-O2', '-pthread', '-o', out, source])
    if (r.ok) return {path: out}
    if (cc === 'gcc') return {error: `cannot build a static benchtool (${r.error ?? tail(r.all, 200)}); install gcc and libc6-dev`}
  }
}
