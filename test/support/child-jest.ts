/**
 * How the support tests start a child jest on their fixtures: the repository's
 * jest, as ESM with the project's configuration, and whatever `extra` asks.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Node's arguments for a child jest run with the project's configuration plus `extra`. */
export function childJestArgs(extra: string[]): string[] {
  return [
    '--experimental-vm-modules',
    '--disable-warning=ExperimentalWarning',
    join(repoRoot, 'node_modules/jest/bin/jest.js'),
    '--config',
    join(repoRoot, 'jest.config.js'),
    ...extra,
  ];
}
