/**
 * Rings with two data-plane workers: the control plane reads every
 * worker's rings (topClients, topQueries, grepq, exceedQRate, getRespRing
 * show the same as one process for the same traffic). Clients are
 * loopback addresses 127.0.0.x, each query from its own source port so
 * that SO_REUSEPORT spreads it over the workers. The workers run the
 * built code (dist/): `make` first.
 */
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { encodeQuery } from '../support/dns-client.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
setLocal("127.0.0.1:\${PORT}")
setRingBuffersSize(1000, 10)
webserver("127.0.0.1:\${WEB}")
setWebserverConfig({apiKey="test-key", acl="127.0.0.0/8"})
setAPIWritable(true)
`;

/** One UDP query from `source` (a fresh socket, so a fresh source port); its RCODE, or 'timeout'. */
function queryFrom(source: string, port: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve('timeout');
    }, 2000);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve((dnsPacket.decode(msg) as { rcode?: string }).rcode ?? 'NOERROR');
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.bind(0, source, () => socket.send(encodeQuery(name), port, '127.0.0.1'));
  });
}

/** The same traffic for every proxy: four clients with 3, 6, 9 and 12 queries, names by client. */
async function sendTraffic(port: number): Promise<void> {
  for (const [i, n] of [3, 6, 9, 12].entries()) {
    const answers = await Promise.all(Array.from({ length: n }, () => queryFrom(`127.0.0.${11 + i}`, port, `c${i}.example.`)));
    expect(answers).toEqual(Array(n).fill('NOERROR'));
  }
}

/** Queries each worker counted: to see that a burst reached both. */
function perWorker(p: RunningProxy): number[] {
  return p.app.workers!.status().map((w) => w.queries);
}

describe('rings with two data-plane workers', () => {
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
    expect(perWorker(workers).every((n) => n > 0)).toBe(true);
    const same = (command: string): string => {
      const got = workers.app.runConsoleCommand(command);
      expect(got).toBe(single.app.runConsoleCommand(command));
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
});
