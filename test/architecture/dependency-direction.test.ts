import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

/**
 * The one-way dependency rules of docs/architecture.md ("The code"), as
 * eslint.config.js enforces them: the query path imports nothing from the
 * control plane, and only app/, cli/ and workers/ import lua/ and app/.
 * `pnpm run lint` checks the tree; this checks that the rules would catch
 * a violation at all.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restrictedImports(file: string, from: string): Promise<string[]> {
  const code = `import type { X } from '${from}';\nexport type Y = X;\n`;
  const [result] = await eslint.lintText(code, { filePath: `${root}/packages/proxy/src/${file}` });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('dependency direction (eslint no-restricted-imports)', () => {
  it.each([
    ['server/probe.ts', '../dynblocks/index.js'],
    ['query/probe.ts', '../web/web-service.js'],
    ['rules/probe.ts', '../metrics/event-loop-slicer.js'],
    ['rules/actions/probe.ts', '../../lua/lua-environment.js'],
    ['backend/policies/probe.ts', '../../ebpf/proxy-ebpf.js'],
    ['io/probe.ts', '../console/index.js'],
    ['rings/probe.ts', '../app/dnsdist-app.js'],
  ])('refuses %s importing %s (the query path knows the control plane only through interfaces)', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([expect.stringContaining('The query path imports nothing from the control plane')]);
  });

  it.each([
    ['dynblocks/probe.ts', '../lua/lua-environment.js'],
    ['ebpf/probe.ts', '../app/dnsdist-app.js'],
    ['web/probe.ts', '../lua/lua-runtime.js'],
  ])('refuses %s importing %s (only the composition root and its peers use the Lua layer)', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([expect.stringContaining('Only app/, cli/ and workers/')]);
  });

  it.each([
    ['server/probe.ts', '../query/query-collaborators.js'],
    ['rules/actions/probe.ts', '../../query/dns-question.js'],
    ['dynblocks/probe.ts', '../query/dns-question.js'],
    ['app/probe.ts', '../lua/lua-environment.js'],
    ['workers/probe.ts', '../lua/lua-runtime.js'],
    ['cli/probe.ts', '../app/dnsdist-app.js'],
  ])('lets %s import %s', async (file, from) => {
    expect(await restrictedImports(file, from)).toEqual([]);
  });
});
