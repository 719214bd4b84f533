/**
 * Data-plane workers (--workers N, setWorkers(n)): N worker threads each
 * run the configuration and own SO_REUSEPORT UDP and TCP listeners; the
 * main thread is the control plane. Checked with two workers: both answer
 * (each worker's own query count), the control plane shows the totals
 * (dumpStats, showServers, showRules, showBinds), a backend set down at
 * the console is down in every worker, a worker that dies is logged and
 * restarted while the proxy keeps answering, and what would mean
 * something else with two workers is refused naming the function and line.
 * One worker stays today's single event loop. The workers run the built
 * code (dist/): `make` first.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { ListenError } from '@dnsdist-ts/dataplane/io/listen-error.js';
import { DnsdistApp } from '../../src/app/dnsdist-app.js';
import { requireBuiltCli } from '../cli/cli-process.js';
import { tcpQuery, udpQuery, waitFor } from '../support/dns-client.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { untilProbe } from '../support/worker-traffic.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
setLocal("127.0.0.1:\${PORT}")
setServFailWhenNoServer(true)
addAction("spoofed.example.", SpoofAction("192.0.2.99"))
addAction(AndRule({QNameRule("limited.example."), MaxQPSRule(1, 4)}), SpoofAction("192.0.2.50"))
webserver("127.0.0.1:\${WEB}")
setWebserverConfig({apiKey="test-key", acl="127.0.0.0/8"})
setAPIWritable(true)
`;

/** `n` UDP queries from `n` sockets (source ports): the kernel spreads them over the workers' sockets. */
async function udpBurst(port: number, prefix: string, n: number): Promise<Array<string | undefined>> {
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => udpQuery(port, `${prefix}${i}.example.`)));
  return answers.map((a) => (a ? `${a.rcode ?? 'NOERROR'} ${String(a.answers?.[0]?.data ?? '')}` : undefined));
}

/** The webserver's port, as the configuration file says it. */
function webPort(p: RunningProxy): number {
  return Number(/webserver\("127\.0\.0\.1:(\d+)"\)/.exec(readFileSync(p.configFile, 'utf8'))![1]);
}

function statValue(dump: string, name: string): number {
  const m = new RegExp(`(?:^|\\s)${name}\\s+(\\d+)`).exec(dump);
  if (!m) throw new Error(`${name} not in dumpStats():\n${dump}`);
  return Number(m[1]);
}

