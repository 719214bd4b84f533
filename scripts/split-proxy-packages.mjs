#!/usr/bin/env node
// Splits packages/proxy into packages whose dependencies run one way (issue 18, "Architecture made
// visible"), as a codemod that can be re-run on any later main instead of a hand-made move:
//
//   node scripts/split-proxy-packages.mjs [--graph] && pnpm install --prefer-offline
//   make build && pnpm run typecheck && pnpm run lint
//
// (`pnpm install --prefer-offline` links the new workspace packages and writes their importers into
// pnpm-lock.yaml; commit the lock file with the rest, CI installs with --frozen-lockfile.)
//
// What it does, in order:
//  1. maps the import graph between the proxy's source folders and checks that the package cuts
//     below still run one way (an import the layering does not allow stops it before it changes
//     anything; `--graph` prints the folder graph and exits);
//  2. rewrites every relative import specifier, dynamic import() and `new URL('…', import.meta.url)`
//     in the repository whose target moves or whose importer moves: within one package it stays
//     relative, across packages it names the package (`@dnsdist-ts/dataplane/server/….js`), and
//     from root-level files (test/, scripts/) it is the new relative path;
//  3. rewrites paths in text (docs, Makefile, scripts, comments): packages/proxy/src/<folder> and
//     the native addon's files;
//  4. `git mv`s each folder (and the addon: binding.gyp, native/, scripts/build-addon.mjs) to
//     packages/<package>/ with the same layout below the package root, so paths found at run time
//     through import.meta.url (the addon in build/Release, the dashboard, worker entry points) hold;
//  5. writes each package's package.json (exports map: the package root and one subpath pattern
//     per folder; dependencies from what its sources import), tsconfig.build.json (references),
//     src/index.ts, and updates the proxy's, tsconfig.json paths, jest's moduleNameMapper,
//     eslint.config.js (the boundary rules), test/architecture/dependency-direction.test.ts,
//     the Makefile, the packaging test, and the table in docs/architecture.md;
//  6. runs prettier on every file it wrote.
// It refuses to run twice (packages/dataplane exists) and on a dirty tree.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const SELF = 'scripts/split-proxy-packages.mjs';
const OLD = 'packages/proxy';
const SCOPE = '@dnsdist-ts';

/**
 * The packages, lowest first. `folders` are packages/proxy/src/<folder>; `files` single files of
 * packages/proxy/src; `extra` package-root files or folders that move along; `may` the project
 * packages (made here) this one may import; `contrib` the contrib/ packages it may import.
 */
const PACKAGES = [
  {
    name: 'dataplane',
    title:
      'the query path: frontends (UDP, TCP, DoT, DoH, DNSCrypt), backends and policies, rules and actions, packet cache, rings, counters, socket I/O and its native addon, the question/response types and the interfaces to the control plane',
    folders: ['query', 'io', 'rules', 'cache', 'rings', 'stats', 'tls', 'backend', 'server', 'dnscrypt', 'doh'],
    files: ['version.ts'],
    extra: ['binding.gyp', 'native', 'scripts/build-addon.mjs'],
    may: [],
    contrib: [],
  },
  {
    name: 'console',
    title: 'the console protocol: server, client, encryption, settings (knows no Lua: the composition root hands it an evaluator)',
    folders: ['console'],
    files: [],
    extra: [],
    may: [],
    contrib: [],
  },
  {
    name: 'dynblocks',
    title: 'dynamic blocks: the rules over the rings, the block table, the per-query check, the kernel sink interface',
    folders: ['dynblocks'],
    files: [],
    extra: [],
    may: ['dataplane'],
    contrib: [],
  },
  {
    name: 'ebpf',
    title: 'the BPF side: BPF filters, the XDP loader and its kernel sink (the only package that depends on contrib/xdp-filter)',
    folders: ['ebpf'],
    files: [],
    extra: [],
    may: ['dataplane', 'dynblocks'],
    contrib: ['xdp-filter'],
  },
  {
    name: 'web',
    title: 'the webserver, its API and dashboard, and the metrics (Prometheus exposition, carbon-style names)',
    folders: ['metrics', 'web'],
    files: [],
    extra: [],
    may: ['dataplane', 'dynblocks'],
    contrib: [],
  },
  {
    name: 'integrations',
    title: 'what talks to other systems: carbon export, CrowdSec, the fleet bus (Redis)',
    folders: ['carbon', 'crowdsec', 'fleet'],
    files: [],
    extra: [],
    may: ['dataplane', 'dynblocks'],
    contrib: [],
  },
];
/** What stays in packages/proxy: the composition root, the CLI, the workers, the Lua layer, the demo. */
const TOP = {
  name: 'proxy',
  title:
    'the composition root (app/), the command line (cli/), the data-plane workers (workers/), the Lua configuration layer (lua/) and the demo server',
  may: PACKAGES.map((p) => p.name),
  contrib: [],
};
/** Folders of packages/proxy/src that may import lua/ and app/ (the composition root and its peers). */
const COMPOSERS = ['app', 'cli', 'workers', 'lua'];
/** Loaded on first use and kept outside the CLI bundle (scripts/bundle-cli.mjs): resolved from packages/proxy. */
const BUNDLE_EXTERNALS = ['ioredis', 'prom-client', 'libsodium-wrappers'];
const PKG_NAMES = [...PACKAGES.map((p) => p.name), TOP.name];

