import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import t from 'tap'
import {FileError} from '../../../src/errors.js'
import {parseProfile, readProfile, type ParsedProfile} from '../../../src/seccomp/profile.js'

const DOCKER_DEFAULT = new URL('../../fixtures/seccomp/docker-default.json', import.meta.url).pathname
const TEMPLATE = new URL('../../../templates/seccomp/default.json', import.meta.url).pathname
const FILE = 'profile.json'

function parse(profile: unknown, strict = false): ParsedProfile {
  return parseProfile(typeof profile === 'string' ? profile : JSON.stringify(profile, null, 2), {file: FILE, strict})
}

function fileError(profile: unknown, strict = false): FileError {
  try {
    parse(profile, strict)
  } catch (error) {
    if (error instanceof FileError) return error
    throw error
  }
  throw new Error('expected a FileError')
}

/** A profile with one rule, to vary. */
function withRule(rule: object, top: object = {}): object {
  return {defaultAction: 'SCMP_ACT_ERRNO', ...top, syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW'}, rule]}
}

t.test("Docker's default profile parses without warnings", {skip: existsSync(DOCKER_DEFAULT) ? false : `${DOCKER_DEFAULT} is missing`}, async t => {
  const {profile, warnings} = await readProfile(DOCKER_DEFAULT)
  t.same(warnings, [])
  t.equal(profile.defaultAction, 'SCMP_ACT_ERRNO')
  t.equal(profile.defaultErrnoRet, 1)
  t.equal(profile.archMap.length, 9)
  t.same(profile.archMap.find(entry => entry.architecture === 'SCMP_ARCH_RISCV64')?.subArchitectures, [], 'null is read as absent')
  t.equal(profile.syscalls.length, 33)
  const clone = profile.syscalls[18]
  t.same(clone.args, [{index: 0, value: 2114060288n, valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ'}])
  t.same(clone.excludes.caps, ['CAP_SYS_ADMIN'])
  t.same(clone.excludes.arches, ['s390', 's390x'])
  t.same(profile.syscalls[1].includes.minKernel, {major: 4, minor: 8})
  t.equal(profile.syscalls[20].errnoRet, 38)
})

t.test("contain's default profile parses without warnings", async t => {
  const {warnings} = await readProfile(TEMPLATE, {strict: true})
  t.same(warnings, [])
})

t.test('invalid JSON names the file, line and column', async t => {
  const text = '{\n  "defaultAction": "SCMP_ACT_ERRNO",\n  "syscalls": [\n    {"names": ["read"], "action": }\n  ]\n}\n'
  const error = fileError(text)
  t.match(error.message, /^profile\.json:4:35: invalid JSON: expected a value but found "}"$/)
  t.ok(error.fix)

  t.match(fileError('{"defaultAction": "SCMP_ACT_ERRNO",}').message, /^profile\.json:1:36: invalid JSON: expected a double-quoted key/)
  t.match(fileError('{"defaultAction": "SCMP_ACT_ERRNO"').message, /invalid JSON: expected ',' or '}' after the value but found the end of the file/)
  t.match(fileError('').message, /^profile\.json:1:1: invalid JSON/)
})

t.test('an unknown action names the rule, the field and a suggestion', async t => {
  const error = fileError(withRule({names: ['mkdir', 'rmdir'], action: 'SCMP_ACT_ALOW'}))
  t.match(error.message, /^profile\.json:\d+:\d+: syscalls\[1\] \("mkdir"\): action: unknown action "SCMP_ACT_ALOW"; did you mean SCMP_ACT_ALLOW\?$/)
  t.match(error.fix, /SCMP_ACT_ERRNO/)
  t.match(fileError({defaultAction: 'SCMP_ACT_DENY'}).message, /defaultAction: unknown action "SCMP_ACT_DENY"/)
})

t.test('SCMP_ACT_NOTIFY and listeners are refused clearly', async t => {
  t.match(fileError(withRule({names: ['mkdir'], action: 'SCMP_ACT_NOTIFY'})).message, /syscalls\[1\] \("mkdir"\): action: SCMP_ACT_NOTIFY is not supported/)
  t.match(fileError({defaultAction: 'SCMP_ACT_NOTIFY'}).message, /defaultAction: SCMP_ACT_NOTIFY is not supported/)
  t.match(fileError({defaultAction: 'SCMP_ACT_ERRNO', listenerPath: '/run/agent.sock'}).message, /listenerPath: seccomp notify .* not supported/)
})

t.test('errnoRet only goes with ERRNO and TRACE', async t => {
  const error = fileError(withRule({names: ['mkdir'], action: 'SCMP_ACT_ALLOW', errnoRet: 1}))
  t.match(error.message, /syscalls\[1\] \("mkdir"\): errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a code, and the action is SCMP_ACT_ALLOW/)
  t.match(error.fix, /remove "errnoRet"/)
  t.match(fileError({defaultAction: 'SCMP_ACT_KILL', defaultErrnoRet: 1}).message, /defaultErrnoRet: only SCMP_ACT_ERRNO/)
  t.match(fileError(withRule({names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 5000})).message, /errnoRet: must be from 0 to 4095 \(got 5000\)/)
  t.equal(parse(withRule({names: ['mkdir'], action: 'SCMP_ACT_TRACE', errnoRet: 5000})).profile.syscalls[1].errnoRet, 5000, 'TRACE carries 16 bits')
})

t.test('argument index 6 does not exist', async t => {
  const error = fileError(withRule({names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 6, value: 2, op: 'SCMP_CMP_EQ'}]}))
  t.match(error.message, /syscalls\[1\] \("socket"\): args\[0\]\.index: must be from 0 to 5/)
  t.match(error.fix, /zero-based/)
  t.match(
    fileError(withRule({names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 2, op: 'SCMP_CMP_EQUAL'}]})).message,
    /args\[0\]\.op: unknown comparison operator "SCMP_CMP_EQUAL"/,
  )
  t.match(
    fileError(withRule({names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: -1, op: 'SCMP_CMP_EQ'}]})).message,
    /args\[0\]\.value: must be from 0 to 18446744073709551615/,
  )
})

