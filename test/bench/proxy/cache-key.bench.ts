/**
 * The packet cache key's cost per query (computeCacheKey, the hash the
 * cache looks entries up by), for a few query shapes: a bare question, one
 * with an OPT record carrying ECS, one with ECS and a DNS Cookie (which
 * dnsdist's default key skips, so its options are walked), and a long name.
 *
 *   pnpm exec tsx test/bench/proxy/cache-key.bench.ts [--keys 5000000]
 */
import { loadavg } from 'node:os';
import { DnsQueryView } from '../../../packages/dns/src/index.js';
import { computeCacheKey } from '../../../packages/dataplane/src/cache/cache-key.js';

const argv = process.argv.slice(2);
const KEYS = Number(argv[argv.indexOf('--keys') + 1] || 5_000_000);
const SKIP_COOKIES: ReadonlySet<number> = new Set([10]);

function wireName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.').filter(Boolean)) out.push(label.length, ...Buffer.from(label));
  out.push(0);
  return out;
}

function packet(name: string, options: number[][] | undefined): Buffer {
  const header = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, options ? 1 : 0];
  const bytes = [...header, ...wireName(name), 0, 1, 0, 1];
  if (options) {
    const rdata = options.flat();
    bytes.push(0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, rdata.length >> 8, rdata.length & 0xff, ...rdata);
  }
  return Buffer.from(bytes);
}

const ECS = [0, 8, 0, 8, 0, 1, 24, 0, 192, 0, 2, 0];
const COOKIE = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];

const SHAPES: [string, Buffer][] = [
  ['www.example.com A, no EDNS', packet('www.example.com', undefined)],
  ['www.example.com A, EDNS + ECS', packet('www.example.com', [ECS])],
  ['www.example.com A, EDNS + ECS + cookie', packet('www.example.com', [ECS, COOKIE])],
  ['63-byte-label.long.example A, EDNS', packet(`${'a'.repeat(63)}.${'b'.repeat(40)}.long.example`, [])],
];

console.log(
  `cache key: ${KEYS} keys per shape; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
for (const [label, buf] of SHAPES) {
  const view = new DnsQueryView();
  if (!view.parse(buf, buf.length)) throw new Error(`${label}: did not parse (${view.error})`);
  const qnameEnd = view.qnameEnd;
  const lower = view.qnameLower;
  let sink = 0;
  // Warm up so the timed loop runs optimised code.
  for (let i = 0; i < 200_000; i++) sink ^= computeCacheKey(buf, buf.length, qnameEnd, lower, true, SKIP_COOKIES);
  const start = process.hrtime.bigint();
  for (let i = 0; i < KEYS; i++) {
    buf[3] = i & 0x10; // a changing input, so the call cannot be hoisted
    sink ^= computeCacheKey(buf, buf.length, qnameEnd, lower, true, SKIP_COOKIES);
  }
  const ns = Number(process.hrtime.bigint() - start) / KEYS;
  console.log(`  ${label.padEnd(40)} ${buf.length.toString().padStart(3)} B  ${ns.toFixed(1).padStart(6)} ns/key  (${sink & 1})`);
}