describe('two data-plane workers', () => {
  let backend: TestBackend;
  let proxy: RunningProxy;

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
    proxy = await startProxy(CONFIG, { BACKEND: backend.port, WEB: await freePort() }, { workers: 2 });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  it('answers UDP and TCP in both workers, the control plane showing the totals', async () => {
    const pool = proxy.app.workers!;
    expect(pool.count).toBe(2);
    expect(proxy.output).toContain(`Listening on 127.0.0.1:${proxy.port}`);
    const udp = await udpBurst(proxy.port, 'u', 32);
    expect(udp).toEqual(Array(32).fill('NOERROR 192.0.2.7'));
    const tcp = await Promise.all(Array.from({ length: 16 }, (_, i) => tcpQuery(proxy.port, `t${i}.example.`)));
    for (const a of tcp) expect(a.answers?.[0]?.data).toBe('192.0.2.7');
    const rule = await Promise.all(Array.from({ length: 8 }, () => udpQuery(proxy.port, 'spoofed.example.')));
    for (const a of rule) expect(a?.answers?.[0]?.data).toBe('192.0.2.99');

    // Each worker counted its own share; the shares add up to every query sent.
    await waitFor('both workers to publish their counts', () => {
      const s = pool.status();
      return s.every((w) => w.queries > 0) && s[0]!.queries + s[1]!.queries === 56;
    });
    // The global, backend and rule counters are read live (dumpStats, showRules below); the listeners' are copied a few times a second.
    await waitFor('the control plane to sum the listeners', () => {
      const b = proxy.app.runConsoleCommand('showBinds()');
      return / UDP +40$/m.test(b) && / TCP +16$/m.test(b);
    });
    const dump = proxy.app.runConsoleCommand('dumpStats()');
    expect(statValue(dump, 'queries')).toBe(56);
    expect(statValue(dump, 'responses')).toBe(48);
    expect(statValue(dump, 'self-answered')).toBe(8);
    expect(proxy.app.runConsoleCommand('showServers()')).toMatch(/^0 .* up .* 48 /m);
    expect(proxy.app.runConsoleCommand('showRules()')).toMatch(/^0 +8 qname in spoofed\.example\. /m);
    const binds = proxy.app.runConsoleCommand('showBinds()');
    expect(binds).toMatch(new RegExp(`^0 +127\\.0\\.0\\.1:${proxy.port} +UDP +40$`, 'm'));
    expect(binds).toMatch(new RegExp(`^1 +127\\.0\\.0\\.1:${proxy.port} +TCP +16$`, 'm'));
    expect(proxy.app.runConsoleCommand('showWorkers()')).toMatch(/^1 +\d+ +running +0 +\d+$/m);
    // /metrics (served by the control plane) shows the same totals.
    const metrics = await (await fetch(`http://127.0.0.1:${webPort(proxy)}/metrics`, { headers: { 'X-API-Key': 'test-key' } })).text();
    expect(metrics).toMatch(/^dnsdist_queries 56$/m);
    expect(metrics).toMatch(
      new RegExp(`^dnsdist_frontend_queries\\{frontend="127\\.0\\.0\\.1:${proxy.port}",proto="UDP",thread="0"\\} 40$`, 'm'),
    );
  });

  it("names the listeners at the console, and takes a listener's socket filter methods (they act in every worker)", () => {
    // No filter attached: nothing to detach (internal-socket-filter.test.ts attaches one in both workers).
    expect(proxy.app.runConsoleCommand('getBind(0):detachFilter()')).toBe('');
    // getBind(n) itself names the listener, as test_TLS.py's getBind(0):getEffectiveTLSProvider() reads it.
    expect(proxy.app.runConsoleCommand('getBind(1):toString()')).toBe(`127.0.0.1:${proxy.port}\n`);
    expect(proxy.app.runConsoleCommand('getBind(0):getEffectiveTLSProvider()')).toBe('\n');
    // The rings and a pool's cache are read across workers (workers-rings-dynblocks, workers-cache tests); other changes are console changes.
    expect(proxy.app.runConsoleCommand('getServer(0):getName()')).toBe('127.0.0.1:' + String(backend.port) + '\n');
    // Nothing was added: every query still reaches the backend (changes at the console: workers-runtime-changes.test.ts).
    expect(proxy.app.rules.query.size).toBe(2);
  });

  it('sets a backend down in every worker from the console, and up again', async () => {
    proxy.app.runConsoleCommand('getServer(0):setDown()');
    await untilProbe('both workers to answer SERVFAIL with the backend down', async () =>
      (await udpBurst(proxy.port, 'down', 16)).every((a) => a === 'SERVFAIL '),
    );
    proxy.app.runConsoleCommand('getServer(0):setAuto()');
    await untilProbe('both workers to see the backend up again', async () =>
      (await udpBurst(proxy.port, 'up', 16)).every((a) => a === 'NOERROR 192.0.2.7'),
    );
  });

  it('applies a rate limit to the total across workers, not per worker', async () => {
    // MaxQPSRule(1, 4): four at once, then one a second. Per worker, two workers would let about eight through.
    const answers = await Promise.all(Array.from({ length: 40 }, () => udpQuery(proxy.port, 'limited.example.')));
    const limited = answers.filter((a) => a?.answers?.[0]?.data === '192.0.2.50').length;
    expect(limited).toBeGreaterThanOrEqual(4);
    expect(limited).toBeLessThanOrEqual(6);
    await waitFor('both workers to publish their counts', () => proxy.app.workers!.status().every((w) => w.queries > 0));
  });

  it('applies ACL changes made at the console in every worker', async () => {
    expect(proxy.app.runConsoleCommand('setACL({"192.0.2.0/24"})')).toBe('');
    await untilProbe('both workers to drop queries from 127.0.0.1', async () =>
      (await udpBurst(proxy.port, 'acl', 16)).every((a) => a === undefined),
    );
    expect(proxy.app.runConsoleCommand('addACL("127.0.0.0/8")')).toBe('');
    await untilProbe('both workers to answer 127.0.0.1 again', async () =>
      (await udpBurst(proxy.port, 'acl2', 16)).every((a) => a === 'NOERROR 192.0.2.7'),
    );
  });

  it('answers while the control plane is busy: a console command holding the main thread for 3 s does not delay DNS', async () => {
    // dig is started first (its process runs on its own), then the control plane's thread is held
    // synchronously; dig gives up after 2 s, so an answer means a worker answered meanwhile. The
    // name is one a rule answers: the test's backend runs on this (held) thread.
    const dig = spawn('dig', ['+tries=1', '+time=2', '+short', '-p', String(proxy.port), '@127.0.0.1', 'spoofed.example.', 'A'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    dig.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => dig.once('exit', (code) => resolve(code)));
    expect(proxy.app.runConsoleCommand('local t = os.time() while os.time() - t < 3 do end')).toBe('');
    expect(await exited).toBe(0);
    expect(out.trim()).toBe('192.0.2.99');
  });

  it('logs and restarts a worker that dies; the other answers meanwhile and the totals keep what it counted', async () => {
    const pool = proxy.app.workers!;
    await waitFor(
      'the counters to settle',
      () => proxy.app.proxy.counters.queries === pool.status()[0]!.queries + pool.status()[1]!.queries,
    );
    const before = proxy.app.proxy.counters.queries;
    const oldThread = pool.status()[1]!.threadId;
    // Queries in flight in a dying worker die with it; once it is gone, worker 0 answers everything meanwhile.
    await pool.terminate(1);
    expect(await udpBurst(proxy.port, 'k', 16)).toEqual(Array(16).fill('NOERROR 192.0.2.7'));
    await waitFor('the restart', () => pool.status()[1]!.state === 'running' && pool.status()[1]!.threadId !== oldThread, 15_000);
    expect(proxy.output.join('\n')).toMatch(new RegExp(`Data-plane worker 1 \\(thread ${oldThread}\\) exited with code 1; restarting it`));
    expect(pool.status()[1]!.restarts).toBe(1);
    // The new worker has its sockets again: both answer.
    await untilProbe('the new worker to answer', async () => {
      await udpBurst(proxy.port, 'r', 16);
      return pool.status()[1]!.queries > 0;
    });
    await waitFor('the totals to include everything', () => proxy.app.proxy.counters.queries >= before + 32);
  }, 30_000);
});

describe('refusals with several workers', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'dts-workers-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function load(text: string, workers?: number): Promise<void> {
    const file = join(dir, 'dnsdist.conf');
    writeFileSync(file, text);
    const app = new DnsdistApp({ configFile: file, output: () => {}, quiet: true, ...(workers ? { workers } : {}) });
    try {
      await app.loadConfiguration();
    } finally {
      await app.stop();
    }
  }

  it('loads with workers what dnsdist runs in one process: socket filters on listeners, rate limits, fast detection', async () => {
    // A listener's socket filter is attached in every worker (worker-socket-filters.ts); setWorkers() counts too.
    const text = 'setLocal("127.0.0.1:53")\ngetBind(0):detachFilter()\n';
    await load(text, 2);
    await load(`${text}setWorkers(3)\n`);
    // Rate limits are shared by the workers (MaxQPSIPRule's per-client table too), dynamic blocks and their fast
    // detection work across them: accepted.
    await load(
      'newServer{address="127.0.0.1:9", qps=5}\naddAction(AllRule(), QPSAction(10))\naddAction(MaxQPSRule(5), PoolAction(""))\naddAction(MaxQPSIPRule(10), DropAction())\nsetDynBlocksFastDetection(true)\n',
      2,
    );
    // One worker: all of it is fine.
    await load(text);
    await load(text, 1);
  });

  it('stops start-up when the first worker cannot bind a listener, naming the configuration line that asked for it', async () => {
    requireBuiltCli();
    const held = dgram.createSocket('udp4');
    await new Promise<void>((r) => held.bind(0, '127.0.0.1', () => r()));
    const file = join(dir, 'held.conf');
    writeFileSync(file, `setLocal("127.0.0.1:${held.address().port}")\n`);
    const app = new DnsdistApp({ configFile: file, output: () => {}, workers: 2 });
    try {
      await app.loadConfiguration();
      const err = await app.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as Error).message).toMatch(
        new RegExp(
          `^setLocal\\("127\\.0\\.0\\.1:${held.address().port}"\\): cannot listen on 127\\.0\\.0\\.1:\\d+/udp: address already in use`,
        ),
      );
      // The same typed error as with one worker (what a caller or the CLI reads from it).
      expect(err).toBeInstanceOf(ListenError);
      expect(err).toMatchObject({ requestedBy: `setLocal("127.0.0.1:${held.address().port}")`, protocol: 'udp', code: 'EADDRINUSE' });
    } finally {
      await app.stop();
      held.close();
    }
  });

  it('refuses a worker count that is not an integer from 1 to 128', async () => {
    await expect(load('setWorkers(0)\n')).rejects.toThrow(
      /:1: setWorkers: the number of data-plane workers must be an integer from 1 to 128, got 0/,
    );
    await expect(load('setWorkers(1.5)\n')).rejects.toThrow(/got 1\.5/);
  });
});

