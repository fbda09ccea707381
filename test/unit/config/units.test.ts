import t from 'tap'
import {formatBytes, MIN_MEMORY_BYTES, parseCpuList, parseCpus, parseInteger, parseMemoryLimit, parseSize, parseSwapLimit} from '../../../src/config/units.js'
import {InvalidValueError} from '../../../src/errors.js'
import {thrown} from '../helpers/errors.js'
import type {TestContext} from '../helpers/tap.js'

const KiB = 2 ** 10
const MiB = 2 ** 20
const GiB = 2 ** 30
const TiB = 2 ** 40

/** Asserts the error is an InvalidValueError naming the flag and the bad value, with a fix. */
function assertInvalid(t: TestContext, error: Error, field: string, value: string, problem?: RegExp): void {
  t.type(error, InvalidValueError)
  const invalid = error as InvalidValueError
  t.equal(invalid.field, field, 'carries the flag')
  t.equal(invalid.value, value, 'carries the bad value')
  t.match(invalid.message, new RegExp(`^${field.replace(/[-/]/g, '\\$&')}: `), 'message starts with the flag')
  t.ok(invalid.message.includes(`(got ${JSON.stringify(value)})`), 'message quotes the bad value')
  if (problem) t.match(invalid.message, problem)
  t.type(invalid.fix, 'string', 'carries a fix')
  t.ok(invalid.fix && invalid.fix.length > 0, 'the fix is not empty')
}

t.test('parseSize', async t => {
  t.test('reads each unit as a binary multiple', async t => {
    t.equal(parseSize('--memory', '100'), 100, 'no unit: bytes')
    t.equal(parseSize('--memory', '100b'), 100)
    t.equal(parseSize('--memory', '4k'), 4 * KiB)
    t.equal(parseSize('--memory', '512m'), 512 * MiB)
    t.equal(parseSize('--memory', '2g'), 2 * GiB)
    t.equal(parseSize('--memory', '1t'), TiB)
  })

  t.test('accepts Docker spellings with a trailing b or ib', async t => {
    t.equal(parseSize('--memory', '512MB'), 512 * MiB)
    t.equal(parseSize('--memory', '512mb'), 512 * MiB)
    t.equal(parseSize('--memory', '512MiB'), 512 * MiB)
    t.equal(parseSize('--memory', '1GiB'), GiB)
  })

  t.test('ignores the case of the unit', async t => {
    t.equal(parseSize('--memory', '64M'), 64 * MiB)
    t.equal(parseSize('--memory', '1G'), GiB)
    t.equal(parseSize('--memory', '8K'), 8 * KiB)
  })

  t.test('accepts decimals and rounds down to whole bytes', async t => {
    t.equal(parseSize('--memory', '1.5g'), 1.5 * GiB)
    t.equal(parseSize('--memory', '0.5k'), 512)
    t.equal(parseSize('--memory', '1.1b'), 1, '1.1 bytes is 1 byte')
    t.equal(parseSize('--memory', '0.3k'), Math.floor(0.3 * KiB))
  })

  t.test('tolerates surrounding whitespace and a space before the unit', async t => {
    t.equal(parseSize('--memory', '  256m  '), 256 * MiB)
    t.equal(parseSize('--memory', '256 m'), 256 * MiB)
    t.equal(parseSize('--memory', '\t1g\n'), GiB)
  })

  t.test('rejects what is not a size, naming the flag and the value', async t => {
    for (const text of ['5x', '', ' ', '-1', 'm', '1.5.5g', '.5g', '1e6', '12 34', '0x10', 'lots']) {
      t.test(JSON.stringify(text), async t => {
        assertInvalid(
          t,
          thrown(() => parseSize('--memory', text)),
          '--memory',
          text,
          /not a size/,
        )
      })
    }
  })

  t.test('the fix suggests an example with a unit', async t => {
    const error = thrown(() => parseSize('--memory-reservation', '5x')) as InvalidValueError
    t.match(error.fix, /512m/)
  })

  t.test('rejects sizes too large to count exactly', async t => {
    assertInvalid(
      t,
      thrown(() => parseSize('--memory', '99999999p')),
      '--memory',
      '99999999p',
      /too large/,
    )
  })
})

