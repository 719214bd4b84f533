/**
 * Dynamic blocks in the kernel maps with two data-plane workers: the
 * control plane alone writes the pinned maps. A block a previous run left
 * there is adopted by the control plane and stays in the maps while the
 * workers start and take the control plane's table (a worker's copy of
 * the table once adopted it too, then deleted it from the shared maps);
 * blocks added at the console are mirrored into the maps as with one
 * process. The workers run the built code (dist/): `make` first.
 */
import { rmSync } from 'node:fs';
import { ipv4Key } from '@dnsdist-ts/bpf-filter';
import { parseAddress } from '@dnsdist-ts/dns';
import { requireBuiltCli } from '../cli/cli-process.js';
import { waitFor } from '../support/dns-client.js';
import { startProxy } from '../support/proxy-harness.js';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { pinnedFilterLua, rawEntry } from './ebpf-fixtures.js';

describeBpf('kernel copies of dynamic blocks with two workers', () => {
  const root = `/sys/fs/bpf/${uniqueName('dtsw')}`;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("keeps a previous run's kernel blocks while the workers start, and mirrors new ones from the control plane", async () => {
    requireBuiltCli();
    const dir = `${root}/w`;
    const config = `
      setLocal("127.0.0.1:\${PORT}")
      addAction(AllRule(), SpoofAction("192.0.2.99"))
      bpf = ${pinnedFilterLua(dir)}
      setDefaultBPFFilter(bpf)
    `;
    const key = (a: string) => ipv4Key(parseAddress(a).bytes);

    const first = await startProxy(config);
    try {
      first.app.runConsoleCommand('addDynamicBlock("192.0.2.77", "first run", DNSAction.Drop, 60)');
    } finally {
      await first.stop();
    }
    expect(rawEntry(`${dir}/addr-v4`, key('192.0.2.77'))).toBeDefined();

    const p = await startProxy(config, {}, { workers: 2 });
    try {
      expect(p.output).toContain('Restored 1 dynamic block from the kernel maps');
      // Each worker applied the control plane's table (its first message) over its own copy.
      await waitFor('every worker to take the table', () => p.app.workerState!.blockChangesApplied().every((n) => n >= 1));
      expect(rawEntry(`${dir}/addr-v4`, key('192.0.2.77'))).toBeDefined();
      expect(p.app.runConsoleCommand('showDynBlocks()')).toMatch(/^192\.0\.2\.77\/32 .*Restored from the kernel maps/m);

      p.app.runConsoleCommand('addDynamicBlock("192.0.2.78", "with workers", DNSAction.Drop, 60)');
      expect(rawEntry(`${dir}/addr-v4`, key('192.0.2.78'))).toBeDefined();
      p.app.runConsoleCommand('clearDynBlocks()');
      expect(rawEntry(`${dir}/addr-v4`, key('192.0.2.78'))).toBeUndefined();
    } finally {
      await p.stop();
    }
  }, 60_000);
});
