import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Dependencies run one way (docs/architecture.md, "The packages"): each package may import only the
// packages below it (LAYERS), by name, and nothing from contrib/ except what it lists. Inside
// packages/proxy, only the composition roots (COMPOSERS: the app, the command line, the worker
// thread's entry) use the Lua layer, the workers and app/.
const LAYERS = {
  dataplane: { may: [], contrib: [] },
  console: { may: [], contrib: [] },
  dynblocks: { may: ['dataplane'], contrib: [] },
  ebpf: { may: ['dataplane', 'dynblocks'], contrib: ['xdp-filter'] },
  web: { may: ['dataplane', 'dynblocks'], contrib: [] },
  integrations: { may: ['dataplane', 'dynblocks'], contrib: [] },
  lua: { may: ['dataplane', 'console', 'dynblocks', 'ebpf', 'web', 'integrations'], contrib: [] },
  workers: { may: ['dataplane', 'console', 'dynblocks', 'ebpf', 'web', 'integrations', 'lua'], contrib: [] },
  proxy: { may: ['dataplane', 'console', 'dynblocks', 'ebpf', 'web', 'integrations', 'lua', 'workers'], contrib: [] },
};
const CONTRIB = ['xdp-filter'];
const PROXY_SRC = 'packages/proxy/src';
const COMPOSERS = ['app', 'cli', 'worker-entry'];
/** The patterns that keep package `name` from importing what is above it or beside it. */
function packagePatterns(name) {
  const { may, contrib } = LAYERS[name];
  const others = Object.keys(LAYERS).filter((p) => p !== name && !may.includes(p));
  const patterns = [
    {
      regex: `^(\\.\\./)+(${Object.keys(LAYERS).join('|')})/src/`,
      message: 'Import another package by its name (@dnsdist-ts/<package>/<folder>/<file>.js), never by a relative path.',
    },
  ];
  if (others.length)
    patterns.push({
      regex: `^@dnsdist-ts/(${others.join('|')})(/|$)`,
      message: `Package ${name} may import ${may.length ? 'only ' + may.join(', ') : 'no other package of the proxy'} (docs/architecture.md, "The packages"): declare an interface below (dataplane's query/query-collaborators.ts) and let the composition root plug the implementation in.`,
    });
  const denied = CONTRIB.filter((c) => !contrib.includes(c));
  if (denied.length)
    patterns.push({
      regex: `^@dnsdist-ts/(${denied.join('|')})(/|$)`,
      message: 'Nothing but the ebpf package depends on contrib/: import what it re-exports from @dnsdist-ts/ebpf.',
    });
  return patterns;
}
const composerPattern = {
  regex: `^(@dnsdist-ts/(lua|workers)(/|$)|(\\.\\./)+app/)`,
  message:
    'Only app/, cli/ and worker-entry/ use the Lua layer, the workers and the composition root: take the object as a parameter instead.',
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/build/**', 'coverage/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  ...Object.keys(LAYERS).map((name) => ({
    files: [`packages/${name}/src/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: packagePatterns(name) }] },
  })),
  {
    files: [`${PROXY_SRC}/**/*.ts`],
    // index.ts: the package's entry re-exports the application and the Lua runtime, for embedding.
    ignores: [...COMPOSERS.map((d) => `${PROXY_SRC}/${d}/**`), `${PROXY_SRC}/index.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [...packagePatterns('proxy'), composerPattern] }] },
  },
);
