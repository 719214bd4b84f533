/** Jest runs TypeScript sources directly through SWC, as native ESM. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^@dnsdist-ts/xdp-filter$': '<rootDir>/contrib/xdp-filter/src/index.ts',
    '^@dnsdist-ts/([a-z-]+)/(.+)\\.js$': '<rootDir>/packages/$1/src/$2',
    '^@dnsdist-ts/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/packages/*/test/**/*.test.ts', '<rootDir>/contrib/*/test/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/test/bench/'],
  testTimeout: 30000,
  maxWorkers: 2,
  setupFilesAfterEnv: ['<rootDir>/test/support/stall-watchdog-setup.js'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js', '<rootDir>/test/support/stall-watchdog-reporter.js'],
};
