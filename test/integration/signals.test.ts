import {once} from 'node:events'
import t from 'tap'
import {assertNothingLeftBehind, contain, requireRoot, startContain} from './helpers.js'

/** Resolves when `text` has appeared on the child's combined output (which keeps flowing). */
function waitForOutput(stream: NodeJS.ReadableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const onData = (chunk: Buffer) => {
      seen += chunk.toString()
      if (!seen.includes(text)) return
      stream.off('data', onData)
      resolve()
    }
    stream.on('data', onData)
    stream.once('end', () => reject(new Error(`output ended before ${JSON.stringify(text)}: ${seen}`)))
  })
}

if (requireRoot(t)) {
  assertNothingLeftBehind(t)

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1'] as const) {
    t.test(`${signal} to contain reaches the app, which traps it and exits 0`, async t => {
      const trap = signal.replace('SIG', '')
      const started = startContain(['run', '--', 'sh', '-c', `trap 'echo got-${trap}; exit 0' ${trap}; echo ready; while :; do sleep 0.05; done`])
      await waitForOutput(started.process.all, 'ready')
      started.process.kill(signal)
      const result = await started.process
      t.equal(result.exitCode, 0, result.stderr)
      t.match(result.stdout, `got-${trap}`)
    })
  }

  t.test('orphaned zombies of the app are reaped by PID 1', async t => {
    // The subshell exits at once, orphaning `sleep 0.2` to PID 1; once it ends it must be reaped.
    const script = '(sleep 0.2 &); sleep 1; grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l'
    const result = await contain(['run', '--', 'sh', '-c', script])
    t.equal(result.exitCode, 0, result.stderr)
    t.equal(result.stdout.trim(), '0')
  })

  t.test('when contain is SIGKILLed the app dies with it, and the name can be used again', async t => {
    const started = startContain(['run', '--name', 'orphan-check', '--', 'sh', '-c', 'echo ready; exec sleep 60'])
    await waitForOutput(started.process.all, 'ready')
    started.process.kill('SIGKILL')
    await once(started.process, 'exit').catch(() => undefined)
    // The killed contain could not remove its (now empty) cgroup; the next run replaces it.
    const again = await contain(['run', '--name', 'orphan-check', '--', 'true'])
    t.equal(again.exitCode, 0, again.stderr)
  })
}
