// Types of check-cycles.js for the TypeScript that imports it (test/unit/scripts): scripts/ is plain JavaScript.

/** A module graph: module (relative to src/) -> the modules it imports, sorted. */
export type Graph = Map<string, string[]>
export const KNOWN: string[][]
export const KNOWN_LAYERS: string[][]
export function layerOf(module: string): string
export function layerGraph(graph: Graph): Graph
export function importGraph(dir?: string): Graph
export function cycles(graph: Graph): string[][]
