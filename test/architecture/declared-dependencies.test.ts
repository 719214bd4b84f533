import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Every package imported by a package's sources is among that package's own
 * dependencies. The layering rules (dependency-direction.test.ts) allow a
 * package to import those below it; this checks that it also declares what
 * it imports, so its tarball installed alone (`make pack`, docs/install.md)
 * finds every module it loads.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

interface Workspace {
  dir: string;
  name: string;
  declared: Set<string>;
}

function workspaces(): Workspace[] {
  return ['packages', 'contrib'].flatMap((top) =>
    readdirSync(join(root, top)).flatMap((d) => {
      const dir = join(root, top, d);
      let pkg: { name: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
      try {
        pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        return [];
      }
      return [
        { dir, name: pkg.name, declared: new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]) },
      ];
    }),
  );
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** The package a bare specifier names ('@scope/name/deep/path' → '@scope/name'), or undefined for relative and built-in ones. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return builtinModules.includes(name) ? undefined : name;
}

/** Each source file's imported packages its package does not declare, as "file: package". */
function undeclaredImports(ws: Workspace): string[] {
  const found: string[] = [];
  for (const file of sources(join(ws.dir, 'src'))) {
    for (const imported of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      const name = packageOf(imported.fileName);
      if (name !== undefined && name !== ws.name && !ws.declared.has(name)) found.push(`${file.slice(root.length)}: ${name}`);
    }
  }
  return found;
}

describe('declared dependencies', () => {
  const all = workspaces();

  it('finds every workspace package', () => {
    expect(all.map((w) => w.name)).toEqual(
      expect.arrayContaining(['@dnsdist-ts/dataplane', '@dnsdist-ts/lua', '@dnsdist-ts/workers', '@dnsdist-ts/proxy']),
    );
  });

  it.each(all.map((w) => [w.name, w] as const))('%s declares every package its sources import', (_name, ws) => {
    expect(undeclaredImports(ws)).toEqual([]);
  });

  it('would catch an import its package does not declare', () => {
    const workers = all.find((w) => w.name === '@dnsdist-ts/workers')!;
    const without = { ...workers, declared: new Set([...workers.declared].filter((d) => d !== '@dnsdist-ts/dataplane')) };
    expect(undeclaredImports(without)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^packages\/workers\/src\/.*: @dnsdist-ts\/dataplane$/)]),
    );
  });
});