const args = new Set(process.argv.slice(2));
const git = (...a) => execFileSync('git', a, { encoding: 'utf8' });

function die(message) {
  process.stderr.write(`split-proxy-packages: ${message}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// The moves: old path prefix -> new path prefix (repository-relative, posix).
const MOVES = [];
for (const p of PACKAGES) {
  for (const f of p.folders) MOVES.push([`${OLD}/src/${f}`, `packages/${p.name}/src/${f}`, p.name]);
  for (const f of p.files) MOVES.push([`${OLD}/src/${f}`, `packages/${p.name}/src/${f}`, p.name]);
  for (const f of p.extra) MOVES.push([`${OLD}/${f}`, `packages/${p.name}/${f}`, p.name]);
}
function moved(path) {
  for (const [from, to] of MOVES) {
    if (path === from || path.startsWith(`${from}/`)) return to + path.slice(from.length);
    // A moved .ts file named by its .js specifier.
    if (from.endsWith('.ts') && path === from.replace(/\.ts$/, '.js')) return to.replace(/\.ts$/, '.js');
  }
  return path;
}
/** The package a path is in, and whether in its src/ or elsewhere (test/, root files). */
function packageOf(path) {
  const m = /^packages\/([^/]+)\/(src\/)?/.exec(path);
  return m ? { name: m[1], src: Boolean(m[2]) } : null;
}
const folderOf = (path) => {
  const rest = path.slice(`${OLD}/src/`.length);
  return rest.includes('/') ? rest.split('/')[0] : `(${rest})`;
};

// ---------------------------------------------------------------------------------------------
// The files: everything tracked that can hold an import or a path.
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|md|json|sh|yaml|yml|service|gyp|cc|h|c|txt)$|(^|\/)(Makefile|dnsdist-ts|xdp-filter)$/;
const tracked = git('ls-files', '-z')
  .split('\0')
  .filter((f) => f && TEXT.test(f) && f !== SELF && f !== 'pnpm-lock.yaml' && existsSync(f) && statSync(f).isFile());
const CODE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const files = new Map(tracked.map((f) => [f, readFileSync(f, 'utf8')]));

// Specifiers: static and dynamic imports, re-exports, side-effect imports, jest mocks, URLs.
const SPEC = /(\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|\bnew URL\(\s*|\bjest\.(?:unstable_mockModule|mock)\(\s*)(['"])([^'"\n]+)\2/gm;

function resolveOld(importer, spec) {
  const joined = posix.normalize(posix.join(posix.dirname(importer), spec));
  const trail = spec.endsWith('/') ? '/' : '';
  for (const c of [joined, joined.replace(/\.js$/, '.ts'), joined.replace(/\.mjs$/, '.mts'), `${joined}.ts`]) {
    if (existsSync(c)) return { target: c, joined: joined.replace(/\/$/, '') + trail };
  }
  return null;
}

// 1. The folder graph and the layering check.
const layerOf = new Map();
for (const p of PACKAGES) for (const f of [...p.folders, ...p.files.map((x) => `(${x})`)]) layerOf.set(f, p.name);
const allowed = new Map([...PACKAGES, TOP].map((p) => [p.name, new Set([p.name, ...p.may])]));
const graph = new Map();
const violations = [];
for (const [file, text] of files) {
  if (!file.startsWith(`${OLD}/src/`) || !CODE.test(file)) continue;
  const a = folderOf(file);
  for (const m of text.matchAll(SPEC)) {
    const spec = m[3];
    if (!spec.startsWith('.')) continue;
    const r = resolveOld(file, spec);
    if (!r || !r.target.startsWith(`${OLD}/src/`)) continue;
    const b = folderOf(r.target);
    if (a === b) continue;
    const key = `${a} -> ${b}`;
    graph.set(key, (graph.get(key) ?? 0) + 1);
    const la = layerOf.get(a) ?? TOP.name;
    const lb = layerOf.get(b) ?? TOP.name;
    if (!allowed.get(la).has(lb)) violations.push(`${file}: ${spec} (${la} -> ${lb})`);
  }
}
if (args.has('--graph')) {
  const by = new Map();
  for (const [k, n] of [...graph].sort()) {
    const [a, b] = k.split(' -> ');
    by.set(a, [...(by.get(a) ?? []), `${b}(${n})`]);
  }
  for (const [a, bs] of by) console.log(`${a.padEnd(11)} [${layerOf.get(a) ?? TOP.name}] -> ${bs.join(' ')}`);
  if (violations.length) console.log(`\nimports the layering does not allow:\n  ${violations.join('\n  ')}`);
  process.exit(0);
}
if (existsSync('packages/dataplane')) die('packages/dataplane exists: the split is already applied.');
if (git('status', '--porcelain', '--untracked-files=no').trim()) die('the work tree has uncommitted changes; commit or stash them first.');
if (violations.length) die(`imports the package layering does not allow (fix them or change PACKAGES):\n  ${violations.join('\n  ')}`);
for (const [from] of MOVES) if (!existsSync(from)) die(`${from} does not exist: update PACKAGES.`);

// 2. Import specifiers.
const contrib = new Map(
  readdirSync('contrib')
    .filter((d) => existsSync(`contrib/${d}/package.json`))
    .map((d) => [JSON.parse(readFileSync(`contrib/${d}/package.json`, 'utf8')).name, d]),
);
/** Names other packages import from contrib/ (re-exported by the one package allowed to import it). */
const contribReexports = new Map();
const out = new Map();
for (const [file, text] of files) {
  const newFile = moved(file);
  let next = text;
  if (CODE.test(file)) {
    const importerPkg = packageOf(newFile);
    next = text.replace(SPEC, (whole, lead, quote, spec) => {
      const isModule = !/new URL/.test(lead);
      if (spec.startsWith('.')) {
        const r = resolveOld(file, spec);
        if (!r) return whole;
        const newTarget = moved(r.joined);
        if (newTarget === r.joined && newFile === file) return whole;
        const targetPkg = packageOf(newTarget);
        const crosses = isModule && importerPkg && targetPkg?.src && targetPkg.name !== importerPkg.name;
        // Moved together (same layout below the new package root): the specifier still holds, and must
        // stay as it is where it is meant for dist/ (new URL('../../src/web/dashboard/', import.meta.url)).
        const strip = (x) => x.replace(/\/$/, '');
        if (!crosses && strip(posix.normalize(posix.join(posix.dirname(newFile), spec))) === strip(newTarget)) return whole;
        let s;
        if (crosses) {
          if (!PACKAGES.some((p) => p.name === targetPkg.name)) die(`${file}: ${spec} would import ${targetPkg.name} from below it`);
          s = `${SCOPE}/${targetPkg.name}/${newTarget.slice(`packages/${targetPkg.name}/src/`.length)}`;
        } else {
          s = posix.relative(posix.dirname(newFile), newTarget) + (r.joined.endsWith('/') ? '/' : '');
          if (!s.startsWith('.')) s = `./${s}`;
        }
        return `${lead}${quote}${s}${quote}`;
      }
      // A contrib/ package imported by a package that may not: through the package that may.
      const bare = spec.split('/').slice(0, 2).join('/');
      if (isModule && contrib.has(bare) && importerPkg?.src && PKG_NAMES.includes(importerPkg.name)) {
        const own = [...PACKAGES, TOP].find((p) => p.name === importerPkg.name);
        if (!own.contrib.includes(contrib.get(bare))) {
          const via = PACKAGES.find((p) => p.contrib.includes(contrib.get(bare)));
          if (!via) die(`${file}: imports ${spec} and no package may`);
          const names = /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*$/.exec(text.slice(0, text.indexOf(whole) + lead.length));
          const list = contribReexports.get(via.name) ?? new Map();
          for (const n of (names?.[1] ?? '')
            .split(',')
            .map(
              (x) =>
                x
                  .trim()
                  .replace(/^type\s+/, '')
                  .split(/\s+as\s+/)[0],
            )
            .filter(Boolean))
            list.set(n, spec);
          contribReexports.set(via.name, list);
          return `${lead}${quote}${SCOPE}/${via.name}${quote}`;
        }
      }
      return whole;
    });
  }
  // 3. Paths in text.
  for (const [from, to] of MOVES) {
    const re = new RegExp(`(?<![\\w.-])${from.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?=$|[/\`'")\\]\\s:,.;*])`, 'gm');
    next = next.replace(re, (hit, offset, whole) =>
      whole[offset + hit.length] === '.' && /\w/.test(whole[offset + hit.length + 1] ?? '') ? hit : to,
    );
  }
  // The addon's build output (ignored by git, so not moved: `make native` builds it in its new place).
  next = next.replace(/packages\/proxy\/build(?=\/)/g, 'packages/dataplane/build');
  next = next.replaceAll('packages/bpf and packages/proxy each ship a copy', 'packages/bpf and packages/dataplane each ship a copy');
  if (next !== text || newFile !== file) out.set(newFile, next);
}

// 4. Move.
for (const [from, to] of MOVES) {
  mkdirSync(dirname(to), { recursive: true });
  git('mv', from, to);
}
// Build output of what moved (ignored by git): stale copies would still be found by a path into packages/proxy.
for (const p of PACKAGES) {
  for (const f of p.folders) rmSync(`${OLD}/dist/${f}`, { recursive: true, force: true });
  for (const f of p.files)
    for (const ext of ['.js', '.js.map', '.d.ts', '.d.ts.map']) rmSync(`${OLD}/dist/${f.replace(/\.ts$/, ext)}`, { force: true });
  if (p.extra.includes('binding.gyp')) rmSync(`${OLD}/build`, { recursive: true, force: true });
}
rmSync(`${OLD}/tsconfig.build.tsbuildinfo`, { force: true });
const written = new Set();
const write = (path, text) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  written.add(path);
};
for (const [path, text] of out) write(path, text);

