import type t from 'tap'

/** The `t` a subtest callback receives, for assertion helpers shared by tests. */
export type TestContext = Parameters<Parameters<typeof t.test>[0]>[0]
