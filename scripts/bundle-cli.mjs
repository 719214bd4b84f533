#!/usr/bin/env node
// The dnsdist-ts command as one file: packages/proxy/dist/cli/dnsdist-ts.bundle.js (and its
// data-plane worker as another, dist/worker-entry/data-plane-worker.bundle.js), built by
// esbuild from the tsc output (dist/cli/main.js and everything it imports statically, fengari and
// the workspace packages included). Node then reads one module instead of ~470, which halves the
// start-up time (docs/benchmarks.md, "Start-up time"). `pnpm run build` runs it after tsc;
// bin/dnsdist-ts falls back to dist/cli/main.js when the bundle is missing or older than a tsc
// build (docs/development.md).
//
// What stays outside, found at run time as before:
// - files a module locates next to itself through import.meta.url (native addons, BPF objects,
//   the worker entry, the dashboard): each bundled module's import.meta.url is rewritten to the
//   URL its own file has in dist/, so those paths do not change. Files of the proxy package are
//   found relative to the bundle; files of the other workspace packages relative to where
//   Node resolves that package from the bundle (a workspace symlink in a checkout,
//   node_modules/@dnsdist-ts/... after `npm install` of the tarballs);
// - the packages loaded on first use (ioredis, prom-client, libsodium): kept external, so they
//   still load only when a configuration uses them;
// - the data-plane workers: the CLI bundle starts dist/worker-entry/data-plane-worker.bundle.js, made
//   by the same run from dist/worker-entry/data-plane-worker.js (the module tree starts the latter;
//   src/app/worker-entry-url.ts says which, and the app hands it to the workers package's pool).
import { readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const proxyDir = join(root, 'packages', 'proxy');
/** Entry (tsc's output) → bundle. The worker bundle is what the CLI bundle's data-plane workers run. */
const CLI_BUNDLE = join(proxyDir, 'dist', 'cli', 'dnsdist-ts.bundle.js');
// The CLI last: its time stamp is what bin/dnsdist-ts compares, so it must not be newer than a worker bundle that failed.
// Each also as CommonJS (.cjs), which dist/cli/dnsdist-ts-cached.js runs through V8's code cache
// (src/cli/code-cache.ts: Node 20 has no compile cache for ES modules); made before the ES ones.
const BUNDLES = [
  [join(proxyDir, 'dist', 'worker-entry', 'data-plane-worker.js'), join(proxyDir, 'dist', 'worker-entry', 'data-plane-worker.bundle.cjs')],
  [join(proxyDir, 'dist', 'cli', 'main.js'), join(proxyDir, 'dist', 'cli', 'dnsdist-ts.bundle.cjs')],
  [join(proxyDir, 'dist', 'worker-entry', 'data-plane-worker.js'), join(proxyDir, 'dist', 'worker-entry', 'data-plane-worker.bundle.js')],
  [join(proxyDir, 'dist', 'cli', 'main.js'), CLI_BUNDLE],
];
const LAZY = ['ioredis', 'prom-client', 'libsodium-wrappers'];

/** The package.json directory owning `file`, and its parsed manifest. */
function owningPackage(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { dir, manifest };
    } catch {
      // no package.json here: keep walking up
    }
  }
  throw new Error(`bundle-cli: no package.json above ${file}`);
}

function posix(path) {
  return path.split(sep).join('/');
}

/** The expression that stands for `import.meta.url` in `file` once bundled into `bundlePath`. */
function moduleUrlExpression(file, bundlePath) {
  const { dir, manifest } = owningPackage(file);
  if (dir === proxyDir) {
    return `new URL(${JSON.stringify(posix(relative(dirname(bundlePath), file)))}, import.meta.url).href`;
  }
  // Another workspace package: relative to its main entry, wherever Node finds the package.
  const main = join(dir, manifest.exports?.['.']?.default ?? manifest.main ?? 'index.js');
  return `__dtsPackageUrl(${JSON.stringify(manifest.name)}, ${JSON.stringify(posix(relative(dirname(main), file)))})`;
}

const ownModuleUrls = (bundlePath) => ({
  name: 'own-module-urls',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'js' };
      return { contents: source.replaceAll('import.meta.url', moduleUrlExpression(args.path, bundlePath)), loader: 'js' };
    });
  },
});

