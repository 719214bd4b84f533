/**
 * includeDirectory(dir): run every `*.conf` file of a directory, as dnsdist
 * does, while the configuration is read.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LuaEnvironment } from './lua-environment.js';

/**
 * The files includeDirectory runs, in the order it runs them: regular files
 * whose names end in ".conf" and do not start with a dot, sorted by name
 * byte for byte (dnsdist sorts the full paths with std::sort).
 *
 * @throws Error when `dir` does not exist or is not a directory.
 */
export function includedFiles(dir: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw new Error(
      `includeDirectory: cannot read '${dir}' (${(err as NodeJS.ErrnoException).code ?? String(err)}): give an existing directory`,
    );
  }
  if (!isDir) throw new Error(`includeDirectory: '${dir}' is not a directory`);
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || !name.endsWith('.conf')) continue;
    const path = join(dir, name);
    try {
      if (statSync(path).isFile()) files.push(path);
    } catch {
      // Vanished or a dangling link: dnsdist skips what it cannot stat.
    }
  }
  return files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export function registerIncludeBindings(env: LuaEnvironment): void {
  let including = false;
  env.runtime.registerFunction('includeDirectory', (a) => {
    const dir = a.string(0);
    if (env.configurationDone) return env.fail('includeDirectory() cannot be used at runtime!');
    if (including) return env.fail('includeDirectory() cannot be used recursively!');
    const files = includedFiles(dir);
    including = true;
    try {
      for (const file of files) {
        if (env.proxy.log.verbose) env.proxy.log.info(`Read configuration from '${file}'`);
        env.runtime.runFile(file);
      }
    } finally {
      including = false;
    }
  });
}
