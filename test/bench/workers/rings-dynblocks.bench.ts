/**
 * Rings and dynamic blocks with two data-plane workers: what reading the
 * workers' rings costs the control plane (a console `topClients()` with
 * full rings, with nothing new, with 1,000 new entries), and how long a
 * dynamic-block change takes from the control plane's insertion to each
 * worker's table (measured in the worker: the message's send time against
 * the moment it was applied), then to the first query answered under it.
 * The query path itself is unchanged (each worker records into its own
 * rings as one process does), so nothing is measured for it.
 *
 *   pnpm exec tsx test/bench/workers/rings-dynblocks.bench.ts
 *
 * Needs the built code (`make build`): the workers run dist/.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as dnsPacket from 'dns-packet';
import { DnsdistApp } from '../../../packages/proxy/src/app/dnsdist-app.js';

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function query(name: string, id: number): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
}

/** `n` queries from `sockets` sockets bound to `source` (so both workers get some), `inFlight` at a time; resolves when all are answered. */
async function load(port: number, source: string, n: number, sockets = 32): Promise<string[]> {
  const rcodes: string[] = [];
  const socks = await Promise.all(
    Array.from({ length: sockets }, async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, source, () => r()));
      return s;
    }),
  );
  let sent = 0;
  await Promise.all(
    socks.map(
      (s) =>
        new Promise<void>((resolve) => {
          const next = (): void => {
            if (sent >= n) return resolve();
            s.send(query(`b${sent}.example.`, sent++ & 0xffff), port, '127.0.0.1');
          };
          s.on('message', (m) => {
            rcodes.push((dnsPacket.decode(m) as { rcode?: string }).rcode ?? 'NOERROR');
            next();
          });
          next();
        }),
    ),
  );
  for (const s of socks) s.close();
  return rcodes;
}

function ms(t0: number): string {
  return (performance.now() - t0).toFixed(2);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-bench-workers-'));
  const port = await freePort();
  const conf = join(dir, 'dnsdist.conf');
  writeFileSync(conf, `setLocal("127.0.0.1:${port}")\nsetRingBuffersSize(10000, 10)\naddAction(AllRule(), SpoofAction("192.0.2.1"))\n`);
  const app = new DnsdistApp({ configFile: conf, output: () => {}, quiet: true, workers: 2, udpImplementation: 'auto' });
  try {
    await app.loadConfiguration();
    await app.start();
    console.log(
      `load average at start: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    await load(port, '127.0.0.1', 20_000);
    let t0 = performance.now();
    app.runConsoleCommand('topClients(10)');
    console.log(`topClients() reading 10,000 new entries from 2 workers: ${ms(t0)} ms`);
    t0 = performance.now();
    app.runConsoleCommand('topClients(10)');
    console.log(`topClients() with nothing new: ${ms(t0)} ms`);
    await load(port, '127.0.0.1', 1000);
    t0 = performance.now();
    app.runConsoleCommand('topClients(10)');
    console.log(`topClients() with 1,000 new entries: ${ms(t0)} ms`);
    const pulls: number[] = [];
    for (let i = 0; i < 20; i++) {
      t0 = performance.now();
      app.workerState!.pull();
      pulls.push(performance.now() - t0);
      await new Promise((r) => setImmediate(r));
    }
    pulls.sort((a, b) => a - b);
    console.log(`an empty pull (2 workers): median ${pulls[10]!.toFixed(3)} ms, max ${pulls[19]!.toFixed(3)} ms`);

    // Propagation: insert a block, then measure until the first REFUSED for that client.
    const firstRefused: number[] = [];
    for (let i = 0; i < 20; i++) {
      const source = `127.0.0.${100 + i}`;
      t0 = performance.now();
      app.runConsoleCommand(`addDynamicBlock("${source}", "bench", DNSAction.Refused, 60)`);
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, source, () => r()));
      const got = await new Promise<number>((resolve) => {
        s.on('message', (m) => {
          if ((dnsPacket.decode(m) as { rcode?: string }).rcode === 'REFUSED') resolve(performance.now() - t0);
          else s.send(query('p.example.', 1), port, '127.0.0.1');
        });
        s.send(query('p.example.', 1), port, '127.0.0.1');
      });
      s.close();
      firstRefused.push(got);
    }
    app.workerState!.pull();
    for (const [index, d] of app.workerState!.delays) {
      console.log(
        `worker ${index}: ${d.count} block changes applied, control plane's send to applied: mean ${(d.total / d.count).toFixed(3)} ms, max ${d.max.toFixed(3)} ms`,
      );
    }
    firstRefused.sort((a, b) => a - b);
    console.log(
      `addDynamicBlock at the console to the first REFUSED answer (one client, a query at a time): median ${firstRefused[10]!.toFixed(3)} ms, max ${firstRefused[19]!.toFixed(3)} ms`,
    );
    console.log(
      `load average at end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
