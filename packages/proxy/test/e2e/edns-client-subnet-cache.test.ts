/**
 * EDNS Client Subnet and the packet cache, as dnsdist 1.7 keys it, with a
 * real backend that counts the queries it gets: the zero-scope feature
 * (an answer with scope 0 serves every client when the cache parses ECS),
 * answers with a real scope cached per subnet, ServerPool:setECS deciding
 * whether a query that finds no backend still matches ECS entries, and a
 * backend without useClientSubnet getting the client's query untouched.
 */
import * as dnsPacket from 'dns-packet';
import { udpExchange, waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { oneWorker } from '../support/test-workers.js';
import { startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

type Option = { code: number; data: Buffer };

/** Queries the backend got, by name, and the bytes of the last one (ID zeroed). */
const counts = new Map<string, number>();
const lastQuery = new Map<string, Buffer>();

/** Answers with the query's ECS echoed at scope 0 for names starting "zero", scope 24 otherwise. */
function backendAnswer(query: Buffer): Buffer {
  const q = dnsPacket.decode(query);
  const name = q.questions![0]!.name.toLowerCase();
  if (!name.endsWith('root-servers.net')) {
    counts.set(name, (counts.get(name) ?? 0) + 1);
    lastQuery.set(name, Buffer.concat([Buffer.alloc(2), query.subarray(2)]));
  }
  const opt = (q.additionals ?? []).find((r) => r.type === 'OPT') as unknown as { options: Option[] } | undefined;
  const theirs = opt?.options.find((o) => o.code === 8);
  const scope = name.startsWith('zero') ? 0 : 24;
  const additionals = theirs
    ? [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 4096,
          flags: 0,
          options: [{ code: 8, data: Buffer.concat([theirs.data.subarray(0, 3), Buffer.from([scope]), theirs.data.subarray(4)]) }],
        } as unknown as dnsPacket.Answer,
      ]
    : [];
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: q.flags! | dnsPacket.RECURSION_AVAILABLE,
    questions: q.questions,
    answers: [{ type: 'AAAA', name: q.questions![0]!.name, ttl: 600, data: '2001:db8::7' }],
    additionals,
  });
}

function query(name: string, rd: boolean): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 0x1234,
    flags: rd ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ type: 'AAAA', name, class: 'IN' }],
  });
}

async function ask(proxy: RunningProxy, name: string, rd: boolean): Promise<dnsPacket.Packet | undefined> {
  const raw = await udpExchange(proxy.port, query(name, rd), 700);
  return raw ? dnsPacket.decode(raw) : undefined;
}

