// The cycle check of `npm test` (scripts/check-cycles.js): it finds every cycle, also one through a
// type-only or dynamic import, also one between folders (layers) that no two modules close, and
// src/ as it is has none but the known exceptions.
import {mkdtempSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import t from 'tap'
import {cycles, importGraph, KNOWN, KNOWN_LAYERS, layerGraph} from '../../../scripts/check-cycles.js'

function tree(t: {teardown(fn: () => void): void}, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'contain-cycles-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), {recursive: true})
    writeFileSync(join(dir, name), text)
  }
  return dir
}

t.test('a cycle through a type-only import and a lazy import() is a cycle', async t => {
  const dir = tree(t, {
    'a/one.ts': "import type {Two} from '../b/two.js'\nexport const one = 1\n",
    'b/two.ts': "export type Two = number\nexport async function load() { return import('../c/three.js') }\n",
    'c/three.ts': "import {one} from '../a/one.js'\nexport const three = one\n",
    'd/alone.ts': "import {one} from '../a/one.js'\nimport {readFileSync} from 'node:fs'\nexport const alone = one\n",
  })
  const graph = importGraph(dir)
  t.same(graph.get('d/alone.ts'), ['a/one.ts'], 'packages are not modules of src/')
  t.same(cycles(graph), [['a/one.ts', 'b/two.ts', 'c/three.ts']])
})

t.test('a module importing itself is a cycle; a diamond is not', async t => {
  const graph = new Map([
    ['top', ['left', 'right']],
    ['left', ['bottom']],
    ['right', ['bottom']],
    ['bottom', []],
    ['self', ['self']],
  ])
  t.same(cycles(graph), [['self']])
})

t.test('src/ has no import cycle but the known exceptions', async t => {
  const known = new Set(KNOWN.map(component => [...component].sort().join(' ')))
  const found = cycles(importGraph()).map(component => component.join(' '))
  t.same(
    found.filter(component => !known.has(component)),
    [],
  )
})

t.test('two folders that import each other are a layer cycle, though no module cycle is', async t => {
  const graph = new Map([
    ['launch/run.ts', ['supervisor/state.ts']],
    ['supervisor/state.ts', []],
    ['supervisor/app.ts', ['launch/spawn.ts']],
    ['launch/spawn.ts', ['paths.ts']],
    ['paths.ts', []],
  ])
  t.same(cycles(graph), [])
  t.same(
    layerGraph(graph),
    new Map([
      ['launch', ['paths', 'supervisor']],
      ['supervisor', ['launch']],
      ['paths', []],
    ]),
  )
  t.same(cycles(layerGraph(graph)), [['launch', 'supervisor']])
})

t.test('src/ has no layer cycle but the known exceptions', async t => {
  const known = new Set(KNOWN_LAYERS.map(component => [...component].sort().join(' ')))
  const found = cycles(layerGraph(importGraph())).map(component => component.join(' '))
  t.same(
    found.filter(component => !known.has(component)),
    [],
  )
})