t.test('parseMemoryLimit', async t => {
  t.test('enforces the 6 MiB floor', async t => {
    t.equal(MIN_MEMORY_BYTES, 6 * MiB)
    assertInvalid(
      t,
      thrown(() => parseMemoryLimit('--memory', '1k')),
      '--memory',
      '1k',
      /minimum memory limit is 6 MiB/,
    )
    assertInvalid(
      t,
      thrown(() => parseMemoryLimit('--memory', '5m')),
      '--memory',
      '5m',
      /6 MiB/,
    )
    assertInvalid(
      t,
      thrown(() => parseMemoryLimit('--memory', String(6 * MiB - 1))),
      '--memory',
      String(6 * MiB - 1),
    )
    t.equal(parseMemoryLimit('--memory', '6m'), 6 * MiB, '6m is exactly the floor')
    t.equal(parseMemoryLimit('--memory', String(6 * MiB)), 6 * MiB)
  })

  t.test('the fix names the smallest accepted value', async t => {
    t.match((thrown(() => parseMemoryLimit('--memory', '5m')) as InvalidValueError).fix, /6m/)
  })

  t.test('reports a malformed size as such, not as too small', async t => {
    assertInvalid(
      t,
      thrown(() => parseMemoryLimit('--memory', '5x')),
      '--memory',
      '5x',
      /not a size/,
    )
  })
})

t.test('parseSwapLimit', async t => {
  t.test('-1 means unlimited swap', async t => {
    t.equal(parseSwapLimit('--memory-swap', '-1'), 'unlimited')
    t.equal(parseSwapLimit('--memory-swap', ' -1 '), 'unlimited')
  })

  t.test('otherwise it is a memory size with the same floor', async t => {
    t.equal(parseSwapLimit('--memory-swap', '1g'), GiB)
    assertInvalid(
      t,
      thrown(() => parseSwapLimit('--memory-swap', '1m')),
      '--memory-swap',
      '1m',
      /6 MiB/,
    )
  })

  t.test('other negative numbers are not sizes', async t => {
    assertInvalid(
      t,
      thrown(() => parseSwapLimit('--memory-swap', '-2')),
      '--memory-swap',
      '-2',
      /not a size/,
    )
  })
})

t.test('parseCpus', async t => {
  t.test('accepts decimal CPU counts from 0.01 to the host count', async t => {
    t.equal(parseCpus('--cpus', '0.01', 2), 0.01)
    t.equal(parseCpus('--cpus', '0.5', 2), 0.5)
    t.equal(parseCpus('--cpus', '.5', 2), 0.5, 'a leading dot is fine')
    t.equal(parseCpus('--cpus', '1', 2), 1)
    t.equal(parseCpus('--cpus', '2', 2), 2, 'the host count itself')
    t.equal(parseCpus('--cpus', ' 1.5 ', 2), 1.5)
  })

  t.test('rejects what is not a number', async t => {
    for (const text of ['abc', '', '-1', '1e2', '1,5', '0x1', '1.2.3']) {
      t.test(JSON.stringify(text), async t => {
        assertInvalid(
          t,
          thrown(() => parseCpus('--cpus', text, 2)),
          '--cpus',
          text,
          /not a number/,
        )
      })
    }
  })

  t.test('rejects numbers outside 0.01..host count, naming the range', async t => {
    for (const text of ['0', '0.001', '0.009', '2.01', '3', '64']) {
      t.test(text, async t => {
        assertInvalid(
          t,
          thrown(() => parseCpus('--cpus', text, 2)),
          '--cpus',
          text,
          /range of CPUs is 0\.01 to 2 on this host/,
        )
        t.match((thrown(() => parseCpus('--cpus', text, 2)) as InvalidValueError).fix, /0\.01 to 2/)
      })
    }
  })

  t.test('the upper bound follows the host', async t => {
    t.equal(parseCpus('--cpus', '16', 16), 16)
    assertInvalid(
      t,
      thrown(() => parseCpus('--cpus', '16', 8)),
      '--cpus',
      '16',
      /0\.01 to 8/,
    )
  })
})

