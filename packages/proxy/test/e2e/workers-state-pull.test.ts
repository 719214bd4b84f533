/**
 * What the control plane copies from the workers for a reading. The rings
 * (copied for topClients, a group's apply(), grepq…) cost each worker a
 * pause that grows with the queries since the last copy; a reader of the
 * blocks alone (showDynBlocks, the dashboard's sampling of top offenders
 * every 10 s) takes the block counts and leaves the rings where they are.
 * Before, the dashboard's sampling copied 10 s of every worker's rings and
 * held a worker for up to 40 ms every 10 s at 5,000 queries a second, with
 * no webserver configured.
 */
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { burstOverBothWorkers } from '../support/worker-traffic.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

describe('the control plane reading the workers', () => {
  let backend: TestBackend;
  let proxy: RunningProxy;

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.5'));
    proxy = await startProxy(
      `newServer{address="127.0.0.1:\${BACKEND}"}\nsetLocal("127.0.0.1:\${PORT}")`,
      { BACKEND: backend.port },
      { workers: 2 },
    );
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  /** How far the control plane's copy of each worker's rings goes (the highest sequence number copied). */
  const copied = () => [0, 1].map((i) => proxy.app.workerState!.rings.request(i).since);

  it('copies no ring entry for a reading of the blocks, and every new one for a reading of the rings', async () => {
    await burstOverBothWorkers(proxy, '127.0.0.1', 20, 'pull');
    const before = copied();
    expect(proxy.app.runConsoleCommand('showDynBlocks()')).toContain('What');
    // The dashboard's sampling of top offenders (every 10 s, webserver or not).
    expect(proxy.app.web.providers.activeBlocksWithHits()).toEqual([]);
    expect(copied()).toEqual(before);
    expect(proxy.app.runConsoleCommand('topClients()')).toMatch(/127\.0\.0\.1/);
    const after = copied();
    expect(after[0]).toBeGreaterThan(before[0]!);
    expect(after[1]).toBeGreaterThan(before[1]!);
  });
});
