/**
 * The maintenance tick's cache cleaning: setCacheCleaningDelay(n) means the
 * first cleaning comes n seconds after start (dnsdist counts its maintenance
 * seconds from start), not after the 60-second default; expired entries go
 * even while the pool has no backend up, unless the cache keeps stale data.
 */
import * as dnsPacket from 'dns-packet';
import type { PacketCache } from '@dnsdist-ts/dataplane/cache/index.js';
import { udpQuery, waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { startUdpBackend, type TestBackend } from '../support/test-backends.js';

/** Every name gets one A record with a 1-second TTL. */
function answerShortTtl(raw: Buffer): Buffer {
  const q = dnsPacket.decode(raw);
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: (q.flags ?? 0) | dnsPacket.RECURSION_AVAILABLE,
    questions: q.questions,
    answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 1, data: '192.0.2.1' }],
  } as dnsPacket.Packet);
}

describe('cache cleaning', () => {
  let backend: TestBackend;
  let proxy: RunningProxy;

  beforeAll(async () => {
    backend = await startUdpBackend(answerShortTtl);
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
pc = newPacketCache(100, {maxTTL=86400, minTTL=1})
getPool(""):setCache(pc)
keep = newPacketCache(100, {maxTTL=86400, minTTL=1, keepStaleData=true})
getPool("keep"):setCache(keep)
addAction("keep.cleaning.test.", PoolAction("keep"))
setCacheCleaningDelay(1)
setCacheCleaningPercentage(100)
newServer{address="127.0.0.1:\${BACKEND}"}
newServer{address="127.0.0.1:\${BACKEND}", pool="keep"}
`,
      { BACKEND: backend.port },
    );
  });
  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  const cacheOf = (pool: string): PacketCache => proxy.app.proxy.pools.get(pool)!.cache as unknown as PacketCache;

  it('removes an expired entry within setCacheCleaningDelay seconds of start, backend down or not, unless the cache keeps stale data', async () => {
    // The kept entry first: it expires no later than the other one.
    expect((await udpQuery(proxy.port, 'keep.cleaning.test'))?.answers).toHaveLength(1);
    expect((await udpQuery(proxy.port, 'gone.cleaning.test'))?.answers).toHaveLength(1);
    expect(cacheOf('').getEntriesCount()).toBe(1);
    expect(cacheOf('keep').getEntriesCount()).toBe(1);
    for (const s of proxy.app.proxy.servers) s.availability = 'down';

    // TTL 1, cleaning every second: gone within a few seconds (the first cleaning used to come after 60).
    await waitFor('the expired entry to be cleaned', () => cacheOf('').getEntriesCount() === 0, 6000);
    // The same cleaning pass left the stale entry of the cache that keeps them while its pool is down.
    expect(cacheOf('keep').getEntriesCount()).toBe(1);
  }, 15000);
});
