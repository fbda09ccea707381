/**
 * contain's default capability set (podman's 11) is Docker's 14 without NET_RAW, MKNOD and
 * AUDIT_WRITE. The default profile's includes/excludes name capabilities, so the filter depends on
 * the set: none of its conditions names any of the three, and the filter must stay the one Docker's
 * 14 get, on every architecture.
 */
import {readFileSync} from 'node:fs'
import t from 'tap'
import {DEFAULT_CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES} from '../../../src/capabilities.js'
import {compileFilter} from '../../../src/seccomp/bpf.js'
import {parseProfile} from '../../../src/seccomp/profile.js'
import {resolvePolicy} from '../../../src/seccomp/resolve.js'

const TEMPLATE = new URL('../../../templates/seccomp/default.json', import.meta.url).pathname

t.test("the default profile compiles to the same filter for the default 11 as for Docker's 14", async t => {
  const {profile} = parseProfile(readFileSync(TEMPLATE, 'utf8'), {file: TEMPLATE})
  for (const arch of ['x86_64', 'aarch64'] as const) {
    for (const kernel of [
      {major: 5, minor: 10},
      {major: 6, minor: 18},
    ]) {
      const compile = (capabilities: typeof DEFAULT_CAPABILITIES) => compileFilter(resolvePolicy(profile, {arch, capabilities, kernel}))
      t.same(compile(DEFAULT_CAPABILITIES), compile(DOCKER_DEFAULT_CAPABILITIES), `${arch}, kernel ${kernel.major}.${kernel.minor}`)
    }
  }
  const named = readFileSync(TEMPLATE, 'utf8')
  for (const name of ['CAP_NET_RAW', 'CAP_MKNOD', 'CAP_AUDIT_WRITE']) t.notOk(named.includes(name), `${name} appears in no rule`)
})
