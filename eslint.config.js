// The linter: typescript-eslint's type-aware recommended rules on the TypeScript (src, test, bench
// and scripts are one tsconfig program), ESLint's own recommended rules on everything. Formatting
// is prettier's (.prettierrc.json), so no rule here is about layout.
import {builtinRules} from 'eslint/use-at-your-own-risk'
import tseslint from 'typescript-eslint'

// ESLint's recommended set, from the rules' own metadata: @eslint/js (which ships it as a config)
// is not a dependency, and this is the same list.
const eslintRecommended = Object.fromEntries([...builtinRules].filter(([, rule]) => rule.meta?.docs?.recommended).map(([name]) => [name, 'error']))

/** Node's globals for the plain JavaScript files (bin, scripts, bench), which tsc does not check. */
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'Buffer',
    'console',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
    'structuredClone',
    'URL',
    'URLSearchParams',
    'TextEncoder',
    'TextDecoder',
    'AbortController',
    'AbortSignal',
    'fetch',
    'performance',
    'require',
    'module',
    '__dirname',
    '__filename',
    'globalThis',
    'SharedArrayBuffer',
    'Atomics',
    'WebAssembly',
  ].map(name => [name, 'readonly']),
)

export default tseslint.config(
  {ignores: ['dist/', 'dist-tsc/', 'native/build/', 'bench/work/', 'bench/results/', 'examples/rails-app/', '.tap/', 'node_modules/', 'test/**/fixtures/']},
  {
    files: ['**/*.{js,cjs,mjs,ts}'],
    linterOptions: {reportUnusedDisableDirectives: 'error'},
    // `catch {}` with a comment saying why is the house style for a best-effort step.
    rules: {...eslintRecommended, 'no-empty': ['error', {allowEmptyCatch: true}]},
  },
  {files: ['**/*.{js,cjs,mjs}'], languageOptions: {globals: nodeGlobals, ecmaVersion: 2022, sourceType: 'module'}},
  {files: ['**/*.cjs', 'bin/*.js'], languageOptions: {sourceType: 'commonjs'}},
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}},
    rules: {
      // tsc checks names (noUndef is its job, with the DOM-free Node types).
      'no-undef': 'off',
      // tsc's noUnusedLocals covers locals; arguments named `_x` and rest siblings are kept on purpose.
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true}],
      // An async function without await is how a synchronous check reports through the promise
      // (a rejection, not a throw before the caller's await): intended wherever it occurs.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // tap awaits its own subtests: a t.test(...) not awaited at the top of a file is how tap is written.
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    files: ['test/integration/**/*.ts', 'test/hardening/**/*.ts', 'test/systemd/**/*.ts'],
    rules: {
      // The root tiers read what a real run printed (contain ps --json, state.json, a probe's JSON
      // answers): the shape of that JSON is what they assert, and a cast at every JSON.parse would
      // claim a type nothing checks. The unit tests keep these rules.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
)
