/**
 * Fleet sync (setDynBlocksSync, through a real Redis) and the CrowdSec
 * bouncer (against a real Local API) on a node with two data-plane
 * workers: both act on the control plane's block table, so what they
 * insert or take out reaches every worker. The workers run the built
 * code (dist/): `make` first.
 */
import { once } from 'node:events';
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend, type TestBackend } from '../support/test-backends.js';
import { burstOverBothWorkers, reachingEveryWorker } from '../support/worker-traffic.js';
import { describeRequires } from '../../../../test/support/require.js';
import { uniqueName } from '../../../../test/support/require-bpf.js';
import { startCrowdSec, type RunningCrowdSec } from '../../../../test/support/crowdsec.js';
import { startRedis, type RunningRedis } from '../../../../test/support/redis.js';
import { crowdsec, cscli, redisCli, redisServer } from '../../../../test/support/requirements.js';

let backend: TestBackend;
const proxies: RunningProxy[] = [];

beforeAll(async () => {
  requireBuiltCli();
  backend = await startUdpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.80'));
});
afterAll(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await backend?.close();
});

describeRequires('setDynBlocksSync on a node with two workers', [redisServer, redisCli], () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("a block from another node's console reaches every worker, and so does its removal", async () => {
    const vars = { BACKEND: backend.port, REDIS: redis.url, FLEET: uniqueName('fw') };
    const config = (node: string): string => `
setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:\${BACKEND}"}
setDynBlocksSync{url="\${REDIS}", fleet="\${FLEET}", node="${node}"}
`;
    const start = async (node: string, workers: number): Promise<RunningProxy> => {
      const p = await startProxy(config(node), vars, { workers });
      proxies.push(p);
      if (!p.app.fleet.stats().connected) await once(p.app.fleet.events, 'resynced');
      return p;
    };
    const a = await start('edge-a', 1);
    const b = await start('edge-b', 2);
    expect(await burstOverBothWorkers(b, '127.0.0.61', 8, 'before')).toEqual(Array(8).fill('NOERROR'));

    await reachingEveryWorker(b, async () => {
      const got = once(b.app.fleet.events, 'received');
      expect(a.app.runConsoleCommand('addDynamicBlock("127.0.0.61", "seen on edge-a", DNSAction.Refused, 60)')).toBe('');
      await got;
    });
    expect(await burstOverBothWorkers(b, '127.0.0.61', 16, 'blocked')).toEqual(Array(16).fill('REFUSED'));
    expect(b.app.runConsoleCommand('showDynBlocks()')).toMatch(
      /^127\.0\.0\.61\/32 +\d+ +16 +false +Send Refused +edge-a +seen on edge-a$/m,
    );
    expect(b.app.runConsoleCommand('showDynBlocksSync()')).toMatch(/node "edge-b": connected/);

    await reachingEveryWorker(b, async () => {
      const cleared = once(b.app.fleet.events, 'received');
      a.app.runConsoleCommand('clearDynBlocks()');
      await cleared;
    });
    expect(await burstOverBothWorkers(b, '127.0.0.61', 8, 'after')).toEqual(Array(8).fill('NOERROR'));
  }, 30_000);
});

describeRequires('setCrowdSecBouncer on a node with two workers', [crowdsec, cscli], () => {
  let lapi: RunningCrowdSec;
  beforeAll(async () => {
    lapi = await startCrowdSec();
  }, 60_000);
  afterAll(async () => {
    await lapi?.stop();
  });

  it('a decision refuses the client in every worker', async () => {
    lapi.cli('decisions', 'add', '--ip', '127.0.0.62', '--duration', '1h', '--reason', 'scan');
    const p = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       newServer{address="127.0.0.1:\${BACKEND}"}
       setCrowdSecBouncer{url="\${LAPI}", apiKey="\${BOUNCER}", interval=3600, origin="cs-lapi", actions={ban="Refused"}}`,
      { BACKEND: backend.port, LAPI: lapi.url, BOUNCER: lapi.addBouncer(uniqueName('w')) },
      { workers: 2 },
    );
    proxies.push(p);
    if (p.app.crowdsec.stats().lastPoll === 0) await once(p.app.crowdsec.events, 'polled');
    expect(p.app.runConsoleCommand('showDynBlocks()')).toMatch(/^127\.0\.0\.62\/32 .* cs-lapi +scan \(cscli\)$/m);
    // Each worker applied the table it got at its start, then the decision.
    await waitFor('every worker to apply the decision', () => p.app.workerState!.blockChangesApplied().every((n) => n >= 2));
    expect(await burstOverBothWorkers(p, '127.0.0.62', 16, 'cs')).toEqual(Array(16).fill('REFUSED'));
    expect(await burstOverBothWorkers(p, '127.0.0.63', 8, 'other')).toEqual(Array(8).fill('NOERROR'));
  }, 30_000);
});
