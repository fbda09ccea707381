import {callSupervisor, openProject} from '../supervisor/client.js'
import {textFlag, type Handler} from './spec.js'

/** stop, start and restart: one verb sent to the project's supervisor for the named apps (default all). */
export function appVerb(verb: 'stop' | 'start' | 'restart'): Handler {
  return async input => {
    await callSupervisor(await openProject(process.cwd(), textFlag(input, 'file')), verb, {apps: [...input.rest]})
    return undefined
  }
}
