import t from 'tap'
import {appEnvironment, DEFAULT_PATH, isTerminal, terminalEnvironment} from '../../../src/launch/environment.js'

const base = {caller: {}, workdir: '/srv/shop', terminal: false, configured: {}}

t.test("Docker's PATH, HOME=/ without a passwd entry, PWD the working directory", async t => {
  t.strictSame(appEnvironment(base), {PATH: DEFAULT_PATH, HOME: '/', PWD: '/srv/shop'})
  t.equal(DEFAULT_PATH, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
})

t.test("the user's HOME, USER and LOGNAME", async t => {
  t.strictSame(appEnvironment({...base, account: {name: 'shop', home: '/var/lib/shop'}, hostname: 'web'}), {
    PATH: DEFAULT_PATH,
    HOME: '/var/lib/shop',
    USER: 'shop',
    LOGNAME: 'shop',
    PWD: '/srv/shop',
    HOSTNAME: 'web',
  })
  t.equal(appEnvironment({...base, account: {name: 'shop', home: ''}}).HOME, '/', 'an empty home field is /')
})

t.test("of the caller's, only the locale, the time zone and TERM on a terminal", async t => {
  const caller = {
    LANG: 'de_DE.UTF-8',
    LANGUAGE: 'de',
    LC_ALL: 'C.UTF-8',
    LC_MESSAGES: 'C',
    TZ: 'UTC',
    TERM: 'xterm',
    UNSET: undefined,
    SSH_AUTH_SOCK: '/tmp/agent',
    AWS_ACCESS_KEY_ID: 'AKIA',
    AWS_SECRET_ACCESS_KEY: 'x',
    GOOGLE_APPLICATION_CREDENTIALS: '/root/key.json',
    PWD: '/root',
    OLDPWD: '/',
    HOME: '/root',
    PATH: '/root/.local/bin',
    NODE_OPTIONS: '-r x',
    LD_PRELOAD: '/x.so',
    LD_LIBRARY_PATH: '/x',
    LCX: 'not a locale',
    MY_LANG: 'no',
  }
  const env = appEnvironment({...base, caller})
  t.strictSame(env, {PATH: DEFAULT_PATH, HOME: '/', LANG: 'de_DE.UTF-8', LANGUAGE: 'de', LC_ALL: 'C.UTF-8', LC_MESSAGES: 'C', TZ: 'UTC', PWD: '/srv/shop'})
  t.equal(appEnvironment({...base, caller, terminal: true}).TERM, 'xterm')
})

t.test('what the configuration sets wins over everything', async t => {
  const env = appEnvironment({
    ...base,
    caller: {LANG: 'C'},
    account: {name: 'shop', home: '/h'},
    hostname: 'web',
    configured: {PATH: '/opt/bin', LANG: 'en_US.UTF-8', HOME: '/x', HOSTNAME: 'y', PWD: '/z', RAILS_ENV: 'production'},
  })
  t.strictSame(env, {PATH: '/opt/bin', HOME: '/x', USER: 'shop', LOGNAME: 'shop', LANG: 'en_US.UTF-8', PWD: '/z', HOSTNAME: 'y', RAILS_ENV: 'production'})
})

t.test('terminalEnvironment: TERM only on a terminal, and only when the caller has one', async t => {
  t.strictSame(terminalEnvironment({TERM: 'xterm'}, true), {TERM: 'xterm'})
  t.strictSame(terminalEnvironment({TERM: 'xterm'}, false), {})
  t.strictSame(terminalEnvironment({}, true), {})
  t.strictSame(terminalEnvironment({TERM: ''}, true), {})
})

t.test('isTerminal: /dev/null and a pipe are not terminals; a closed fd is not either', async t => {
  const {openSync, closeSync} = await import('node:fs')
  const fd = openSync('/dev/null', 'r')
  t.equal(isTerminal(fd), false)
  closeSync(fd)
  t.equal(isTerminal(fd), false)
  const {isatty} = await import('node:tty')
  for (const stdio of [0, 1, 2]) t.equal(isTerminal(stdio), isatty(stdio), `fd ${stdio} as isatty says`)
})
