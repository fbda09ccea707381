/**
 * The `apply` control request as the supervisor receives it: checked, never trusted. (What the
 * supervisor then does is tested on the real kernel: test/integration/deploy.test.ts.)
 */
import t from 'tap'
import {ContainError} from '../../../src/errors.js'
import {parseApplyRequest} from '../../../src/supervisor/deploy.js'

t.test('names and a policy, nothing else', async t => {
  t.same(parseApplyRequest({apps: [], recreate: 'changed'}), {apps: [], recreate: 'changed'})
  t.same(
    parseApplyRequest({apps: ['web', 'web', 'worker'], recreate: 'always', argv: ['/bin/sh']}),
    {apps: ['web', 'worker'], recreate: 'always'},
    'duplicates once; anything else is ignored',
  )
  t.throws(() => parseApplyRequest({apps: 'web', recreate: 'changed'}), ContainError)
  t.throws(() => parseApplyRequest({apps: [1], recreate: 'changed'}), ContainError)
  t.throws(() => parseApplyRequest({apps: []}), {message: /recreate must be one of changed, never, always/})
  t.throws(() => parseApplyRequest({apps: [], recreate: 'sometimes'}), ContainError)
})