t.test('parseInteger', async t => {
  const fix = 'use a weight from 2 to 262144'

  t.test('accepts whole numbers within the bounds, inclusive', async t => {
    t.equal(parseInteger('--cpu-shares', '2', 2, 262_144, fix), 2)
    t.equal(parseInteger('--cpu-shares', '1024', 2, 262_144, fix), 1024)
    t.equal(parseInteger('--cpu-shares', '262144', 2, 262_144, fix), 262_144)
    t.equal(parseInteger('--pids-limit', '-1', -1, 100, fix), -1, 'negative numbers when min allows them')
    t.equal(parseInteger('--pids-limit', ' 7 ', -1, 100, fix), 7, 'surrounding whitespace')
  })

  t.test('rejects values outside the bounds, naming them', async t => {
    assertInvalid(
      t,
      thrown(() => parseInteger('--cpu-shares', '1', 2, 262_144, fix)),
      '--cpu-shares',
      '1',
      /whole number from 2 to 262144/,
    )
    assertInvalid(
      t,
      thrown(() => parseInteger('--cpu-shares', '262145', 2, 262_144, fix)),
      '--cpu-shares',
      '262145',
    )
  })

  t.test('rejects what is not a whole number', async t => {
    for (const text of ['1.5', 'abc', '', '1e3', '+5', '0x10', '99999999999999999999']) {
      t.test(JSON.stringify(text), async t => {
        assertInvalid(
          t,
          thrown(() => parseInteger('--cpu-shares', text, 0, Number.MAX_SAFE_INTEGER, fix)),
          '--cpu-shares',
          text,
        )
      })
    }
  })

  t.test('carries the fix the caller gave', async t => {
    t.equal((thrown(() => parseInteger('--cpu-shares', '1', 2, 262_144, fix)) as InvalidValueError).fix, fix)
  })
})

t.test('parseCpuList', async t => {
  t.test('accepts ranges and lists of CPUs that exist', async t => {
    t.equal(parseCpuList('--cpuset-cpus', '0-1', 2), '0-1')
    t.equal(parseCpuList('--cpuset-cpus', '0,1', 2), '0,1')
    t.equal(parseCpuList('--cpuset-cpus', '1', 2), '1')
    t.equal(parseCpuList('--cpuset-cpus', '0-3,8', 16), '0-3,8')
    t.equal(parseCpuList('--cpuset-cpus', ' 0-1 ', 2), '0-1', 'returns the list trimmed, as the kernel takes it')
  })

  t.test('rejects a backwards range', async t => {
    assertInvalid(
      t,
      thrown(() => parseCpuList('--cpuset-cpus', '1-0', 2)),
      '--cpuset-cpus',
      '1-0',
      /not a CPU list/,
    )
  })

  t.test('rejects a CPU the host does not have, naming it and the host range', async t => {
    assertInvalid(
      t,
      thrown(() => parseCpuList('--cpuset-cpus', '9', 2)),
      '--cpuset-cpus',
      '9',
      /CPU 9 does not exist \(this host has CPUs 0-1\)/,
    )
    assertInvalid(
      t,
      thrown(() => parseCpuList('--cpuset-cpus', '0-2', 2)),
      '--cpuset-cpus',
      '0-2',
      /CPU 2 does not exist/,
    )
    assertInvalid(
      t,
      thrown(() => parseCpuList('--cpuset-cpus', '0,5', 2)),
      '--cpuset-cpus',
      '0,5',
      /CPU 5/,
    )
    t.match((thrown(() => parseCpuList('--cpuset-cpus', '9', 2)) as InvalidValueError).fix, /0 to 1/)
  })

  t.test('rejects what is not a CPU list', async t => {
    for (const text of ['a', '', '0-', '-1', '0,,1', '0-1-2', '0;1', '1.5']) {
      t.test(JSON.stringify(text), async t => {
        assertInvalid(
          t,
          thrown(() => parseCpuList('--cpuset-cpus', text, 2)),
          '--cpuset-cpus',
          text,
          /not a CPU list/,
        )
      })
    }
  })
})

t.test('formatBytes', async t => {
  t.test('uses the largest binary unit that keeps the number at least 1', async t => {
    t.equal(formatBytes(0), '0 B')
    t.equal(formatBytes(1023), '1023 B')
    t.equal(formatBytes(1024), '1 KiB')
    t.equal(formatBytes(64 * MiB), '64 MiB')
    t.equal(formatBytes(6 * MiB), '6 MiB')
    t.equal(formatBytes(GiB), '1 GiB')
    t.equal(formatBytes(2 * TiB), '2 TiB')
  })

  t.test('shows one decimal for fractions', async t => {
    t.equal(formatBytes(1.5 * GiB), '1.5 GiB')
    t.equal(formatBytes(1536), '1.5 KiB')
    t.equal(formatBytes(1100), '1.1 KiB')
  })

  t.test('stays in TiB above it', async t => {
    t.equal(formatBytes(2048 * TiB), '2048 TiB')
  })

  t.test('round-trips the sizes parseSize reads', async t => {
    t.equal(formatBytes(parseSize('--memory', '512m')), '512 MiB')
    t.equal(formatBytes(parseSize('--memory', '1.5g')), '1.5 GiB')
  })
})