// CommonJS cannot hold a top-level await, and dnscrypt/dnscrypt-sodium.ts has the only one: in the
// CommonJS bundles it only re-exports libsodium, and their entry (cjsEntry) runs the program once
// libsodium is ready. libsodium is bundled there: every start loads it (the DNSCrypt modules import
// it statically), and inside the bundle its 1 MB are compiled from V8's code cache too.
const sodiumWithoutAwait = {
  name: 'sodium-without-top-level-await',
  setup(b) {
    b.onLoad({ filter: /[\\/]dnscrypt[\\/]dnscrypt-sodium\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!/^await sodium\.ready;$/m.test(source)) throw new Error(`bundle-cli: ${args.path} no longer awaits sodium.ready as expected`);
      return { contents: source.replace(/^await sodium\.ready;$/m, ''), loader: 'js' };
    });
  },
};

const SODIUM_MODULE = join(root, 'packages', 'dataplane', 'dist', 'dnscrypt', 'dnscrypt-sodium.js');
/** The CommonJS bundles' entry: `entry` (made a lazily run module by esbuild) once libsodium is ready. */
function cjsEntry(entry) {
  return {
    contents: [
      `import { sodium } from ${JSON.stringify(SODIUM_MODULE)};`,
      `void sodium.ready.then(() => import(${JSON.stringify(entry)}));`,
    ].join('\n'),
    resolveDir: dirname(entry),
    sourcefile: 'code-cache-entry.js',
    loader: 'js',
  };
}

// Bundled CommonJS (fengari and its dependencies) calls require(); an ES module has none.
const esmBanner = [
  "import { createRequire as __dtsCreateRequire } from 'node:module';",
  "import { pathToFileURL as __dtsPathToFileURL } from 'node:url';",
  'const require = __dtsCreateRequire(import.meta.url);',
  'const __dtsPackageUrl = (name, rel) => new URL(rel, __dtsPathToFileURL(require.resolve(name))).href;',
].join('\n');
// CommonJS has require() but no import.meta: `import.meta.url` is defined as the file's URL.
const cjsBanner = [
  "const __dtsImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
  "const __dtsPackageUrl = (name, rel) => new URL(rel, require('node:url').pathToFileURL(require.resolve(name))).href;",
].join('\n');

for (const [entry, bundlePath] of BUNDLES) {
  const started = Date.now();
  const cjs = bundlePath.endsWith('.cjs');
  const result = await build({
    ...(cjs ? { stdin: cjsEntry(entry) } : { entryPoints: [entry] }),
    outfile: bundlePath,
    bundle: true,
    platform: 'node',
    format: cjs ? 'cjs' : 'esm',
    target: 'node20',
    external: cjs ? LAZY.filter((name) => name !== 'libsodium-wrappers') : LAZY,
    plugins: cjs ? [sodiumWithoutAwait, ownModuleUrls(bundlePath)] : [ownModuleUrls(bundlePath)],
    banner: { js: cjs ? cjsBanner : esmBanner },
    // app/worker-entry-url.ts names the worker bundle only from within a bundle (made by this same run).
    define: cjs
      ? { DNSDIST_TS_BUNDLED: 'true', DNSDIST_TS_CODE_CACHE: 'true', 'import.meta.url': '__dtsImportMetaUrl' }
      : { DNSDIST_TS_BUNDLED: 'true', DNSDIST_TS_CODE_CACHE: 'false' },
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    // The workspace packages' built dist/ (through their package.json), not the sources tsconfig's paths point at.
    tsconfigRaw: {},
  });
  if (bundlePath === CLI_BUNDLE) {
    const text = readFileSync(bundlePath, 'utf8');
    if (!text.startsWith('#!')) writeFileSync(bundlePath, `#!/usr/bin/env -S node --no-memory-reducer\n${text}`);
    chmodSync(bundlePath, 0o755);
  }
  // A cache made for the previous bundle would be rejected anyway (its key hashes the text).
  if (cjs) rmSync(`${bundlePath}.v8cache`, { force: true });
  const inputs = Object.keys(result.metafile.inputs).length;
  const size = statSync(bundlePath).size;
  console.log(
    `bundle-cli: ${posix(relative(root, bundlePath))} (${inputs} modules, ${(size / 1024).toFixed(0)} KiB) in ${Date.now() - started} ms`,
  );
}
