/**
 * `contain doctor` on the freshly built checkout `npm test` just made: every check passes and it
 * exits 0 (it once always failed: the helper's age was compared with the wrong operand).
 */
import {execa} from 'execa'
import t from 'tap'
import {containBin, requireRoot} from './helpers.js'

if (requireRoot(t)) {
  t.test('doctor passes on a fresh build', async t => {
    const result = await execa(process.execPath, [containBin, 'doctor', '--json'], {reject: false})
    const report = JSON.parse(result.stdout) as {checks: {name: string; ok: boolean; detail: string}[]}
    const helper = report.checks.find(check => check.name === 'native helper')
    t.ok(helper?.ok, `native helper: ${helper?.detail}`)
    t.same(
      report.checks.filter(check => !check.ok).map(check => `${check.name}: ${check.detail}`),
      [],
      'no check fails',
    )
    t.equal(result.exitCode, 0, result.stderr)
  })
}
