import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Dependencies run one way (docs/architecture.md, "The code"). The query path answers queries and
// knows the rest of the program only through interfaces (query/query-collaborators.ts); the Lua layer
// is the configuration language over objects the composition root (app/dnsdist-app.ts) builds.
const PROXY_SRC = 'packages/proxy/src';
const QUERY_PATH = ['server', 'backend', 'rules', 'cache', 'io', 'query', 'rings', 'stats'];
const ABOVE_QUERY_PATH = [
  'web',
  'metrics',
  'console',
  'ebpf',
  'dynblocks',
  'lua',
  'app',
  'cli',
  'workers',
  'fleet',
  'crowdsec',
  'carbon',
  'demo',
];
/** Folders that may import lua/ and app/: the composition root, the command line, the data-plane workers. */
const COMPOSERS = ['app', 'cli', 'workers', 'lua'];
const folderImport = (folders) => `^(\\.\\./)+(${folders.join('|')})/`;

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
  {
    files: [`${PROXY_SRC}/**/*.ts`],
    ignores: COMPOSERS.map((d) => `${PROXY_SRC}/${d}/**`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: folderImport(['lua', 'app']),
              message: 'Only app/, cli/ and workers/ use the Lua layer and the composition root: take the object as a parameter instead.',
            },
          ],
        },
      ],
    },
  },
  {
    files: QUERY_PATH.map((d) => `${PROXY_SRC}/${d}/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: folderImport(ABOVE_QUERY_PATH),
              message:
                'The query path imports nothing from the control plane: declare an interface in query/query-collaborators.ts and let app/ plug the implementation in.',
            },
          ],
        },
      ],
    },
  },
);
