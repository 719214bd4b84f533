/**
 * Rings and dynamic blocks with two data-plane workers: the control plane
 * reads every worker's rings (topClients, topQueries, grepq, exceedQRate,
 * getRespRing show the same as one process for the same traffic), a
 * dynBlockRulesGroup applied in maintenance() blocks a flooding client in
 * every worker, blocks added at the console or through the block API reach
 * every worker and go again on removal or clearDynBlocks, and the queries
 * each worker blocked are summed (showDynBlocks, dyn-blocked). Clients are
 * loopback addresses 127.0.0.x, each query from its own source port so
 * that SO_REUSEPORT spreads it over the workers. The workers run the
 * built code (dist/): `make` first.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { encodeQuery, waitFor } from '../support/dns-client.js';
import { burst, burstOverBothWorkers, perWorker, queryFrom, reachingEveryWorker } from '../support/worker-traffic.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
setLocal("127.0.0.1:\${PORT}")
setRingBuffersSize(1000, 10)
webserver("127.0.0.1:\${WEB}")
setWebserverConfig({apiKey="test-key", acl="127.0.0.0/8"})
setAPIWritable(true)
-- Holds the worker that gets it until the Lua time budget (1 s) stops it: a worker that does not answer the control plane's pull.
addAction("stuck.example.", LuaAction(function(dq) while true do end end))
local dbr = dynBlockRulesGroup()
dbr:setQueryRate(25, 2, "Exceeded query rate", 60, DNSAction.Refused)
dbr:excludeRange({"127.0.0.1/32"})
function maintenance()
  dbr:apply()
end
`;

/** The same traffic for every proxy: four clients with 3, 6, 9 and 12 queries, names by client. */
async function sendTraffic(port: number): Promise<void> {
  for (const [i, n] of [3, 6, 9, 12].entries()) {
    const answers = await Promise.all(Array.from({ length: n }, () => queryFrom(`127.0.0.${11 + i}`, port, `c${i}.example.`)));
    expect(answers).toEqual(Array(n).fill('NOERROR'));
  }
}

function webPort(p: RunningProxy): number {
  return Number(/webserver\("127\.0\.0\.1:(\d+)"\)/.exec(readFileSync(p.configFile, 'utf8'))![1]);
}

function statValue(dump: string, name: string): number {
  const m = new RegExp(`(?:^|\\s)${name}\\s+(\\d+)`).exec(dump);
  if (!m) throw new Error(`${name} not in dumpStats():\n${dump}`);
  return Number(m[1]);
}

