#!/usr/bin/env node
/**
 * The package's install script: builds its native addon with node-gyp when
 * the package is installed from its tarball (npm install), after checking
 * for the tools and libraries the build needs, so a machine without them
 * gets the Debian packages to install instead of a compiler's error.
 *
 * `--libbpf`: the addon links libbpf (found through pkg-config).
 * In the source tree (tsconfig.build.json present) it does nothing:
 * `make native` builds the addons there.
 *
 * packages/bpf and packages/dataplane each ship a copy (test/packaging checks
 * they are the same).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

const pkgDir = process.cwd();
const pkgName = process.env.npm_package_name ?? pkgDir;
const needsLibbpf = process.argv.includes('--libbpf');

if (existsSync(join(pkgDir, 'tsconfig.build.json'))) process.exit(0);

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

// Each tool and library the build uses, with the Debian package that provides it.
const missing = [];
const cxx = process.env.CXX ?? 'g++';
if (!onPath(cxx)) missing.push(['a C++17 compiler (' + cxx + ')', 'g++']);
if (!onPath('make')) missing.push(['make', 'make']);
if (!onPath('python3')) missing.push(['python3 (node-gyp)', 'python3']);
if (needsLibbpf) {
  if (!onPath('pkg-config')) missing.push(['pkg-config', 'pkg-config']);
  else if (spawnSync('pkg-config', ['--exists', 'libbpf']).status !== 0) missing.push(['libbpf (headers and libbpf.so)', 'libbpf-dev']);
}
const hint = `On Debian or Ubuntu: apt-get install g++ make python3${needsLibbpf ? ' pkg-config libbpf-dev' : ''}; then install again.`;
if (missing.length > 0) {
  process.stderr.write(
    `${pkgName}: cannot build the native addon, missing: ${missing.map(([what]) => what).join(', ')}.\n` +
      `Debian packages: ${[...new Set(missing.map(([, pkg]) => pkg))].join(' ')}. ${hint}\n`,
  );
  process.exit(1);
}

// Node's headers: beside the running node (official builds), or Debian's
// libnode-dev under /usr; otherwise node-gyp downloads them.
const args = ['rebuild', '--loglevel=warn'];
for (const prefix of [dirname(dirname(process.execPath)), '/usr']) {
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
    break;
  }
}
// npm names its own node-gyp in the environment of install scripts.
const gyp = process.env.npm_config_node_gyp;
const r = gyp ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' }) : spawnSync('node-gyp', args, { stdio: 'inherit' });
if (r.error || r.status !== 0) {
  process.stderr.write(
    `${pkgName}: building the native addon failed (${r.error ? r.error.message : `node-gyp exited with ${r.status}`}). ${hint}\n`,
  );
  process.exit(1);
}
