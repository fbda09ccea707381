/**
 * The few facts about the app's view that option parsing needs as well as the view itself: kept
 * apart from view.ts so that options.ts (which view.ts reads its options from) needs no part of it.
 */

/** The host directories every program needs, shown read-only (whichever exist). */
export const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc']

/** Docker's default /dev/shm size. */
export const DEFAULT_SHM_BYTES = 64 * 2 ** 20

/** Whether `path` is `dir` or below it (every path is below /). */
export const isUnder = (path: string, dir: string) => dir === '/' || path === dir || path.startsWith(`${dir}/`)