describe('rings and dynamic blocks with two data-plane workers', () => {
  let backend: TestBackend;
  let workers: RunningProxy;
  let single: RunningProxy;

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
    workers = await startProxy(CONFIG, { BACKEND: backend.port, WEB: await freePort() }, { workers: 2 });
    single = await startProxy(CONFIG, { BACKEND: backend.port, WEB: await freePort() });
  }, 30_000);

  afterAll(async () => {
    await workers?.stop();
    await single?.stop();
    await backend?.close();
  });

  it('reads every worker rings: the ring readers show what one process shows for the same traffic', async () => {
    await sendTraffic(workers.port);
    await sendTraffic(single.port);
    // Both workers took part (each publishes its count every 100 ms).
    await waitFor('the workers to publish their counts', () => perWorker(workers).reduce((a, b) => a + b, 0) === 30);
    expect(perWorker(workers).every((n) => n > 0)).toBe(true);
    const same = (command: string): string => {
      const got = workers.app.runConsoleCommand(command);
      // The command in the comparison, so that a difference says which reader it was.
      expect({ command, output: got }).toEqual({ command, output: single.app.runConsoleCommand(command) });
      return got;
    };
    const top = same('topClients(10)');
    expect(top).toMatch(/^\s*1\s+127\.0\.0\.14\s+12 40\.0%$/m);
    expect(top).toMatch(/^\s*4\s+127\.0\.0\.11\s+3 10\.0%$/m);
    same('topQueries(10)');
    same('topResponses(10)');
    same('topBandwidth(10)');
    expect(same('for k, v in pairs(exceedQRate(1, 10)) do print(k:toString() .. " " .. v) end')).toMatch(/^127\.0\.0\.14 12$/m);
    expect(same('print(#getRespRing())')).toBe('30\n');
    const lines = (p: RunningProxy): string[] =>
      p.app
        .runConsoleCommand('grepq("127.0.0.13")')
        .split('\n')
        .slice(1)
        .filter((l) => l !== '')
        // Times, source ports, IDs and latencies differ from run to run; the rest must be the same.
        .map((l) =>
          l
            .replace(/^\s*-?[\d.]+\s+/, '')
            .replace(/^(\S+?):\d+ /, '$1 ')
            .replace(/ \d+ +(c\d\.example\.)/, ' $1')
            .replace(/ \d+\.\d+ /, ' ')
            .replace(/\s+/g, ' '),
        )
        .sort();
    expect(lines(workers)).toHaveLength(18);
    expect(lines(workers)).toEqual(lines(single));
  });

  it('blocks a flooding client in every worker with a rule group applied in the control plane', async () => {
    // Over 25 qps for 2 s: more than 50 queries in 2 s, spread over both workers by source port.
    const flood = await burst('127.0.0.21', workers.port, 80, 'flood');
    expect(flood.filter((r) => r === 'NOERROR').length).toBeGreaterThan(50);
    await waitFor('the group to insert the block', () => /127\.0\.0\.21\/32/.test(workers.app.runConsoleCommand('showDynBlocks()')), 5000);
    expect(workers.output.join('\n')).toMatch(/Inserting dynamic block for 127\.0\.0\.21\/32 for 60 seconds: Exceeded query rate/);
    const blocked = await burstOverBothWorkers(workers, '127.0.0.21', 24, 'after');
    expect(blocked).toEqual(Array(24).fill('REFUSED'));
    // Another client goes on being answered.
    expect(await burst('127.0.0.22', workers.port, 8, 'other')).toEqual(Array(8).fill('NOERROR'));
    // What each worker blocked is summed: the block's count and dyn-blocked.
    const refused = flood.filter((r) => r === 'REFUSED').length + blocked.length;
    expect(workers.app.runConsoleCommand('showDynBlocks()')).toMatch(
      new RegExp(`^127\\.0\\.0\\.21/32 +\\d+ +${refused} false +Send Refused +Exceeded query rate$`, 'm'),
    );
    await waitFor('dyn-blocked to be summed', () => workers.app.proxy.counters.dynBlocked === refused);
    expect(statValue(workers.app.runConsoleCommand('dumpStats()'), 'dyn-blocked')).toBe(refused);
    // clearDynBlocks takes it out of every worker.
    expect(await reachingEveryWorker(workers, () => workers.app.runConsoleCommand('clearDynBlocks()'))).toBe('');
    const cleared = await burstOverBothWorkers(workers, '127.0.0.21', 8, 'cleared');
    expect(cleared).toEqual(Array(8).fill('NOERROR'));
  }, 20_000);

  it('sends console blocks (client and suffix, with their actions) to every worker, and their removal', async () => {
    await reachingEveryWorker(workers, () => {
      expect(workers.app.runConsoleCommand('addDynamicBlock("127.0.0.31", "console", DNSAction.Truncate, 60)')).toBe('');
      expect(workers.app.runConsoleCommand('addDynBlockSMT({"bad.example."}, "console", 60, DNSAction.Nxdomain)')).toBe('');
    });
    const truncated = await burstOverBothWorkers(workers, '127.0.0.31', 16, 't');
    expect(truncated).toEqual(Array(16).fill('NOERROR'));
    const tc = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.on('message', (m) => {
        s.close();
        resolve((dnsPacket.decode(m) as { flag_tc?: boolean }).flag_tc === true);
      });
      s.bind(0, '127.0.0.31', () => s.send(encodeQuery('tc.example.'), workers.port, '127.0.0.1'));
    });
    expect(tc).toBe(true);
    const nx = await Promise.all(Array.from({ length: 16 }, () => queryFrom('127.0.0.32', workers.port, 'www.bad.example.')));
    expect(nx).toEqual(Array(16).fill('NXDOMAIN'));
    expect(workers.app.runConsoleCommand('showDynBlocks()')).toMatch(/^bad\.example\. +\d+ +16 false +Send NXDomain +console$/m);
    expect(await reachingEveryWorker(workers, () => workers.app.runConsoleCommand('clearDynBlocks()'))).toBe('');
    expect(await Promise.all(Array.from({ length: 8 }, () => queryFrom('127.0.0.32', workers.port, 'www.bad.example.')))).toEqual(
      Array(8).fill('NOERROR'),
    );
  });

  it('adds and removes blocks through the block API in every worker', async () => {
    const api = `http://127.0.0.1:${webPort(workers)}/api/v1/servers/localhost/blocks`;
    const headers = { 'X-API-Key': 'test-key', 'Content-Type': 'application/json' };
    const res = await reachingEveryWorker(workers, () =>
      fetch(api, {
        method: 'POST',
        headers,
        body: JSON.stringify({ kind: 'address', target: '127.0.0.41', action: 'Refused', seconds: 60, reason: 'api test' }),
      }),
    );
    expect(res.status).toBeLessThan(300);
    expect(await burstOverBothWorkers(workers, '127.0.0.41', 16, 'api')).toEqual(Array(16).fill('REFUSED'));
    const del = await reachingEveryWorker(workers, () => fetch(`${api}?kind=address&target=127.0.0.41`, { method: 'DELETE', headers }));
    expect(del.status).toBeLessThan(300);
    expect(await burstOverBothWorkers(workers, '127.0.0.41', 16, 'apidel')).toEqual(Array(16).fill('NOERROR'));
  });

  it('gives a restarted worker the whole block table', async () => {
    await reachingEveryWorker(workers, () =>
      workers.app.runConsoleCommand('addDynamicBlock("127.0.0.51", "before the restart", DNSAction.Refused, 60)'),
    );
    const pool = workers.app.workers!;
    const oldThread = pool.status()[1]!.threadId;
    await pool.terminate(1);
    await waitFor('the restart', () => pool.status()[1]!.state === 'running' && pool.status()[1]!.threadId !== oldThread, 15_000);
    expect(await burstOverBothWorkers(workers, '127.0.0.51', 16, 'restarted')).toEqual(Array(16).fill('REFUSED'));
    // The dead worker's rings went with it; the new one's are read from their start.
    expect(workers.app.runConsoleCommand('topClients(10)')).toMatch(/127\.0\.0\.51/);
  }, 30_000);

  it('leaves a worker that does not answer out of a reading, logged, and reads its entries at the next one', async () => {
    // Shorter than the 1 s a LuaAction may run.
    workers.app.workerState!.timeoutMs = 200;
    const stuck = queryFrom('127.0.0.81', workers.port, 'stuck.example.');
    // Readings until one finds the worker that got the query busy (there is no event for "it started"): that one waits 2 s.
    let top = '';
    let warning = '';
    for (const deadline = Date.now() + 5000; warning === '' && Date.now() < deadline;) {
      const before = workers.output.length;
      top = workers.app.runConsoleCommand('topClients(100)');
      warning = workers.output.slice(before).join('\n');
      if (warning === '') await new Promise((r) => setTimeout(r, 10));
    }
    expect(warning).toMatch(
      /^Data-plane worker \d did not answer within 200 ms: its rings and block counts are left out of this reading$/m,
    );
    expect(top).not.toMatch(/127\.0\.0\.81/);
    expect(await stuck).toBe('SERVFAIL');
    await waitFor('the worker to answer pulls again', () => /127\.0\.0\.81/.test(workers.app.runConsoleCommand('topClients(100)')), 10_000);
  }, 30_000);
});