describe('start-up with two workers', () => {
  let dir: string;
  let backend: TestBackend;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dts-workers-start-'));
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.8'));
  });
  afterAll(async () => {
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads both workers at once and binds the second on the port the first got for port 0', async () => {
    requireBuiltCli();
    const file = join(dir, 'port0.conf');
    writeFileSync(file, `newServer{address="127.0.0.1:${backend.port}"}\nsetLocal("127.0.0.1:0")\n`);
    const app = new DnsdistApp({ configFile: file, output: () => {}, workers: 2 });
    try {
      await app.loadConfiguration();
      await app.start();
      const port = app.proxy.frontends[0]!.udp.local.port;
      expect(port).not.toBe(0);
      const pool = app.workers!;
      expect(pool.status().map((s) => s.state)).toEqual(['running', 'running']);
      // The kernel spreads source ports over both workers' sockets: each answers on that one port.
      await untilProbe('both workers to answer on the port', async () => {
        expect(await udpBurst(port, 'p', 16)).toEqual(Array(16).fill('NOERROR 192.0.2.8'));
        return pool.status().every((s) => s.queries > 0);
      });
    } finally {
      await app.stop();
    }
  }, 30_000);
});

describe('one worker (the default)', () => {
  let backend: TestBackend;
  let proxy: RunningProxy;

  beforeAll(async () => {
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
    // The default itself, whatever DNSDIST_TS_TEST_WORKERS asks of the other tests.
    proxy = await startProxy(CONFIG, { BACKEND: backend.port, WEB: await freePort() }, { workers: undefined });
  });

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  it('answers in the one event loop, with its own sockets, and console changes apply as before', async () => {
    expect(proxy.app.workers).toBeUndefined();
    expect(proxy.app.proxy.frontends[0]!.udp.endpoint.localPort).toBe(proxy.port);
    expect(proxy.app.runConsoleCommand('showWorkers()')).toMatch(/^One event loop answers every query/);
    expect((await udpQuery(proxy.port, 'a.example.'))?.answers?.[0]?.data).toBe('192.0.2.7');
    expect(proxy.app.proxy.counters.queries).toBe(1);
    expect(proxy.app.runConsoleCommand('addAction("dropped.example.", DropAction())')).toBe('');
    expect(proxy.app.rules.query.size).toBe(3);
    expect(proxy.app.runConsoleCommand('topClients()')).toMatch(/127\.0\.0\.1/);
  });
});
