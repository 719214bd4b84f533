/**
 * EDNS Client Subnet towards a backend with useClientSubnet, side by side
 * with Debian's dnsdist 1.7.3: for each query shape and ECS switch, the
 * query the real backend receives and the answer the client gets back are
 * the same bytes from both (the backend's query ID aside, which each proxy
 * picks). The backend answers with its own ECS option (scope 24, or 0 for
 * names starting "zero") and a cookie whenever the query has EDNS, so what
 * each proxy takes back out of the answer shows. Also side by side: the
 * no-server SERVFAIL of a setECS(true) pool, and the packet cache's counters
 * with the zero-scope feature.
 */
import * as dnsPacket from 'dns-packet';
import {
  describeDnsdist,
  spawnDnsdist,
  startDnsdistWithConsole,
  type DnsdistWithConsole,
  type SpawnedDnsdist,
} from '../../../../test/support/dnsdist.js';
import { tcpExchange, udpExchange, waitFor } from '../support/dns-client.js';
import { waitForDnsdistAnswer } from '../support/dnsdist-ready.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

type Option = { code: number; data: Buffer };
const COOKIE: Option = { code: 10, data: Buffer.from('0123456789abcdef') };
const ecs = (source: number, address: number[], scope = 0): Option => ({ code: 8, data: Buffer.from([0, 1, source, scope, ...address]) });
const optRecord = (options: Option[], udpPayloadSize = 4096): dnsPacket.Answer =>
  ({ type: 'OPT', name: '.', udpPayloadSize, flags: 0, options }) as unknown as dnsPacket.Answer;

/** The last query the backend received for each name (health checks left out), ID zeroed. */
const received = new Map<string, Buffer>();

function backendAnswer(query: Buffer): Buffer {
  const q = dnsPacket.decode(query);
  const name = q.questions![0]!.name.toLowerCase();
  if (!name.endsWith('root-servers.net')) received.set(name, Buffer.concat([Buffer.alloc(2), query.subarray(2)]));
  const opt = (q.additionals ?? []).find((r) => r.type === 'OPT') as unknown as { options: Option[] } | undefined;
  const theirEcs = opt?.options.find((o) => o.code === 8);
  const scope = name.startsWith('zero') ? 0 : 24;
  const options = theirEcs
    ? [COOKIE, { code: 8, data: Buffer.concat([theirEcs.data.subarray(0, 3), Buffer.from([scope]), theirEcs.data.subarray(4)]) }]
    : [COOKIE];
  const answer = dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: q.flags! | dnsPacket.RECURSION_AVAILABLE,
    questions: q.questions,
    answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: '198.51.100.7' }],
    additionals: opt ? [optRecord(options)] : [],
  });
  // As test_BrokenAnswer.py: the answer record's owner name starts with 0xff, a compression pointer far ahead.
  if (name.startsWith('broken')) {
    let p = 12;
    while (answer[p] !== 0) p += answer[p]! + 1;
    answer[p + 1 + 4] = 0xff;
  }
  return answer;
}

function query(name: string, options: Option[] | undefined): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 0x2a2a,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name, class: 'IN' }],
    additionals: options ? [optRecord(options)] : [],
  });
}

const config = (port: number | string, backend: number): string => `setLocal("127.0.0.1:${port}")
newServer{address="127.0.0.1:${backend}", useClientSubnet=true}
setECSSourcePrefixV6(48)
addAction("override.ecs.test.", SetECSOverrideAction(true))
addAction({"disabled.ecs.test.", "broken-disabled.ecs.test."}, SetDisableECSAction())
addAction("prefix.ecs.test.", SetECSPrefixLengthAction(32, 128))
addAction("set.ecs.test.", SetECSAction("192.0.2.77/20"))
function viaLua(dq)
  dq.ecsPrefixLength = 16
  dq.ecsOverride = true
  return DNSAction.None, ""
end
addAction("lua.ecs.test.", LuaAction(viaLua))
`;

/** Query shapes: no EDNS, EDNS without ECS (a cookie), EDNS with the client's own ECS between two cookies (shorter than ours, or as long). */
const SHAPES: Array<[string, Option[] | undefined]> = [
  ['no EDNS', undefined],
  ['EDNS without ECS', [COOKIE]],
  ['EDNS with its own ECS', [COOKIE, ecs(16, [10, 9]), COOKIE]],
  ['EDNS with its own ECS the size of ours', [COOKIE, ecs(24, [10, 9, 8]), COOKIE]],
];
const NAMES = ['plain', 'override', 'disabled', 'prefix', 'set', 'lua'];

