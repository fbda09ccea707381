#!/usr/bin/env node
// `npm run check:cycles`: fails on any import cycle among src/ modules, and on any between its layers
// (its folders: config, launch, supervisor, ...; each top-level file is a layer of its own). Every
// import counts, type-only and dynamic ones too: a cycle through a type or a lazy import() still
// ties two layers together, and the reader following a value still goes back and forth. Uses the
// TypeScript package's own pre-processor (no type check); reports each cycle as a strongly
// connected component.
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import ts from 'typescript'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const src = join(root, 'src')

/**
 * Cycles that another piece of work is removing: listed loudly on every run, and the check fails
 * if one of them is gone (so the list shrinks) or any other cycle appears. Each entry is the sorted
 * member list of one strongly connected component.
 */
export const KNOWN = []

/** Layer cycles another piece of work is removing, as KNOWN (sorted member lists). */
export const KNOWN_LAYERS = []

/** A module's layer: its folder below src/, or the module itself at the top. */
export function layerOf(module) {
  return module.includes('/') ? module.slice(0, module.indexOf('/')) : module.replace(/\.ts$/, '')
}

/** The graph between layers: an edge wherever a module of one imports a module of another. */
export function layerGraph(graph) {
  const layers = new Map()
  for (const [module, targets] of graph) {
    const from = layerOf(module)
    if (!layers.has(from)) layers.set(from, new Set())
    for (const target of targets) if (layerOf(target) !== from) layers.get(from).add(layerOf(target))
  }
  return new Map([...layers].map(([layer, targets]) => [layer, [...targets].sort()]))
}

/** The src/ module graph: file (relative to src/) -> the src/ files it imports. */
export function importGraph(dir = src) {
  const files = readdirSync(dir, {recursive: true})
    .filter(name => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map(name => join(dir, name))
  const known = new Set(files)
  const graph = new Map()
  for (const file of files) {
    const {importedFiles} = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    const targets = new Set()
    for (const {fileName} of importedFiles) {
      if (!fileName.startsWith('.')) continue
      const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts')
      if (known.has(target)) targets.add(relative(dir, target))
    }
    graph.set(relative(dir, file), [...targets].sort())
  }
  return graph
}

/** Strongly connected components with more than one member, or a module importing itself (Tarjan). */
export function cycles(graph) {
  let counter = 0
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const found = []
  const visit = node => {
    index.set(node, counter)
    low.set(node, counter)
    counter++
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node), low.get(next)))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node), index.get(next)))
      }
    }
    if (low.get(node) !== index.get(node)) return
    const component = []
    let member
    do {
      member = stack.pop()
      onStack.delete(member)
      component.push(member)
    } while (member !== node)
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort())
  }
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node)
  return found
}

/** One path around the component, for the message: a -> b -> ... -> a. */
function loopThrough(graph, component) {
  const members = new Set(component)
  const start = component[0]
  const path = [start]
  const seen = new Set([start])
  // Depth-first until the start is reached again inside the component.
  const walk = node => {
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue
      if (next === start) return true
      if (seen.has(next)) continue
      seen.add(next)
      path.push(next)
      if (walk(next)) return true
      path.pop()
    }
    return false
  }
  walk(start)
  return [...path, start].join(' -> ')
}

/** Prints the cycles of `graph` against the known ones; true when there is none but those. */
function report(what, graph, known, listName) {
  const found = cycles(graph)
  const key = component => component.join(' ')
  const knownKeys = new Set(known.map(component => key([...component].sort())))
  const foundKeys = new Set(found.map(key))
  const unexpected = found.filter(component => !knownKeys.has(key(component)))
  const gone = known.filter(component => !foundKeys.has(key([...component].sort())))
  for (const component of found.filter(component => knownKeys.has(key(component)))) {
    console.error(`check:cycles: KNOWN EXCEPTION, still to be removed: ${what} ${loopThrough(graph, component)}`)
  }
  for (const component of unexpected) console.error(`check:cycles: ${what} cycle: ${loopThrough(graph, component)}`)
  for (const component of gone)
    console.error(`check:cycles: the known ${what} cycle ${component.join(' <-> ')} is gone: remove it from ${listName} in scripts/check-cycles.js`)
  return unexpected.length === 0 && gone.length === 0
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const graph = importGraph()
  const layers = layerGraph(graph)
  const modulesClean = report('module', graph, KNOWN, 'KNOWN')
  const layersClean = report('layer', layers, KNOWN_LAYERS, 'KNOWN_LAYERS')
  if (!modulesClean || !layersClean) process.exit(1)
  const exceptions = KNOWN.length + KNOWN_LAYERS.length
  console.log(
    `check:cycles: ${graph.size} modules in ${layers.size} layers of src/, no import cycle${exceptions > 0 ? ` but the ${exceptions} known one${exceptions === 1 ? '' : 's'} above` : ''}`,
  )
}
