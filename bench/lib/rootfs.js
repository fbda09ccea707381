// A tiny root filesystem built from Debian's busybox-static, no registry involved:
//   <work>/rootfs/bin/busybox + symlinks true, sh, echo; empty proc/ dev/ sys/ tmp/ etc/ as mount points.
// and a tarball of it for `docker import` / `podman import`.
import {chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {mustRun, run} from './proc.js'

export const busyboxCandidates = ['/bin/busybox', '/usr/bin/busybox']
export const applets = ['true', 'sh', 'echo']

export async function buildRootfs(workDir) {
  const busybox = busyboxCandidates.find((p) => existsSync(p))
  if (!busybox) throw new Error('busybox-static is not installed (no /bin/busybox)')
  // A dynamically linked busybox (package "busybox") would need libc inside the rootfs.
  const ldd = await mustRun('sh', ['-c', `ldd ${busybox} 2>&1 || true`])
  if (!/not a dynamic executable|statically linked/.test(ldd.stdout)) throw new Error(`${busybox} is dynamically linked; install busybox-static`)

  const dir = join(workDir, 'rootfs')
  for (const sub of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc']) mkdirSync(join(dir, sub), {recursive: true})
  chmodSync(join(dir, 'tmp'), 0o1777)
  copyFileSync(busybox, join(dir, 'bin/busybox'))
  chmodSync(join(dir, 'bin/busybox'), 0o755)
  for (const applet of applets) {
    const link = join(dir, 'bin', applet)
    if (!existsSync(link)) symlinkSync('busybox', link)
  }
  const tarball = join(workDir, 'rootfs.tar')
  await mustRun('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', dir, '-cf', tarball, '.'])
  const version = (await run(join(dir, 'bin/busybox'), ['--help'])).all.split('\n')[0]
  return {dir, tarball, busybox, version}
}
