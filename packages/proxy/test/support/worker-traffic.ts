/**
 * Traffic for tests of data-plane workers: UDP queries from a chosen
 * loopback address (127.0.0.x), each from its own source port so that
 * SO_REUSEPORT spreads them over the workers; bursts that both workers
 * took part in; and waiting until a dynamic-block change reached every
 * worker.
 */
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { encodeQuery, udpQuery, waitFor } from './dns-client.js';
import type { RunningProxy } from './proxy-harness.js';

/** One UDP query from `source` (a fresh socket, so a fresh source port); its RCODE, or 'timeout'. */
export function queryFrom(source: string, port: number, name: string): Promise<string> {
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

/** `n` queries from `source`, each from its own port, all at once: their RCODEs. */
export function burst(source: string, port: number, n: number, name = 'q'): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => queryFrom(source, port, `${name}${i}.example.`)));
}

/** Queries each worker counted: to see that a burst reached both. */
export function perWorker(p: RunningProxy): number[] {
  return p.app.workers!.status().map((w) => w.queries);
}

/** A burst that both workers took part in (their own counts grew), with its answers. */
export async function burstOverBothWorkers(p: RunningProxy, source: string, n: number, name: string): Promise<string[]> {
  const seen: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const before = perWorker(p);
    const answers = await burst(source, p.port, n, `${name}${attempt}-`);
    // Each worker publishes its count every 100 ms: wait until the whole burst is counted.
    const total = before[0]! + before[1]! + n;
    await waitFor('the workers to publish their counts', () => perWorker(p).reduce((a, b) => a + b, 0) >= total);
    const after = perWorker(p);
    if (after[0]! > before[0]! && after[1]! > before[1]!) return answers;
    seen.push(`${before.join('/')} -> ${after.join('/')}`);
    if (attempt === 5) throw new Error(`bursts of ${n} from ${source} reached only one worker: ${seen.join(', ')}`);
  }
}

/** Run `change` (console, API) and wait until every worker has applied what it sent them. */
export async function reachingEveryWorker<T>(p: RunningProxy, change: () => T | Promise<T>): Promise<T> {
  const state = p.app.workerState!;
  const before = state.blockChangesApplied();
  const result = await change();
  await waitFor('every worker to apply the change', () => state.blockChangesApplied().every((n, i) => n > (before[i] ?? 0)));
  return result;
}

/** `n` UDP queries for `name` from `n` sockets (source ports), all at once; each answer as "RCODE data", undefined when none came. */
export async function udpAnswers(port: number, name: string, n = 32): Promise<Array<string | undefined>> {
  const answers = await Promise.all(Array.from({ length: n }, () => udpQuery(port, name)));
  return answers.map((a) => (a ? `${a.rcode ?? 'NOERROR'} ${String(a.answers?.[0]?.data ?? '')}` : undefined));
}

/**
 * Probe until it says yes: for what no event tells the test (every worker
 * following a change), each probe being a round of queries.
 */
export async function untilProbe(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
}