describe('EDNS Client Subnet and the packet cache', () => {
  let backend: TestBackend;
  let zeroScope: RunningProxy;
  let poolEcs: RunningProxy;

  beforeAll(async () => {
    backend = await startUdpTcpBackend(backendAnswer);
    // As test_Caching.py's TestCachingScopeZero: RD=1 queries stand for a second client (another subnet).
    zeroScope = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
pc = newPacketCache(100, {parseECS=true})
getPool(""):setCache(pc)
newServer{address="127.0.0.1:${backend.port}", useClientSubnet=true}
newServer{address="127.0.0.1:${backend.port}", pool="plain"}
addAction(RDRule(), SetECSAction("192.0.2.1/32"))
addAction(RDRule(), SetNoRecurseAction())
addAction("plain.test.", PoolAction("plain"))
`,
      {},
    );
    poolEcs = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
pc = newPacketCache(100)
getPool(""):setCache(pc)
newServer{address="127.0.0.1:${backend.port}", useClientSubnet=true}
`,
      {},
      // Its last test sets the pool's ECS on the control plane's objects from TypeScript, then queries.
      oneWorker('control-plane-object'),
    );
    await waitFor('backends up', () => zeroScope.app.proxy.servers.every((s) => s.isUp()) && poolEcs.app.proxy.servers[0]!.isUp());
  });
  afterAll(async () => {
    await zeroScope?.stop();
    await poolEcs?.stop();
    await backend?.close();
  });

  it('caches a scope-0 answer for every client: another subnet gets it from the cache', async () => {
    const name = 'zero.scope.test';
    expect((await ask(zeroScope, name, false))?.answers).toHaveLength(1);
    expect(dnsPacket.decode(lastQuery.get(name)!).additionals).toMatchObject([{ type: 'OPT', udpPayloadSize: 512 }]);
    expect((await ask(zeroScope, name, false))?.answers).toHaveLength(1);
    const other = await ask(zeroScope, name, true);
    expect(other?.answers).toHaveLength(1);
    expect(counts.get(name)).toBe(1);
    // The entry's flags, not this client's RD: dnsdist 1.7.3 does not restore them on this hit.
    expect((other?.flags ?? -1) & dnsPacket.RECURSION_DESIRED).toBe(0);
    expect(other?.additionals).toEqual([]);
  });

  it('caches an answer with a real scope per subnet: another subnet goes to the backend', async () => {
    const name = 'scoped.scope.test';
    await ask(zeroScope, name, false);
    await ask(zeroScope, name, false);
    expect(counts.get(name)).toBe(1);
    const other = await ask(zeroScope, name, true);
    expect(counts.get(name)).toBe(2);
    expect((other?.flags ?? -1) & dnsPacket.RECURSION_DESIRED).toBe(dnsPacket.RECURSION_DESIRED);
    const sent = dnsPacket.decode(lastQuery.get(name)!).additionals![0] as unknown as { options: Option[] };
    expect(sent.options.map((o) => [o.code, Buffer.from(o.data)])).toEqual([[8, Buffer.from([0, 1, 32, 0, 192, 0, 2, 1])]]);
  });

  it('adds the option to a query too big for the pooled buffer to take it in place (the packet grows)', async () => {
    const name = 'big.scope.test';
    const padded = dnsPacket.encode({
      type: 'query',
      id: 0x0bad,
      flags: 0,
      questions: [{ type: 'AAAA', name, class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 4096,
          flags: 0,
          options: [{ code: 12, data: Buffer.alloc(4040) }],
        } as unknown as dnsPacket.Answer,
      ],
    });
    expect(padded.length).toBeGreaterThan(4096 - 35);
    expect(await udpExchange(zeroScope.port, padded)).toBeDefined();
    const sent = dnsPacket.decode(lastQuery.get(name)!).additionals![0] as unknown as { options: Option[] };
    expect(sent.options.map((o) => [o.code, o.data.length])).toEqual([
      [12, 4040],
      [8, 7],
    ]);
  });

  it('sends a backend without useClientSubnet the query exactly as the client did', async () => {
    const q = query('plain.test', false);
    await udpExchange(zeroScope.port, q);
    expect(lastQuery.get('plain.test')).toEqual(Buffer.concat([Buffer.alloc(2), q.subarray(2)]));
  });

  it('with no backend up, matches ECS entries only once the pool has setECS(true)', async () => {
    const name = 'pool.ecs.test';
    expect((await ask(poolEcs, name, true))?.answers).toHaveLength(1);
    expect((await ask(poolEcs, name, true))?.answers).toHaveLength(1);
    expect(counts.get(name)).toBe(1);
    const server = poolEcs.app.proxy.servers[0]!;
    server.availability = 'down';
    try {
      // Without a backend the query gets no ECS option, so it is another cache key: a miss, then no server.
      expect(await ask(poolEcs, name, true)).toBeUndefined();
      poolEcs.app.proxy.getPool('')!.ecs = true;
      expect((await ask(poolEcs, name, true))?.answers).toHaveLength(1);
      expect(counts.get(name)).toBe(1);
    } finally {
      server.availability = 'auto';
      poolEcs.app.proxy.getPool('')!.ecs = false;
    }
  });
});
