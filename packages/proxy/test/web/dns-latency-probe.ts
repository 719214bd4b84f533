/**
 * For benchmarks: a DNS client in a process of its own that sends one UDP
 * query every few milliseconds to the proxy and records each answer's
 * delay. Being outside the proxy's process, its clock keeps running while
 * the proxy's event loop is busy (a scrape rendering), so a stalled loop
 * shows as late answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { encodeQuery } from '../support/dns-client.js';

/** Delays of the answers received since the previous report. */
export interface ProbeWindow {
  /** Queries answered. */
  readonly answered: number;
  /** Queries without an answer after a second. */
  readonly lost: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers that came more than 10 ms after their query. */
  readonly over10Ms: number;
}

// Plain JavaScript: runs under `node -e`. argv: port, query (hex), interval in ms.
const PROBE_SOURCE = `
const dgram = require('node:dgram');
const [port, hex, interval] = [Number(process.argv[1]), process.argv[2], Number(process.argv[3])];
const query = Buffer.from(hex, 'hex');
const sock = dgram.createSocket('udp4');
const sent = new Map();
let delays = [];
let lost = 0;
let id = 0;
sock.on('message', (m) => {
  const t = sent.get(m.readUInt16BE(0));
  if (t === undefined) return;
  sent.delete(m.readUInt16BE(0));
  delays.push(Number(process.hrtime.bigint() - t) / 1e6);
});
setInterval(() => {
  const now = process.hrtime.bigint();
  for (const [k, t] of sent) if (now - t > 1000000000n) { sent.delete(k); lost++; }
  id = (id + 1) & 0xffff;
  query.writeUInt16BE(id, 0);
  sent.set(id, process.hrtime.bigint());
  sock.send(query, port, '127.0.0.1');
}, interval);
process.stdin.on('data', () => {
  const s = delays.sort((a, b) => a - b);
  const at = (q) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : 0);
  process.stdout.write(JSON.stringify({ answered: s.length, lost, medianMs: at(0.5), p99Ms: at(0.99), maxMs: s.length ? s[s.length - 1] : 0, over10Ms: s.filter((d) => d > 10).length }) + '\\n');
  delays = [];
  lost = 0;
});
process.stdin.on('end', () => process.exit(0));
`;

export class DnsLatencyProbe {
  readonly #child: ChildProcess;
  #buffered = '';
  #waiting: ((w: ProbeWindow) => void) | undefined;

  /** Start probing `port` on 127.0.0.1 with an A query every `intervalMs`. */
  /** The child process's pid (the bench may pin it to a CPU of its own). */
  get pid(): number {
    return this.#child.pid!;
  }

  constructor(port: number, intervalMs = 2) {
    const query = encodeQuery('probe.example', { id: 0 }).toString('hex');
    this.#child = spawn(process.execPath, ['-e', PROBE_SOURCE, String(port), query, String(intervalMs)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.#child.stdout!.setEncoding('utf8');
    this.#child.stdout!.on('data', (chunk: string) => {
      this.#buffered += chunk;
      const nl = this.#buffered.indexOf('\n');
      if (nl < 0) return;
      const line = this.#buffered.slice(0, nl);
      this.#buffered = this.#buffered.slice(nl + 1);
      const done = this.#waiting;
      this.#waiting = undefined;
      done?.(JSON.parse(line) as ProbeWindow);
    });
  }

  /** The answers since the previous call (or the start), and start a new window. */
  window(): Promise<ProbeWindow> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.#child.stdin!.write('report\n');
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#child.once('exit', () => resolve());
      this.#child.stdin!.end();
    });
  }
}