t.test('name and names together are an error, name alone is the legacy form', async t => {
  const error = fileError(withRule({name: 'mkdir', names: ['rmdir'], action: 'SCMP_ACT_ALLOW'}))
  t.match(error.message, /syscalls\[1\] \("rmdir"\): name: both "name" and "names" are set/)
  t.same(parse(withRule({name: 'mkdir', action: 'SCMP_ACT_ALLOW'})).profile.syscalls[1].names, ['mkdir'])
  t.match(fileError(withRule({names: [], action: 'SCMP_ACT_ALLOW'})).message, /syscalls\[1\]: names: lists no syscalls/)
})

t.test('unknown keys are errors with a suggestion', async t => {
  t.match(
    fileError(withRule({names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoret: 13})).message,
    /syscalls\[1\] \("mkdir"\): errnoret: unknown key; did you mean "errnoRet"\?/,
  )
  t.match(fileError({defaultActoin: 'SCMP_ACT_ERRNO'}).message, /^profile\.json:2:3: defaultActoin: unknown key; did you mean "defaultAction"\?/)
  t.match(
    fileError(withRule({names: ['mkdir'], action: 'SCMP_ACT_ALLOW', includes: {capabilities: ['CAP_SYS_ADMIN']}})).message,
    /includes\.capabilities: unknown key/,
  )
  t.match(
    fileError(withRule({names: ['mkdir'], action: 'SCMP_ACT_ALLOW', args: [{index: 0, value: 1, op: 'SCMP_CMP_EQ', value2: 1}]})).message,
    /args\[0\]\.value2: unknown key; did you mean "value"/,
  )
})

t.test('messages point at the line of the offending key', async t => {
  const text = [
    '{',
    '  "defaultAction": "SCMP_ACT_ERRNO",',
    '  "syscalls": [',
    '    {',
    '      "names": ["mkdir"],',
    '      "action": "SCMP_ACT_ALLOW",',
    '      "errnoRet": 13',
    '    }',
    '  ]',
    '}',
  ].join('\n')
  t.match(fileError(text).message, /^profile\.json:7:7: syscalls\[0\] \("mkdir"\): errnoRet/)
})

