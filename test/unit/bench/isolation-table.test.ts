// The isolation suite's table: the probe's ids, its line format and the README table must agree, or a row
// silently shows "no answer" in every column.
import t from 'tap'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {cell, heldCounts, parseProbe, protections, readmeTable, replaceReadmeBlock, shortReason} from '../../../bench/lib/isolation-table.js'

const probeSource = readFileSync(fileURLToPath(new URL('../../../bench/native/isolation-probe.c', import.meta.url)), 'utf8')
const ids: string[] = protections.map(([id]: [string, string]) => id)

t.test('every protection row is an attempt in the probe, in the same order, once', async t => {
  const table = probeSource.slice(probeSource.indexOf('} probes[] = {'))
  const inProbe = [...table.slice(0, table.indexOf('};')).matchAll(/\{"([a-z0-9]+)",/g)].map(m => m[1])
  t.same(inProbe, ids)
  t.equal(new Set(ids).size, ids.length)
})

t.test('parseProbe keeps probe lines and ignores everything else', async t => {
  const out = [
    'probe-start uid=0 pid=1',
    'contain: warning: something the launcher printed',
    'shadow held /etc/shadow: ENOENT',
    'caps BROKEN CapEff 00000000a80425fb (14 capabilities)',
    'kcore n/a open /proc/kcore: ENOENT (this kernel has none)',
    'notaprobe BROKEN whatever',
  ].join('\n')
  t.same(parseProbe(out), {
    shadow: {status: 'held', detail: '/etc/shadow: ENOENT'},
    caps: {status: 'BROKEN', detail: 'CapEff 00000000a80425fb (14 capabilities)'},
    kcore: {status: 'n/a', detail: 'open /proc/kcore: ENOENT (this kernel has none)'},
  })
})

t.test('cells are short: a known phrase, else the errno', async t => {
  t.equal(shortReason('create /etc/contain-probe-write: EROFS'), 'EROFS')
  t.equal(shortReason('CapEff 000001fffeffffff (40 capabilities, in a user namespace)'), '40 caps in a userns')
  t.equal(shortReason('socket((1<<32)|AF_VSOCK): created (plain AF_VSOCK: EPERM)'), 'created; plain: EPERM')
  t.equal(shortReason('created /etc/contain-probe-write, but not on the host: a private copy'), 'private copy')
  const column = {id: 'x', label: 'x', available: true, exitCode: 1, results: {caps: {status: 'BROKEN', detail: 'CapEff 1 (1 capabilities)'}}}
  t.equal(cell(column, 'caps'), '**BROKEN** (1 caps)')
  t.equal(cell(column, 'shadow'), 'no answer (exit 1)')
  t.equal(cell({available: false, reason: 'bwrap not found after installing bubblewrap'}, 'shadow'), 'n/a: bwrap not found after installing bubblewrap')
})

t.test('the README table has a row per protection and counts held of tried, n/a left out', async t => {
  const results = Object.fromEntries(ids.map(id => [id, {status: 'held', detail: 'EPERM'}]))
  results.caps = {status: 'BROKEN', detail: 'CapEff 1 (1 capabilities)'}
  results.kcore = {status: 'n/a', detail: 'ENOENT'}
  const result = {
    command: 'npm run bench -- --suite isolation',
    date: '2026-01-01',
    machine: {kernel: '6.1', cgroupMode: 'v2'},
    columns: [
      {id: 'contain', label: 'contain | run', available: true, results},
      {id: 'docker', label: 'docker', available: false},
    ],
  }
  t.same(
    heldCounts(result).map((c: {held: number; tried: number}) => [c.held, c.tried]),
    [
      [ids.length - 2, ids.length - 1],
      [0, 0],
    ],
  )
  const lines = readmeTable(result).split('\n')
  t.equal(lines.filter((l: string) => l.startsWith('| ')).length, 1 + ids.length + 1)
  t.match(lines[0], 'contain \\| run') // a pipe in a label would split the column
  t.match(readmeTable(result), `| **held / tried** († and n/a rows not counted) | ${ids.length - 2} / ${ids.length - 1} | n/a |`)
})

t.test('the README block: replaces only the block between the markers', async t => {
  const readme = 'before\n<!-- isolation-table -->\nold table\n<!-- /isolation-table -->\nafter\n'
  t.equal(replaceReadmeBlock(readme, '| new |\n'), 'before\n<!-- isolation-table -->\n| new |\n<!-- /isolation-table -->\nafter\n')
  t.throws(() => replaceReadmeBlock('no markers', 'x'), /no <!-- isolation-table -->/)
})

t.test('rows the bare machine already denies are marked and not counted', async t => {
  const broken = Object.fromEntries(ids.map(id => [id, {status: 'BROKEN', detail: 'ok'}]))
  const host = {...broken, blockdev: {status: 'held', detail: 'EPERM'}}
  const contain = {...broken, blockdev: {status: 'held', detail: 'EPERM'}, caps: {status: 'held', detail: 'CapEff 0'}}
  const result = {
    columns: [
      {id: 'host', label: 'host', available: true, results: host},
      {id: 'contain', label: 'contain', available: true, results: contain},
    ],
  }
  t.same(
    heldCounts(result).map((c: {held: number; tried: number}) => [c.held, c.tried]),
    [
      [0, ids.length - 1],
      [1, ids.length - 1],
    ],
  )
  t.match(readmeTable({...result, date: 'd', command: 'c', machine: {}}), /\| open the root disk \/dev\/NAME † \|/)
})