// 5. Manifests and configuration.
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const writeJson = (p, v) => write(p, `${JSON.stringify(v, null, 2)}\n`);
const proxyManifest = readJson(`${OLD}/package.json`);
const rootManifest = readJson('package.json');
const workspaceDirs = new Map();
for (const base of ['packages', 'contrib'])
  for (const d of readdirSync(base))
    if (existsSync(`${base}/${d}/package.json`)) workspaceDirs.set(readJson(`${base}/${d}/package.json`).name, `${base}/${d}`);
for (const p of PACKAGES) workspaceDirs.set(`${SCOPE}/${p.name}`, `packages/${p.name}`);
const BUILTIN = new Set([
  'fs',
  'path',
  'url',
  'os',
  'net',
  'dgram',
  'crypto',
  'events',
  'stream',
  'util',
  'module',
  'child_process',
  'worker_threads',
  'tls',
  'http',
  'https',
  'http2',
  'zlib',
  'assert',
  'buffer',
  'timers',
  'readline',
  'perf_hooks',
  'dns',
  'v8',
  'vm',
  'string_decoder',
  'querystring',
  'async_hooks',
]);

function walk(dir, acc = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(p, acc);
    else if (/\.(ts|mts)$/.test(e.name)) acc.push(p);
  }
  return acc;
}
/** The packages a source tree imports (static, dynamic, type-only, createRequire(...)('x')). */
function importedPackages(dir) {
  const found = new Set();
  const re = /(\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|\)\(\s*|\brequire\(\s*)(['"])([^'".][^'"\n]*)\2/gm;
  for (const f of walk(dir)) {
    for (const m of readFileSync(f, 'utf8').matchAll(re)) {
      const spec = m[3];
      // createRequire(...)('x') and require('x') also match Lua's require("x") in comments: only known names.
      if (/\(/.test(m[1]) && !/import/.test(m[1]) && !versions[spec] && !workspaceDirs.has(spec)) continue;
      if (spec.startsWith('node:') || spec.startsWith('/')) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      if (BUILTIN.has(name) || !/^(@[a-z0-9-]+\/)?[a-z0-9][a-z0-9._-]*$/.test(name)) continue;
      found.add(name);
    }
  }
  return found;
}
const versions = { ...rootManifest.devDependencies, ...proxyManifest.devDependencies, ...proxyManifest.dependencies };
function dependencies(pkgDir, selfName, extra = []) {
  const deps = {};
  for (const name of [...importedPackages(`${pkgDir}/src`), ...extra].sort()) {
    if (name === selfName) continue;
    if (workspaceDirs.has(name)) deps[name] = 'workspace:*';
    else if (name.startsWith('@types/')) continue;
    else if (versions[name]) deps[name] = versions[name];
    // Text that looks like an import ("from 'file'" in a help text): a real one fails the build.
    else process.stderr.write(`split-proxy-packages: ${pkgDir}: ignoring '${name}' (no manifest names it)\n`);
  }
  return deps;
}
function checkLayering(pkg, deps) {
  for (const name of Object.keys(deps)) {
    if (!name.startsWith(`${SCOPE}/`)) continue;
    const short = name.slice(SCOPE.length + 1);
    const dir = workspaceDirs.get(name);
    if (PKG_NAMES.includes(short) && short !== pkg.name && !pkg.may.includes(short)) die(`${pkg.name} imports ${name}, above it`);
    if (dir?.startsWith('contrib/') && !pkg.contrib.includes(dir.slice('contrib/'.length)))
      die(`${pkg.name} imports ${name} from contrib/`);
  }
}
function tsconfigBuild(pkgDir, deps) {
  const refs = Object.keys(deps)
    .filter((d) => workspaceDirs.has(d))
    .map((d) => ({ path: posix.relative(pkgDir, `${workspaceDirs.get(d)}/tsconfig.build.json`) }))
    .sort((a, b) => a.path.localeCompare(b.path));
  writeJson(`${pkgDir}/tsconfig.build.json`, {
    extends: '../../tsconfig.base.json',
    compilerOptions: { rootDir: 'src', outDir: 'dist', composite: true, types: ['node'] },
    include: ['src'],
    references: refs,
  });
}
const ENTRY = { types: './dist/index.d.ts', default: './dist/index.js' };

for (const p of PACKAGES) {
  const dir = `packages/${p.name}`;
  // The package's root entry: the folders' own index files (what the proxy's index re-exported).
  const lines = [
    `/**\n * ${SCOPE}/${p.name}: ${p.title}.\n * Deep imports name a folder: \`${SCOPE}/${p.name}/<folder>/<file>.js\` (package.json "exports").\n */`,
  ];
  for (const f of p.folders) if (existsSync(`${dir}/src/${f}/index.ts`)) lines.push(`export * from './${f}/index.js';`);
  for (const f of p.files) lines.push(`export * from './${f.replace(/\.ts$/, '.js')}';`);
  for (const [n, spec] of [...(contribReexports.get(p.name) ?? new Map())].sort()) lines.push(`export { ${n} } from '${spec}';`);
  if (lines.length === 1) lines.push('export {};');
  write(`${dir}/src/index.ts`, `${lines.join('\n')}\n`);
  const exportsMap = { '.': ENTRY };
  for (const f of p.folders) exportsMap[`./${f}/*`] = `./dist/${f}/*`;
  for (const f of p.files)
    exportsMap[`./${f.replace(/\.ts$/, '.js')}`] = {
      types: `./dist/${f.replace(/\.ts$/, '.d.ts')}`,
      default: `./dist/${f.replace(/\.ts$/, '.js')}`,
    };
  const addon = p.extra.includes('binding.gyp');
  const deps = dependencies(dir, `${SCOPE}/${p.name}`, addon ? ['node-addon-api'] : []);
  checkLayering(p, deps);
  const manifest = {
    name: `${SCOPE}/${p.name}`,
    version: proxyManifest.version,
    description: `${p.title[0].toUpperCase()}${p.title.slice(1)}.`,
    type: 'module',
    main: 'dist/index.js',
    types: 'dist/index.d.ts',
    exports: exportsMap,
    scripts: { build: 'tsc -b tsconfig.build.json', ...(addon ? { install: proxyManifest.scripts.install } : {}) },
    dependencies: deps,
    ...(addon ? { devDependencies: proxyManifest.devDependencies } : {}),
    files: [
      'dist',
      ...p.extra.filter((e) => !e.includes('/')),
      ...(p.extra.some((e) => e.startsWith('scripts/')) ? ['scripts'] : []),
      ...(p.folders.includes('web') ? ['src/web/dashboard'] : []),
    ],
    engines: proxyManifest.engines,
    ...(proxyManifest.os ? { os: proxyManifest.os } : {}),
  };
  writeJson(`${dir}/package.json`, manifest);
  tsconfigBuild(dir, deps);
}
{
  const direct = dependencies(OLD, proxyManifest.name, BUNDLE_EXTERNALS);
  checkLayering(TOP, direct);
  // The CLI bundle (scripts/bundle-cli.mjs) inlines every workspace package below it and finds their
  // files (addons, BPF objects, workers) by resolving each package from packages/proxy: the proxy's
  // manifest names them all, xdp-filter included, though its sources import it only through ebpf.
  const closure = new Set(Object.keys(direct).filter((d) => workspaceDirs.has(d)));
  for (const d of closure)
    for (const [n, r] of Object.entries(readJson(`${workspaceDirs.get(d)}/package.json`).dependencies ?? {}))
      if (r.startsWith('workspace:')) closure.add(n);
  const deps = Object.fromEntries(
    Object.entries({ ...direct, ...Object.fromEntries([...closure].map((n) => [n, 'workspace:*'])) }).sort(([a], [b]) =>
      a.localeCompare(b),
    ),
  );
  const m = { ...proxyManifest, dependencies: deps };
  m.description =
    'dnsdist-compatible DNS proxy: the command line dnsdist-ts, the composition root, the data-plane workers and the Lua configuration over the packages below it (docs/architecture.md, "The packages").';
  const scripts = { ...m.scripts };
  delete scripts.install;
  m.scripts = scripts;
  delete m.devDependencies;
  m.files = ['dist'];
  writeJson(`${OLD}/package.json`, m);
  tsconfigBuild(OLD, deps);
}

// tsconfig.json: each package's deep imports resolve to its sources for `pnpm run typecheck`.
{
  const t = readJson('tsconfig.json');
  const paths = {};
  for (const p of PACKAGES) paths[`${SCOPE}/${p.name}/*`] = [`./packages/${p.name}/src/*`];
  t.compilerOptions.paths = { ...paths, ...t.compilerOptions.paths };
  writeJson('tsconfig.json', t);
}

// jest: deep imports of a package to its sources.
{
  const f = 'jest.config.js';
  let text = readFileSync(f, 'utf8');
  const line = "    '^@dnsdist-ts/([a-z-]+)/(.+)\\\\.js$': '<rootDir>/packages/$1/src/$2',\n";
  const anchor = "    '^@dnsdist-ts/([a-z-]+)$'";
  if (!text.includes(anchor)) die(`${f}: no moduleNameMapper line ${anchor}`);
  if (!text.includes(line)) text = text.replace(anchor, () => `${line}${anchor}`);
  write(f, text);
}

// Makefile and the packaging test: the native UDP addon is the data plane's; pack every package, lowest first.
{
  const packed = [
    'packages/dns',
    'packages/bpf',
    'packages/bpf-filter',
    'contrib/xdp-filter',
    ...PACKAGES.map((p) => `packages/${p.name}`),
    OLD,
  ];
  let mk = readFileSync('Makefile', 'utf8');
  mk = mk.replace(/^PACKED := .*$/m, () => `PACKED := ${packed.join(' ')}`);
  mk = mk.replace('cd packages/proxy && ./node_modules/.bin/node-gyp', 'cd packages/dataplane && ./node_modules/.bin/node-gyp');
  write('Makefile', mk);
  const t = 'test/packaging/npm-install.test.ts';
  let text = readFileSync(t, 'utf8');
  text = text.replace(/^const PACKAGES = \[.*\];$/m, () => `const PACKAGES = [${packed.map((p) => `'${p}'`).join(', ')}];`);
  text = text.replace("installed('@dnsdist-ts/proxy'), 'build', 'Release'", "installed('@dnsdist-ts/dataplane'), 'build', 'Release'");
  write(t, text);
}

// eslint: the boundaries.
{
  const f = 'eslint.config.js';
  const text = readFileSync(f, 'utf8');
  const start = text.indexOf('// Dependencies run one way');
  const end = text.indexOf('export default tseslint.config(');
  const tail = text.slice(end);
  const cut = tail.indexOf('  {\n    files: [`${PROXY_SRC}/**/*.ts`]');
  if (start < 0 || end < 0 || cut < 0) die(`${f}: not the layout this script knows; update it`);
  const layers = Object.fromEntries([...PACKAGES, TOP].map((p) => [p.name, { may: p.may, contrib: p.contrib }]));
  const head = `// Dependencies run one way (docs/architecture.md, "The packages"): each package may import only the
// packages below it (LAYERS, written by scripts/split-proxy-packages.mjs), by name, and nothing from
// contrib/ except what it lists. Inside packages/proxy, only the composition root and its peers
// (COMPOSERS) use the Lua layer and app/.
const LAYERS = ${JSON.stringify(layers)};
const CONTRIB = ${JSON.stringify([...contrib.keys()].map((n) => n.slice(SCOPE.length + 1)))};
const PROXY_SRC = 'packages/proxy/src';
const COMPOSERS = ${JSON.stringify(COMPOSERS)};
const folderImport = (folders) => \`^(\\\\.\\\\./)+(\${folders.join('|')})/\`;
/** The patterns that keep package \`name\` from importing what is above it or beside it. */
function packagePatterns(name) {
  const { may, contrib } = LAYERS[name];
  const others = Object.keys(LAYERS).filter((p) => p !== name && !may.includes(p));
  const patterns = [
    {
      regex: \`^(\\\\.\\\\./)+(\${Object.keys(LAYERS).join('|')})/src/\`,
      message: 'Import another package by its name (@dnsdist-ts/<package>/<folder>/<file>.js), never by a relative path.',
    },
  ];
  if (others.length)
    patterns.push({
      regex: \`^@dnsdist-ts/(\${others.join('|')})(/|$)\`,
      message: \`Package \${name} may import \${may.length ? 'only ' + may.join(', ') : 'no other package of the proxy'} (docs/architecture.md, "The packages"): declare an interface below (dataplane's query/query-collaborators.ts) and let the composition root plug the implementation in.\`,
    });
  const denied = CONTRIB.filter((c) => !contrib.includes(c));
  if (denied.length)
    patterns.push({
      regex: \`^@dnsdist-ts/(\${denied.join('|')})(/|$)\`,
      message: 'Nothing but the ebpf package depends on contrib/: import what it re-exports from @dnsdist-ts/ebpf.',
    });
  return patterns;
}
const luaPattern = {
  regex: folderImport(['lua', 'app']),
  message: 'Only app/, cli/ and workers/ use the Lua layer and the composition root: take the object as a parameter instead.',
};

`;
  const rules = `  ...Object.keys(LAYERS).map((name) => ({
    files: [\`packages/\${name}/src/**/*.ts\`],
    rules: { 'no-restricted-imports': ['error', { patterns: packagePatterns(name) }] },
  })),
  {
    files: [\`\${PROXY_SRC}/**/*.ts\`],
    ignores: COMPOSERS.map((d) => \`\${PROXY_SRC}/\${d}/**\`),
    rules: { 'no-restricted-imports': ['error', { patterns: [...packagePatterns('proxy'), luaPattern] }] },
  },
);
`;
  write(f, text.slice(0, start) + head + tail.slice(0, cut) + rules);
}

// The architecture test: the rules would catch a violation at all.
write(
  'test/architecture/dependency-direction.test.ts',
  `import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

/**
 * The one-way dependency rules of docs/architecture.md ("The packages"), as
 * eslint.config.js enforces them: each package imports only the packages below
 * it, by name; only the ebpf package imports contrib/; inside packages/proxy
 * only app/, cli/, workers/ (and lua/ itself) import lua/ and app/.
 * \`pnpm run lint\` checks the tree; this checks that the rules would catch a
 * violation at all.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restrictedImports(file: string, from: string): Promise<string[]> {
  const code = \`import type { X } from '\${from}';\\nexport type Y = X;\\n\`;
  const [result] = await eslint.lintText(code, { filePath: \`\${root}/packages/\${file}\` });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('dependency direction (eslint no-restricted-imports)', () => {
  it.each([
    ['dataplane/src/server/probe.ts', '@dnsdist-ts/dynblocks/dynblocks/index.js'],
    ['dataplane/src/query/probe.ts', '@dnsdist-ts/web/web/web-service.js'],
    ['dataplane/src/rules/probe.ts', '@dnsdist-ts/web/metrics/event-loop-slicer.js'],
    ['dataplane/src/rules/actions/probe.ts', '@dnsdist-ts/proxy'],
    ['dataplane/src/backend/policies/probe.ts', '@dnsdist-ts/ebpf/ebpf/proxy-ebpf.js'],
    ['dataplane/src/io/probe.ts', '@dnsdist-ts/console/console/index.js'],
    ['dynblocks/src/dynblocks/probe.ts', '@dnsdist-ts/web/metrics/index.js'],
    ['web/src/web/probe.ts', '@dnsdist-ts/ebpf'],
    ['console/src/console/probe.ts', '@dnsdist-ts/dataplane/query/dns-question.js'],
    ['ebpf/src/ebpf/probe.ts', '@dnsdist-ts/proxy'],
  ])('refuses %s importing %s (a package imports only the packages below it)', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([expect.stringMatching(/Package [a-z]+ may import (only|no other)/)]);
  });

  it.each([
    ['dataplane/src/server/probe.ts', '../../../web/src/web/web-service.js'],
    ['web/src/metrics/probe.ts', '../../../dataplane/src/query/dns-question.js'],
  ])('refuses %s importing %s (another package by a relative path)', async (file, from) => {
    expect(await restrictedImports(file, from)).toContainEqual(expect.stringContaining('Import another package by its name'));
  });

  it.each([
    ['dataplane/src/io/probe.ts', '@dnsdist-ts/xdp-filter'],
    ['proxy/src/lua/probe.ts', '@dnsdist-ts/xdp-filter'],
  ])('refuses %s importing %s (only the ebpf package depends on contrib/)', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([expect.stringContaining('Nothing but the ebpf package depends on contrib/')]);
  });

  it.each([['proxy/src/demo/probe.ts', '../lua/lua-environment.js']])(
    'refuses %s importing %s (only the composition root and its peers use the Lua layer)',
    async (file, from) => {
      expect(await restrictedImports(file, from)).toEqual([expect.stringContaining('Only app/, cli/ and workers/')]);
    },
  );

  it.each([
    ['dataplane/src/server/probe.ts', '../query/query-collaborators.js'],
    ['dynblocks/src/dynblocks/probe.ts', '@dnsdist-ts/dataplane/query/dns-question.js'],
    ['web/src/metrics/probe.ts', '@dnsdist-ts/dynblocks/dynblocks/index.js'],
    ['ebpf/src/ebpf/probe.ts', '@dnsdist-ts/xdp-filter'],
    ['proxy/src/app/probe.ts', '../lua/lua-environment.js'],
    ['proxy/src/workers/probe.ts', '@dnsdist-ts/ebpf/ebpf/proxy-ebpf.js'],
    ['proxy/src/cli/probe.ts', '../app/dnsdist-app.js'],
  ])('lets %s import %s', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([]);
  });
});
`,
);

// docs/architecture.md: the packages and the rule.
{
  const f = 'docs/architecture.md';
  let text = readFileSync(f, 'utf8');
  const depsOf = (name) => Object.keys(readJson(`packages/${name}/package.json`).dependencies).filter((d) => d.startsWith(`${SCOPE}/`));
  const bundleOnly = (p, d) => p === TOP && workspaceDirs.get(d)?.startsWith('contrib/');
  const row = (p, folders) =>
    `| \`${SCOPE}/${p.name}\` | ${folders} | ${p.title} | ${
      depsOf(p.name)
        .filter((d) => !bundleOnly(p, d))
        .map((d) => `\`${d.slice(SCOPE.length + 1)}\``)
        .join(', ') || '—'
    } |`;
  const section = `<!-- packages:begin (written by scripts/split-proxy-packages.mjs) -->
## The packages

The proxy is split into packages whose dependencies run one way: each may import only the
packages in its row's last column, by name (\`${SCOPE}/<package>\` or a file of one of its folders,
\`${SCOPE}/<package>/<folder>/<file>.js\`, which its \`exports\` map lists), never by a relative path
into another package. Only \`ebpf\` depends on \`contrib/\` (\`xdp-filter\`); the rest reach the XDP
loader through it. The query path (\`dataplane\`) knows the control plane only through the interfaces
in \`query/query-collaborators.ts\`, which the composition root (\`proxy\`'s \`app/dnsdist-app.ts\`)
fills in. eslint's \`no-restricted-imports\` (\`eslint.config.js\`, \`LAYERS\`) enforces the table;
\`test/architecture/dependency-direction.test.ts\` checks that it would catch a violation. The layout
below each package root is the old one (\`src/<folder>/\`, the native addon in \`build/Release\`), so
files found through \`import.meta.url\` did not move relative to their modules.

| Package | Folders (\`src/\`) | What it holds | May import |
| --- | --- | --- | --- |
${PACKAGES.map((p) => row(p, [...p.folders, ...p.files].map((x) => `\`${x}\``).join(', '))).join('\n')}
${row(TOP, ['app', 'cli', 'workers', 'lua', 'demo'].map((x) => `\`${x}\``).join(', '))}

