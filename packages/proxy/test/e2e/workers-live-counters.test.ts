/**
 * Statistics with two data-plane workers read as dnsdist's one process's,
 * at once: a LuaAction in either worker sees the total of every worker
 * (getStatisticsCounters(), Server:getOutstanding()), and the control
 * plane's dumpStats, showServers, API and /jsonstat include every query
 * answered so far, with no wait for a periodic sum (workers/live-counters.ts),
 * and so do showRules(), the API's rules and /metrics' dnsdist_rule_hits;
 * a backend set down or up at the console is so in every worker from the
 * next query on (workers/shared-backend-states.ts).
 * The workers run the built code (dist/): `make` first.
 */
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { udpQuery } from '../support/dns-client.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, type TestBackend } from '../support/test-backends.js';

const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
setLocal("127.0.0.1:\${PORT}")
setServFailWhenNoServer(true)
webserver("127.0.0.1:\${WEB}")
setWebserverConfig({apiKey="test-key", acl="127.0.0.0/8"})
-- The total number of queries so far, as an address: 192.0.2.<queries>.
addAction("count.example.", LuaAction(function(dq)
  return DNSAction.Spoof, "192.0.2." .. tostring(math.floor(getStatisticsCounters()['queries']))
end))
-- The backend's queries in flight over every worker, as an address.
addAction("outstanding.example.", LuaAction(function(dq)
  return DNSAction.Spoof, "198.51.100." .. tostring(getServer(0):getOutstanding())
end))
addAction("nx.example.", RCodeAction(DNSRCode.NXDOMAIN), {name="nx-rule"})
addResponseAction("fwdrule.example.", AllowResponseAction(), {name="fwd-rule"})
`;

/** A UDP backend that keeps its answers to hold*.example. until release() (the others are answered at once). */
async function startHoldingBackend(): Promise<TestBackend & { holding: (n: number) => Promise<void>; release: () => void }> {
  const socket = dgram.createSocket('udp4');
  const held: Array<() => void> = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  socket.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const answer = () => socket.send(answerWithA(q, '192.0.2.7'), rinfo.port, rinfo.address);
    if (!q.questions?.[0]?.name.startsWith('hold')) return answer();
    held.push(answer);
    if (waiting && held.length >= waiting.n) waiting.resolve();
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return {
    port: socket.address().port,
    holding: (n) => (held.length >= n ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { n, resolve }))),
    release: () => held.splice(0).forEach((f) => f()),
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

function statValue(dump: string, name: string): number {
  const m = new RegExp(`(?:^|\\s)${name}\\s+(\\d+)`).exec(dump);
  if (!m) throw new Error(`${name} not in dumpStats():\n${dump}`);
  return Number(m[1]);
}

describe('statistics read live across two data-plane workers', () => {
  let backend: Awaited<ReturnType<typeof startHoldingBackend>>;
  let proxy: RunningProxy;
  let web: number;

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startHoldingBackend();
    web = await freePort();
    proxy = await startProxy(CONFIG, { BACKEND: backend.port, WEB: web }, { workers: 2 });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  it('a LuaAction in either worker sees the queries of both (getStatisticsCounters)', async () => {
    // One query at a time, each from a new socket (source port): the kernel spreads them over both workers.
    const seen: string[] = [];
    for (let i = 1; i <= 24; i++) {
      const a = await udpQuery(proxy.port, 'count.example.');
      seen.push(String(a?.answers?.[0]?.data));
    }
    expect(seen).toEqual(Array.from({ length: 24 }, (_, i) => `192.0.2.${i + 1}`));
    // Both workers answered some of them (else this would not test anything across workers).
    expect(proxy.app.workers!.status().every((w) => w.queries > 0)).toBe(true);
  });

  it('dumpStats, showServers, the API and /jsonstat include every query answered, read at once', async () => {
    const before = statValue(proxy.app.runConsoleCommand('dumpStats()'), 'queries');
    const n = 16;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => udpQuery(proxy.port, `fwd${i}.example.`)));
    for (const a of answers) expect(a?.answers?.[0]?.data).toBe('192.0.2.7');
    const dump = proxy.app.runConsoleCommand('dumpStats()');
    expect(statValue(dump, 'queries')).toBe(before + n);
    expect(statValue(dump, 'responses')).toBe(n);
    expect(proxy.app.runConsoleCommand('showServers()')).toMatch(new RegExp(`^0 .* up .* ${n} +0 `, 'm'));
    const headers = { 'X-API-Key': 'test-key' };
    const get = async (path: string): Promise<unknown> => (await fetch(`http://127.0.0.1:${web}${path}`, { headers })).json();
    const statistics = (await get('/api/v1/servers/localhost/statistics')) as Array<{ name: string; value: number }>;
    expect(statistics.find((s) => s.name === 'queries')?.value).toBe(before + n);
    const servers = ((await get('/api/v1/servers/localhost')) as { servers: Array<{ queries: number; responses: number }> }).servers;
    expect(servers[0]).toMatchObject({ queries: n, responses: n });
    const json = (await get('/jsonstat?command=stats')) as Record<string, number>;
    expect(json['queries']).toBe(before + n);
    expect(json['responses']).toBe(n);
  });

  it("a LuaAction sees the backend's queries in flight in both workers (Server:getOutstanding)", async () => {
    const held = Array.from({ length: 8 }, (_, i) => udpQuery(proxy.port, `hold${i}.example.`, { timeoutMs: 10_000 }));
    await backend.holding(8);
    // Every probe, whichever worker it lands on, sees the eight held queries, not its own worker's share.
    const probes = await Promise.all(Array.from({ length: 8 }, () => udpQuery(proxy.port, 'outstanding.example.')));
    expect(probes.map((a) => a?.answers?.[0]?.data)).toEqual(Array(8).fill('198.51.100.8'));
    expect(proxy.app.runConsoleCommand('getServer(0):getOutstanding()')).toBe('8\n');
    backend.release();
    for (const a of await Promise.all(held)) expect(a?.answers?.[0]?.data).toBe('192.0.2.7');
    expect(proxy.app.runConsoleCommand('getServer(0):getOutstanding()')).toBe('0\n');
  });

  it('a backend set down, then up, at the console is so in both workers for the very next queries', async () => {
    const burst = async (prefix: string): Promise<string[]> =>
      (await Promise.all(Array.from({ length: 16 }, (_, i) => udpQuery(proxy.port, `${prefix}${i}.example.`)))).map(
        (a) => `${a?.rcode ?? 'none'} ${String(a?.answers?.[0]?.data ?? '')}`,
      );
    proxy.app.runConsoleCommand('getServer(0):setDown()');
    expect(await burst('down')).toEqual(Array(16).fill('SERVFAIL '));
    proxy.app.runConsoleCommand('getServer(0):setUp()');
    expect(await burst('up')).toEqual(Array(16).fill('NOERROR 192.0.2.7'));
    proxy.app.runConsoleCommand('getServer(0):setAuto()');
    expect(proxy.app.workers!.status().every((w) => w.queries > 0)).toBe(true);
  });

  it("showRules(), the API's rules and /metrics count every matching query of both workers, read at once", async () => {
    const n = 20;
    const [nx, fwd] = await Promise.all([
      Promise.all(Array.from({ length: n }, () => udpQuery(proxy.port, 'nx.example.'))),
      Promise.all(Array.from({ length: n }, (_, i) => udpQuery(proxy.port, `q${i}.fwdrule.example.`))),
    ]);
    expect(nx.map((a) => a?.rcode)).toEqual(Array(n).fill('NXDOMAIN'));
    expect(fwd.map((a) => a?.answers?.[0]?.data)).toEqual(Array(n).fill('192.0.2.7'));
    // No wait: each answer was counted before it was sent, in whichever worker sent it.
    expect(proxy.app.runConsoleCommand('showRules()')).toMatch(new RegExp(`^2 +nx-rule +${n} `, 'm'));
    expect(proxy.app.runConsoleCommand('showResponseRules()')).toMatch(new RegExp(`^0 +fwd-rule +${n} `, 'm'));
    const headers = { 'X-API-Key': 'test-key' };
    const localhost = (await (await fetch(`http://127.0.0.1:${web}/api/v1/servers/localhost`, { headers })).json()) as {
      rules: Array<{ matches: number }>;
      'response-rules': Array<{ name: string; matches: number }>;
    };
    expect(localhost.rules[2]?.matches).toBe(n);
    expect(localhost['response-rules'][0]).toMatchObject({ name: 'fwd-rule', matches: n });
    const metrics = await (await fetch(`http://127.0.0.1:${web}/metrics`, { headers })).text();
    expect(metrics).toMatch(new RegExp(`^dnsdist_rule_hits\\{id="nx-rule"\\} ${n}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^dnsdist_rule_hits\\{id="fwd-rule"\\} ${n}$`, 'm'));
    expect(proxy.app.workers!.status().every((w) => w.queries > 0)).toBe(true);
  });
});