describeDnsdist('EDNS Client Subnet (useClientSubnet), as dnsdist', () => {
  let backend: TestBackend;
  let dnsdist: SpawnedDnsdist;
  let dnsdistPort: number;
  let ours: RunningProxy;

  beforeAll(async () => {
    backend = await startUdpTcpBackend(backendAnswer);
    dnsdistPort = await freePort();
    dnsdist = spawnDnsdist(config(dnsdistPort, backend.port));
    ours = await startProxy(config('${PORT}', backend.port));
    await waitForDnsdistAnswer(dnsdist, dnsdistPort, query('ready.ecs.test', undefined));
    await waitFor('our backend up', () => ours.app.proxy.servers[0]!.isUp());
  }, 30000);
  afterAll(async () => {
    await ours?.stop();
    await dnsdist?.stop();
    await backend?.close();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    for (const [shape, options] of SHAPES) {
      it(`${transport}, ${shape}: the backend gets the same query and the client the same answer from both`, async () => {
        const exchange = (port: number, q: Buffer): Promise<Buffer | undefined> =>
          transport === 'udp' ? udpExchange(port, q) : tcpExchange(port, q);
        for (const label of NAMES) {
          const name = `${label}.ecs.test`;
          const q = query(name, options);
          received.delete(name);
          const theirs = await exchange(dnsdistPort, q);
          const theirQuery = received.get(name);
          received.delete(name);
          const mine = await exchange(ours.port, q);
          const myQuery = received.get(name);
          expect(theirs).toBeDefined();
          expect(theirQuery).toBeDefined();
          expect([name, myQuery?.toString('hex')]).toEqual([name, theirQuery!.toString('hex')]);
          expect([name, mine?.toString('hex')]).toEqual([name, theirs!.toString('hex')]);
        }
      });
    }
  }

  it('drops an answer that cannot be walked to its OPT record, over UDP and TCP, as dnsdist does (test_BrokenAnswer.py)', async () => {
    const q = query('broken.ecs.test', undefined);
    for (const port of [dnsdistPort, ours.port]) {
      expect(await udpExchange(port, q, 700)).toBeUndefined();
      await expect(tcpExchange(port, q)).rejects.toThrow();
    }
    // Without ECS added there is nothing to take out, so the same answer passes unread.
    expect(await udpExchange(ours.port, query('broken-disabled.ecs.test', undefined), 700)).toBeDefined();
  });

  it('sends what the case names say (read back from the backend, decoded)', async () => {
    const optionsSent = async (name: string, options: Option[] | undefined): Promise<Option[] | undefined> => {
      received.delete(name);
      await udpExchange(ours.port, query(name, options));
      const o = dnsPacket.decode(received.get(name)!).additionals!.find((r) => r.type === 'OPT') as unknown as
        { options: Option[] } | undefined;
      return o?.options.map((x) => ({ code: x.code, data: Buffer.from(x.data) }));
    };
    // The client is 127.0.0.1: /24 by default, its own option kept unless overridden.
    expect(await optionsSent('plain.ecs.test', undefined)).toEqual([ecs(24, [127, 0, 0])]);
    expect(await optionsSent('plain.ecs.test', [COOKIE, ecs(16, [10, 9])])).toEqual([COOKIE, ecs(16, [10, 9])]);
    expect(await optionsSent('override.ecs.test', [COOKIE, ecs(16, [10, 9])])).toEqual([COOKIE, ecs(24, [127, 0, 0])]);
    expect(await optionsSent('disabled.ecs.test', undefined)).toBeUndefined();
    expect(await optionsSent('prefix.ecs.test', undefined)).toEqual([ecs(32, [127, 0, 0, 1])]);
    expect(await optionsSent('set.ecs.test', [COOKIE])).toEqual([COOKIE, ecs(20, [192, 0, 0])]);
    expect(await optionsSent('lua.ecs.test', [ecs(8, [10])])).toEqual([ecs(16, [127, 0])]);
  });

  it('hands the client back its own EDNS: no OPT record when it sent none, its options without the ECS it did not send', async () => {
    const noEdns = dnsPacket.decode((await udpExchange(ours.port, query('plain.ecs.test', undefined)))!);
    expect(noEdns.additionals).toEqual([]);
    const withCookie = dnsPacket.decode((await udpExchange(ours.port, query('plain.ecs.test', [COOKIE])))!);
    expect((withCookie.additionals![0] as unknown as { options: Option[] }).options.map((o) => o.code)).toEqual([10]);
    // An overridden option was the client's: the backend's echo of it stays.
    const overridden = dnsPacket.decode((await udpExchange(ours.port, query('override.ecs.test', [ecs(16, [10, 9])])))!);
    expect((overridden.additionals![0] as unknown as { options: Option[] }).options.map((o) => o.code)).toEqual([10, 8]);
  });
});

/** A pool with setECS(true) and its only backend down: the SERVFAIL is made from the query as ECS left it. */
const noServerConfig = (port: number | string, addEdns: boolean): string => `setLocal("127.0.0.1:${port}")
newServer{address="127.0.0.1:9", useClientSubnet=true}:setDown()
getPool(""):setECS(true)
setServFailWhenNoServer(true)
setAddEDNSToSelfGeneratedResponses(${addEdns})
`;

describeDnsdist('EDNS Client Subnet and the no-server SERVFAIL (setAddEDNSToSelfGeneratedResponses), as dnsdist', () => {
  const running: Array<{ dnsdistPort: number; dnsdist: SpawnedDnsdist; ours: RunningProxy; addEdns: boolean }> = [];

  beforeAll(async () => {
    for (const addEdns of [true, false]) {
      const dnsdistPort = await freePort();
      const dnsdist = spawnDnsdist(noServerConfig(dnsdistPort, addEdns));
      const ours = await startProxy(noServerConfig('${PORT}', addEdns));
      running.push({ dnsdistPort, dnsdist, ours, addEdns });
      await waitForDnsdistAnswer(dnsdist, dnsdistPort, query('ready.ecs.test', undefined));
    }
  }, 30000);
  afterAll(async () => {
    for (const r of running) {
      await r.ours.stop();
      await r.dnsdist.stop();
    }
  });

  it('answers the same bytes, with and without EDNS in the query and in the setting', async () => {
    for (const { dnsdistPort, ours, addEdns } of running) {
      for (const [shape, options] of SHAPES) {
        const q = query('servfail.ecs.test', options);
        const theirs = await udpExchange(dnsdistPort, q);
        expect(theirs).toBeDefined();
        expect([addEdns, shape, (await udpExchange(ours.port, q))?.toString('hex')]).toEqual([addEdns, shape, theirs!.toString('hex')]);
      }
    }
  });
});

describeDnsdist('EDNS Client Subnet and the packet cache counters (parseECS, zero scope), as dnsdist', () => {
  let backend: TestBackend;
  let dnsdist: DnsdistWithConsole;
  let dnsdistPort: number;
  let ours: RunningProxy;

  beforeAll(async () => {
    backend = await startUdpTcpBackend(backendAnswer);
    dnsdistPort = await freePort();
    const config = (port: number | string): string => `addLocal("127.0.0.1:${port}")
pc = newPacketCache(100, {parseECS=true})
getPool(""):setCache(pc)
newServer{address="127.0.0.1:${backend.port}", useClientSubnet=true}
`;
    dnsdist = await startDnsdistWithConsole(config(dnsdistPort));
    ours = await startProxy(config('${PORT}'), {});
    await waitFor('our backend up', () => ours.app.proxy.servers[0]!.isUp());
  }, 30000);
  afterAll(async () => {
    await ours?.stop();
    await dnsdist?.stop();
    await backend?.close();
  });

  it('counts the same hits and misses (the lookup without ECS counts its miss in the cache, not in cache-misses)', async () => {
    for (const name of ['zero.count.test', 'zero.count.test', 'scoped.count.test', 'scoped.count.test']) {
      for (const port of [dnsdistPort, ours.port]) expect(await udpExchange(port, query(name, undefined))).toBeDefined();
    }
    const stats = 'getPool(""):getCache():printStats()';
    const theirStats = (await dnsdist.run(stats)).trim();
    // With workers the control plane sums their counters every 100 ms: wait for the last query's.
    await waitFor('our cache statistics to count every query', () => ours.app.runConsoleCommand(stats).trim() === theirStats);
    expect(ours.app.runConsoleCommand(stats).trim()).toBe(theirStats);
    // dumpStats() prints two counters per line; keep the cache ones.
    const cacheCounters = (text: string): string[] => text.match(/cache-(hits|misses)\s+\d+/g)?.map((m) => m.replace(/\s+/, ' ')) ?? [];
    const theirs = cacheCounters(await dnsdist.run('dumpStats()'));
    expect(theirs).toHaveLength(2);
    await waitFor('our cache counters', () => cacheCounters(ours.app.runConsoleCommand('dumpStats()')).join() === theirs.join());
    expect(cacheCounters(ours.app.runConsoleCommand('dumpStats()'))).toEqual(theirs);
  });
});