(\`dns\`, \`bpf\` and \`bpf-filter\` lie below all of them. \`packages/proxy/package.json\` also names
\`xdp-filter\`, because the CLI bundle (\`scripts/bundle-cli.mjs\`) inlines them and
finds their files by resolving each package from \`packages/proxy\`; its sources may not import it.)
The proxy's unit and end-to-end tests stay in \`packages/proxy/test/\` and import the lower
packages by name.
<!-- packages:end -->
`;
  // "The code" described the rule as folder lists inside the proxy: point it at the table instead.
  text = text.replace(
    /Dependencies run one way, and eslint \(`no-restricted-imports` in\s+`eslint.config.js`\) enforces two rules of it:[\s\S]*?import `lua\/` or `app\/`\./,
    () =>
      'Dependencies run one way, between packages ("The packages" below) and, inside `packages/proxy`,\n' +
      'from the composition root down: only `app/`, `cli/` and `workers/` import `lua/` or `app/`.',
  );
  const b = text.indexOf('<!-- packages:begin');
  const e = text.indexOf('<!-- packages:end -->');
  if (b >= 0 && e > b) text = text.slice(0, b) + section + text.slice(e + '<!-- packages:end -->\n'.length);
  else if (text.includes('\n## Still to come')) text = text.replace('\n## Still to come', () => `\n${section}\n## Still to come`);
  else text += `\n${section}`;
  write(f, text);
}

// 6. Formatting.
const toFormat = [...written].filter((p) => /\.(ts|mjs|js|json|md|ya?ml)$/.test(p) && existsSync(p));
execFileSync(join(root, 'node_modules/.bin/prettier'), ['--write', '--log-level', 'warn', ...toFormat], { stdio: 'inherit' });
console.log(
  `split-proxy-packages: moved ${MOVES.length} paths into ${PACKAGES.length} packages, rewrote ${out.size} files.\n` +
    `Next: pnpm install --prefer-offline (links the packages, updates pnpm-lock.yaml; commit it), then make build.`,
);
