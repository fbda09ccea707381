// Command-line flags of `npm run bench -- [flags]`.
export const suiteNames = ['launch', 'restart', 'resident', 'logs', 'limits', 'rails', 'isolation', 'deploy', 'supervisor']

export const usage = `usage: npm run bench -- [--suite a,b] [--runs N] [--quick] [--only a,b] [--no-install] [--keep-work] [--rails-app DIR]
       npm run bench -- --render bench/results/<date>-<suite>.json

  --suite a,b    run these suites, in this order (default: all of ${suiteNames.join(', ')})
  --runs N       interleaved rounds per tool (default per suite: launch 30, restart 5, resident 3,
                 logs 3, limits 2, rails 7, deploy 3, supervisor 10; --quick: fewer, see bench/README.md)
  --quick        few rounds, to check the bench works; results written as <date>-<suite>-quick.*
  --only a,b     launch suite: measure only these tools (ids as printed in the results, e.g.
                 node,contain,docker); results written as <date>-launch-subset.*
  --no-install   do not apt-get install missing peers; report them unavailable instead
  --render FILE  only rewrite the .md and .svg next to an existing results .json (no measuring)
  --rails-app DIR  deploy suite: a set-up copy of examples/rails-app (its Gemfile.lock made by its
                 setup.sh) instead of the repository's own; the suite copies it and never writes there
  --keep-work    leave bench/work/run/ (rootfs, bundles, tarball) in place; daemons, cgroups,
                 mounts and the docker/podman stores are still removed`

export function parseArgs(argv) {
  const opts = {
    suites: undefined,
    runs: undefined,
    quick: false,
    only: undefined,
    install: true,
    keepWork: false,
    help: false,
    render: undefined,
    railsApp: undefined,
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const value = () => {
      if (inline !== undefined) return inline
      const next = argv[++i]
      if (next === undefined) throw new Error(`${flag} needs a value`)
      return next
    }
    switch (flag) {
      case '--suite': {
        opts.suites = value()
          .split(',')
          .map(x => x.trim())
          .filter(Boolean)
        const unknown = opts.suites.filter(x => !suiteNames.includes(x))
        if (unknown.length || !opts.suites.length) throw new Error(`unknown suite(s) ${unknown.join(', ') || '(none given)'} (known: ${suiteNames.join(', ')})`)
        break
      }
      case '--runs': {
        const n = Number(value())
        if (!Number.isInteger(n) || n < 1) throw new Error('--runs must be a positive integer')
        opts.runs = n
        break
      }
      case '--quick':
        opts.quick = true
        break
      case '--only':
        opts.only = value()
          .split(',')
          .map(s => s.trim())
          .filter(Boolean)
        break
      case '--no-install':
        opts.install = false
        break
      case '--keep-work':
        opts.keepWork = true
        break
      case '--render':
        opts.render = value()
        break
      case '--rails-app':
        opts.railsApp = value()
        break
      case '-h':
      case '--help':
        opts.help = true
        break
      default:
        throw new Error(`unknown argument: ${arg}`)
    }
  }
  opts.rounds = opts.runs ?? (opts.quick ? 5 : 30)
  return opts
}
