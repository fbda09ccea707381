/**
 * The apps of a project, planned for the supervisor: each app's options, resolved when the
 * project was loaded, planned as `contain run` plans them. Used to start a project and to apply a
 * changed contain.yml to one that runs.
 */
import {nameFields} from '../config/naming.js'
import {loadProjectIn, loadProject, type Project} from '../config/project.js'
import {ContainError} from '../errors.js'
import {hostFacts, planRun} from '../launch/run.js'
import {rootWarning} from '../launch/user.js'
import type {AppSpec} from './app.js'
import {projectKey} from './state.js'

export async function findProject(cwd: string, file?: string): Promise<Project> {
  return file ? loadProject(file) : loadProjectIn(cwd)
}

/**
 * Each app's resolved options go through the same planning as `contain run`; a problem found
 * there (a cgroup controller this host lacks) is told at the key in contain.yml that asked for
 * it. Apps that run as host root because their directory is root's share one warning line.
 */
export async function planApps(project: Project, names: string[]): Promise<{specs: AppSpec[]; warnings: string[]}> {
  const known = new Set(project.apps.map(app => app.name))
  const unknown = names.filter(name => !known.has(name))
  if (unknown.length > 0)
    throw new ContainError(`no app named ${unknown.map(name => JSON.stringify(name)).join(', ')} in ${project.file}`, {
      fix: `use one of: ${[...known].join(', ')}`,
    })
  const apps = names.length === 0 ? project.apps : project.apps.filter(app => names.includes(app.name))
  // Apps' stdin is closed and their output goes through pipes: no terminal, so no TERM.
  const host = {...hostFacts(), cwd: project.dir, terminal: false}
  const planned = await Promise.all(
    apps.map(async app => {
      let run
      try {
        run = await planRun(app.options, host, projectKey(project))
      } catch (error) {
        throw nameFields(error, app.naming)
      }
      const {plan, options, warnings} = run
      const {restart, backoff, healthcheck, stopSignal, stopGraceMs, restartMode, replicas} = app.supervision
      const spec: AppSpec = {name: app.name, plan, restart, backoff, healthcheck, stopSignal, stopGraceMs, restartMode, replicas}
      // Asked for in so many words: the default (rolling with listen:) says nothing of it.
      if (restartMode === 'rolling' && !healthcheck)
        warnings.push(
          'restart_mode: rolling without a healthcheck: the old instance is stopped as soon as the new one runs, not when it is ready to serve; add a healthcheck (e.g. {http: "http://127.0.0.1:3000/up"}) so the switch waits for it',
        )
      if (restartMode === 'rolling' && plan.listen.length === 0)
        warnings.push(
          'restart_mode: rolling without listen:: the new instance runs beside the old one, and if it binds the port itself it fails with EADDRINUSE; give the app its sockets with listen: so both share them',
        )
      return {spec, options, warnings}
    }),
  )
  const asRoot = planned.filter(({options}) => options.userReason === 'directory-root').map(({options}) => options)
  const lines = planned.flatMap(({options, warnings}) => warnings.map(warning => `${options.name}: ${warning}`))
  if (asRoot.length > 0)
    lines.unshift(
      rootWarning(
        asRoot.map(options => options.name),
        asRoot.map(options => options.workdir),
      ),
    )
  return {specs: planned.map(({spec}) => spec), warnings: lines}
}
