import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

/**
 * The one-way dependency rules of docs/architecture.md ("The packages"), as
 * eslint.config.js enforces them: each package imports only the packages below
 * it, by name (lua and workers too: lua never imports workers); only the ebpf
 * package imports contrib/; inside packages/proxy only the composition roots
 * (app/, cli/, worker-entry/) import the Lua layer, the workers and app/.
 * `pnpm run lint` checks the tree; this checks that the rules would catch a
 * violation at all.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restrictedImports(file: string, from: string): Promise<string[]> {
  const code = `import type { X } from '${from}';\nexport type Y = X;\n`;
  const [result] = await eslint.lintText(code, { filePath: `${root}/packages/${file}` });
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
    ['dataplane/src/rules/probe.ts', '@dnsdist-ts/lua/lua/lua-runtime.js'],
    ['web/src/web/probe.ts', '@dnsdist-ts/lua'],
    ['lua/src/lua/probe.ts', '@dnsdist-ts/proxy'],
    ['lua/src/lua/probe.ts', '@dnsdist-ts/workers/workers/worker-pool.js'],
    ['lua/src/lua/ffi/probe.ts', '@dnsdist-ts/workers'],
    ['workers/src/workers/probe.ts', '@dnsdist-ts/proxy'],
    ['dynblocks/src/dynblocks/probe.ts', '@dnsdist-ts/workers/workers/worker-dyn-blocks.js'],
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
    ['lua/src/lua/probe.ts', '@dnsdist-ts/xdp-filter'],
  ])('refuses %s importing %s (only the ebpf package depends on contrib/)', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([expect.stringContaining('Nothing but the ebpf package depends on contrib/')]);
  });

  it.each([
    ['proxy/src/demo/probe.ts', '@dnsdist-ts/lua/lua/lua-environment.js'],
    ['proxy/src/demo/probe.ts', '@dnsdist-ts/workers/workers/worker-pool.js'],
    ['proxy/src/demo/probe.ts', '../app/dnsdist-app.js'],
  ])('refuses %s importing %s (only the composition roots use the Lua layer, the workers and app/)', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([expect.stringContaining('Only app/, cli/ and worker-entry/')]);
  });

  it.each([
    ['dataplane/src/server/probe.ts', '../query/query-collaborators.js'],
    ['dynblocks/src/dynblocks/probe.ts', '@dnsdist-ts/dataplane/query/dns-question.js'],
    ['web/src/metrics/probe.ts', '@dnsdist-ts/dynblocks/dynblocks/index.js'],
    ['ebpf/src/ebpf/probe.ts', '@dnsdist-ts/xdp-filter'],
    ['proxy/src/app/probe.ts', '@dnsdist-ts/lua/lua/lua-environment.js'],
    ['lua/src/lua/probe.ts', '@dnsdist-ts/ebpf/ebpf/proxy-ebpf.js'],
    ['workers/src/workers/probe.ts', '@dnsdist-ts/ebpf/ebpf/proxy-ebpf.js'],
    ['workers/src/workers/probe.ts', '@dnsdist-ts/lua/lua/lua-runtime.js'],
    ['proxy/src/worker-entry/probe.ts', '../app/dnsdist-app.js'],
    ['proxy/src/worker-entry/probe.ts', '@dnsdist-ts/workers/workers/worker-messages.js'],
    ['proxy/src/cli/probe.ts', '@dnsdist-ts/workers/workers/worker-pool.js'],
    ['proxy/src/cli/probe.ts', '../app/dnsdist-app.js'],
  ])('lets %s import %s', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([]);
  });
});