t.test('top-level rules', async t => {
  t.match(fileError({syscalls: []}).message, /defaultAction: is missing/)
  t.match(
    fileError({defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], archMap: [{architecture: 'SCMP_ARCH_X86_64'}]}).message,
    /both "architectures" and "archMap" are set/,
  )
  t.match(
    fileError({defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_65']}).message,
    /architectures\[0\]: unknown architecture "SCMP_ARCH_X86_65"; did you mean SCMP_ARCH_X86_64\?/,
  )
  t.same(parse({defaultAction: 'SCMP_ACT_ERRNO', flags: ['SECCOMP_FILTER_FLAG_LOG']}).profile.flags, ['SECCOMP_FILTER_FLAG_LOG'])
  t.match(fileError({defaultAction: 'SCMP_ACT_ERRNO', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER']}).message, /flags\[0\]: unknown seccomp filter flag/)
  t.match(fileError([]).message, /must be an object \(got a list\)/)
})

t.test('includes and excludes', async t => {
  const rule = parse(
    withRule({
      names: ['mount'],
      action: 'SCMP_ACT_ALLOW',
      includes: {caps: ['sys_admin'], arches: ['amd64'], minKernel: '5.10'},
      excludes: {caps: ['CAP_SYS_BOOT']},
    }),
  ).profile.syscalls[1]
  t.same(rule.includes, {caps: ['CAP_SYS_ADMIN'], arches: ['amd64'], minKernel: {major: 5, minor: 10}})
  t.same(rule.excludes, {caps: ['CAP_SYS_BOOT'], arches: [], minKernel: undefined})
  t.match(
    fileError(withRule({names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: {caps: ['CAP_SYS_ADMN']}})).message,
    /syscalls\[1\] \("mount"\): includes\.caps\[0\]: unknown capability "CAP_SYS_ADMN"/,
  )
  for (const bad of ['4', '4.8.1', 'four.eight', '0.0', '256.1']) {
    t.match(
      fileError(withRule({names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: {minKernel: bad}})).message,
      /includes\.minKernel: must be "<major>\.<minor>"/,
      bad,
    )
  }
})

t.test('unknown syscall names warn, and fail under strict', async t => {
  const profile = withRule({names: ['mkdir', 'mkdri', 'chown32'], action: 'SCMP_ACT_ALLOW'})
  const {warnings} = parse(profile)
  t.equal(warnings.length, 1, 'names of other ABIs are not typos')
  t.match(warnings[0], /^profile\.json: syscalls\[1\] \("mkdir"\): names\[1\]: unknown syscall "mkdri" \(did you mean "mkdir"\?\); it is ignored/)
  const error = fileError(profile, true)
  t.match(error.message, /syscalls\[1\] \("mkdir"\): names\[1\]: unknown syscall "mkdri"/)
  t.match(error.fix, /strict/)
  t.match(
    parse(withRule({names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: {arches: ['amd46']}})).warnings[0],
    /includes\.arches\[0\]: unknown architecture "amd46"/,
  )
})

t.test('64-bit values stay exact', async t => {
  const text =
    '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 18446744073709551615, "valueTwo": 9007199254740993, "op": "SCMP_CMP_MASKED_EQ"}]}]}'
  const [arg] = parse(text).profile.syscalls[0].args
  t.equal(arg.value, 0xffffffffffffffffn)
  t.equal(arg.valueTwo, 9007199254740993n)
  t.match(fileError(text.replace('18446744073709551615', '18446744073709551616')).message, /args\[0\]\.value: must be from 0 to 18446744073709551615/)
  t.match(fileError(text.replace('18446744073709551615', '1.5')).message, /args\[0\]\.value: must be a whole number \(got 1\.5\)/)
})

t.test('readProfile reports a missing file with its path', async t => {
  const missing = join(t.testdir(), 'nope.json')
  await t.rejects(readProfile(missing), {name: 'FileError', message: new RegExp(`^${missing}: cannot read the seccomp profile`)})
  writeFileSync(missing, readFileSync(TEMPLATE))
  t.equal((await readProfile(missing)).profile.file, missing)
})
