/**
 * Tests that run the repository's programs as an unprivileged user (uid
 * 65534) need every directory above the checkout to be searchable by
 * others. A checkout below a 0700 directory (`mktemp -d`, as a CI runner
 * may make) is not: the unprivileged program then cannot even find its own
 * files. This adds the search bit (o+x, never read) where it is missing and
 * puts every mode back afterwards.
 */
import { chmodSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (this file is test/support/traversable.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Make `path` and its ancestors searchable by others; returns what undoes
 * it. Only directories that lacked the bit are touched.
 */
export function makeTraversable(path: string = REPO_ROOT): () => void {
  const changed: Array<[string, number]> = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, mode | 0o001);
      changed.push([dir, mode]);
    }
    if (dirname(dir) === dir) break;
  }
  return () => {
    for (const [dir, mode] of changed.reverse()) chmodSync(dir, mode);
  };
}
