/**
 * setDynBlocksSync in real dnsdist-ts configurations: two proxies in one
 * fleet through a real Redis; a block made from one's console refuses
 * the client's queries at the other, which shows where it came from.
 */
import { once } from 'node:events';
import * as dnsPacket from 'dns-packet';
import { udpQuery } from '../support/dns-client.js';
import { loadConfigurationOutput, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpBackend, type TestBackend } from '../support/test-backends.js';
import { describeRequires } from '../../../../test/support/require.js';
import { uniqueName } from '../../../../test/support/require-bpf.js';
import { startRedis, type RunningRedis } from '../../../../test/support/redis.js';
import { redisCli, redisServer } from '../../../../test/support/requirements.js';

const config = (node: string): string => `
setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:\${BACKEND}"}
setDynBlocksSync{url="\${REDIS}", fleet="\${FLEET}", node="${node}"}
`;

describeRequires('setDynBlocksSync in a configuration', [redisServer, redisCli], () => {
  let redis: RunningRedis;
  let backend: TestBackend;
  const proxies: RunningProxy[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    backend = await startUdpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.80'));
  });
  afterAll(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
    await backend?.close();
    await redis?.stop();
  });

  it('a block from one node’s console refuses the client at the other, which shows its origin', async () => {
    const fleet = uniqueName('fe');
    const vars = { BACKEND: backend.port, REDIS: redis.url, FLEET: fleet };
    const start = async (node: string): Promise<RunningProxy> => {
      const p = await startProxy(config(node), vars);
      proxies.push(p);
      if (!p.app.fleet.stats().connected) await once(p.app.fleet.events, 'resynced');
      return p;
    };
    const a = await start('edge-a');
    const b = await start('edge-b');
    expect((await udpQuery(b.port, 'www.example.'))?.rcode).toBe('NOERROR');

    const got = once(b.app.fleet.events, 'received');
    expect(a.app.runConsoleCommand('addDynamicBlock("127.0.0.1", "seen on edge-a", DNSAction.Refused, 60)')).toBe('');
    await got;
    expect((await udpQuery(b.port, 'www.example.'))?.rcode).toBe('REFUSED');
    expect(b.app.runConsoleCommand('showDynBlocks()')).toMatch(/127\.0\.0\.1\/32 +\d+ +\d+ +false +Send Refused +edge-a +seen on edge-a/);
    expect(b.output.join('\n')).toContain(
      'Inserting dynamic block for 127.0.0.1/32 for 60 seconds: seen on edge-a (from fleet node edge-a)',
    );
    expect(b.app.runConsoleCommand('showDynBlocksSync()')).toMatch(/^Fleet "fe\w+", node "edge-b": connected\n.*received 1/s);

    const cleared = once(b.app.fleet.events, 'received');
    a.app.runConsoleCommand('clearDynBlocks()');
    await cleared;
    expect((await udpQuery(b.port, 'www.example.'))?.rcode).toBe('NOERROR');
  });

  it('setDynBlocksSync with a bad option stops the configuration with the option named; --check-config connects to nothing', async () => {
    await expect(loadConfigurationOutput('setDynBlocksSync{url="http://127.0.0.1:1", fleet="f"}')).rejects.toThrow(
      /setDynBlocksSync: option 'url' must start with redis:\/\/ or rediss:\/\//,
    );
    await expect(loadConfigurationOutput('setDynBlocksSync{url="redis://127.0.0.1:1", fleet="f", sharing="rules"}')).rejects.toThrow(
      /setDynBlocksSync: unknown option 'sharing'/,
    );
    // Port 1 has nothing listening: loading the configuration alone must not try to connect.
    const out = await loadConfigurationOutput('setDynBlocksSync{url="redis://127.0.0.1:1", fleet="f", node="n"}');
    expect(out.join('\n')).not.toMatch(/Fleet sync/);
  });
});
