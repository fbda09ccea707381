/**
 * Part 6 of the hardening suite: contain as a non-root user. A throwaway user (useradd, removed
 * after) runs `contain run --userns`: it works where the kernel allows user namespaces, and says
 * precisely what it cannot do (cgroup limits without a delegated cgroup) — no stack trace, nothing
 * left behind.
 */
import {execa} from 'execa'
import {chownSync, readFileSync} from 'node:fs'
import t from 'tap'
import {containBin, crashed, figure, requireRoot, settledLeftovers, token} from './helpers.js'

const mark = token('rl')
const user = `ct${mark}`.slice(0, 30)

/** Runs contain as the throwaway user, with a plain environment of its own. */
async function asUser(args: string[], cwd: string) {
  const result = await execa(
    'setpriv',
    ['--reuid', user, '--regid', user, '--init-groups', 'env', '-i', 'PATH=/usr/bin:/bin', `HOME=${cwd}`, containBin, ...args],
    {cwd, reject: false, timeout: 30_000},
  )
  return {exitCode: result.exitCode ?? 137, stdout: String(result.stdout), stderr: String(result.stderr)}
}

const userNamespaces = (() => {
  try {
    return Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) > 0
  } catch {
    return false
  }
})()

if (requireRoot(t)) {
  t.test('a non-root user: --userns works without delegation, limits are refused with the reason', async t => {
    const dir = t.testdir({})
    await execa('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user])
    let told = 0
    try {
      chownSync(dir, Number((await execa('id', ['-u', user])).stdout), Number((await execa('id', ['-g', user])).stdout))
      const withoutUserns = await asUser(['run', '--name', `a${mark}`, '--', 'true'], dir)
      t.equal(withoutUserns.exitCode, 125, 'without --userns: refused')
      t.match(withoutUserns.stderr, /needs root.*\n.*add --userns/, withoutUserns.stderr.split('\n')[0])

      const run = await asUser(['run', '--name', `b${mark}`, '--userns', '--', 'sh', '-c', 'id -u; cat /proc/self/status | grep ^NoNewPrivs'], dir)
      if (!userNamespaces) {
        t.equal(run.exitCode, 125, 'user namespaces are off here: a clear refusal')
        t.match(run.stderr, /fix: /)
      } else {
        t.equal(run.exitCode, 0, `contain run --userns works: ${run.stderr}`)
        t.match(run.stdout, /^0\nNoNewPrivs:\s+1$/m, 'root inside its user namespace, with no_new_privs')
        t.match(
          run.stderr,
          /may not create cgroups below \S+, which is not delegated to this user: the app runs without limits/,
          'and says it has no cgroup of its own',
        )
        told += Number(/not delegated/.test(run.stderr))
      }

      const limited = await asUser(['run', '--name', `c${mark}`, '--userns', '--memory', '64m', '--pids-limit', '10', '--', 'true'], dir)
      t.equal(limited.exitCode, 125, 'limits without a delegated cgroup: refused')
      t.match(
        limited.stderr,
        /--memory, --pids-limit need a cgroup of the app's own, and contain \(uid \d+\) may not create cgroups below/,
        limited.stderr.split('\n')[0],
      )
      t.match(limited.stderr, /fix: .*Delegate=yes/)
      told += Number(limited.exitCode === 125)
      for (const result of [withoutUserns, run, limited]) t.notOk(crashed(result.stdout + result.stderr), 'no stack trace')
    } finally {
      await execa('userdel', [user], {reject: false})
    }
    t.same(await settledLeftovers(mark), {cgroups: [], processes: [], stateFiles: []}, 'nothing left behind')
    figure(
      t,
      `rootless: user namespaces ${userNamespaces ? 'allowed' : 'off'}; contain run --userns ${userNamespaces ? 'ran' : 'refused clearly'}; ${told} of 2 limits explained`,
    )
  })
}
