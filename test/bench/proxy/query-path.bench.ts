/**
 * The proxy's per-query JavaScript cost, without sockets: queries are
 * handed to a UDP frontend through an in-memory endpoint, the "backend"
 * answer is handed back the same way, and the answer sent to the client is
 * captured. Reports ns per query (query in → answer out) for a few
 * configurations. Syscalls are excluded on purpose: this isolates what the
 * JS path costs, which the end-to-end benchmark (proxy.bench.ts) cannot.
 *
 *   pnpm exec tsx test/bench/proxy/query-path.bench.ts [--queries 2000000] [--only lua]
 *
 * `--only` runs the configurations whose label contains the word. The
 * `lua` ones show what a Lua rule costs per call: the call itself, and
 * each field read on top, and the same reads through the ffi module
 * (LuaFFIAction) for comparison. `--shared-counters` puts the global,
 * backend and rule counters in a SharedArrayBuffer region as a data-plane
 * worker's are (workers/live-counters.ts), to compare with their own array.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DnsdistApp } from '../../../packages/proxy/src/app/dnsdist-app.js';
import type { UdpDatagramHandler, UdpEndpoint } from '../../../packages/dataplane/src/io/udp-endpoint.js';
import { SocketAddress } from '../../../packages/dataplane/src/query/client-address.js';
import { UdpFrontend } from '../../../packages/dataplane/src/server/udp-frontend.js';
import { layoutObjectsOf } from '../../../packages/workers/src/workers/counter-layout.js';
import { LiveCounters } from '../../../packages/workers/src/workers/live-counters.js';

// parseArgs rather than indexOf: `--only lua` without `--queries` used to read
// the count from the word after index -1 (`--only`) and print NaN ns per query.
const { values: args } = parseArgs({
  options: {
    queries: { type: 'string', default: '2000000' },
    only: { type: 'string' },
    'shared-counters': { type: 'boolean', default: false },
  },
});
const QUERIES = Number(args.queries);
if (!Number.isSafeInteger(QUERIES) || QUERIES <= 0) {
  throw new Error(`--queries ${args.queries}: expected a positive whole number of queries, e.g. --queries 2000000`);
}
const ONLY = args.only;
const SHARED_COUNTERS = args['shared-counters'];

/** An endpoint whose sends land in a callback and whose receives are driven by the benchmark. */
class MemoryEndpoint implements UdpEndpoint {
  readonly kind = 'dgram' as const;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 5300;
  sendErrors = 0;
  handler: UdpDatagramHandler | undefined;
  lastSent: Buffer = Buffer.alloc(512);
  lastLength = 0;
  sent = 0;
  onDatagram(h: UdpDatagramHandler): void {
    this.handler = h;
  }
  send(data: Uint8Array, length: number): void {
    for (let i = 0; i < length; i++) this.lastSent[i] = data[i]!;
    this.lastLength = length;
    this.sent++;
  }
  flush(): void {}
  async close(): Promise<void> {}
}

function query(name: string, id: number): Buffer {
  const labels = name.split('.').filter(Boolean);
  const parts = [Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l));
  parts.push(Buffer.from([0, 0, 1, 0, 1]));
  return Buffer.concat(parts);
}

async function run(label: string, config: string): Promise<void> {
  if (ONLY !== undefined && !label.includes(ONLY)) return;
  const dir = mkdtempSync(join(tmpdir(), 'dts-qpb-'));
  const file = join(dir, 'c.conf');
  writeFileSync(file, config);
  const app = new DnsdistApp({ configFile: file, output: () => {} });
  await app.loadConfiguration();
  const proxy = app.proxy;
  if (SHARED_COUNTERS) {
    const live = new LiveCounters(LiveCounters.targetsOf(proxy, layoutObjectsOf(proxy)));
    live.attachWorker(live.regions(live.createBuffer(2), 2)!, 0);
  }
  const server = proxy.servers[0]!;
  server.availability = 'up';
  const backendEp = new MemoryEndpoint();
  server.attachUdpEndpoints([backendEp]);
  const clientEp = new MemoryEndpoint();
  new UdpFrontend(clientEp, new SocketAddress(new Uint8Array([127, 0, 0, 1]), 5300), proxy.processor);
  const client = new Uint8Array([127, 0, 0, 1]);
  const names = Array.from({ length: 200 }, (_, i) => query(`name${i}.bench.test`, i));
  const answer = Buffer.alloc(512);
  const backendAddress = new Uint8Array([127, 0, 0, 1]);
  const step = (i: number): void => {
    const q = names[i % 200]!;
    clientEp.handler!(q, q.length, client, 40000 + (i & 1023));
    if (backendEp.sent > 0 && backendEp.lastLength > 0) {
      // The backend's answer: the query with QR/RA set (cache and rules see a real response).
      for (let j = 0; j < backendEp.lastLength; j++) answer[j] = backendEp.lastSent[j]!;
      answer[2] = answer[2]! | 0x80;
      answer[3] = 0x80;
      const len = backendEp.lastLength;
      backendEp.lastLength = 0;
      backendEp.handler!(answer, len, backendAddress, 5301);
    }
  };
  for (let i = 0; i < 200_000; i++) step(i);
  const before = clientEp.sent;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < QUERIES; i++) step(i);
  const ns = Number(process.hrtime.bigint() - t0) / QUERIES;
  const answered = clientEp.sent - before;
  console.log(`| ${label} | ${ns.toFixed(0)} | ${answered === QUERIES ? 'all answered' : `${answered}/${QUERIES} answered`} |`);
  await app.stop();
}

const base = `newServer{address="127.0.0.1:5301", healthCheckMode="up"}\nsetACL({"127.0.0.0/8"})\n`;
console.log('| configuration | ns per query (JS only) | |');
console.log('|---|---:|---|');
await run('forwarding', base);
await run('cache hits', `${base}pc = newPacketCache(10000)\ngetPool(""):setCache(pc)\n`);
// EDNS Client Subnet: the option added to each query and taken out of each answer again.
const ecsBase = base.replace('healthCheckMode="up"', 'healthCheckMode="up", useClientSubnet=true');
await run('forwarding, useClientSubnet (ECS added, removed from the answer)', ecsBase);
await run('cache hits, useClientSubnet, parseECS', `${ecsBase}pc = newPacketCache(10000, {parseECS=true})\ngetPool(""):setCache(pc)\n`);
await run(
  'rules + rings',
  `${base}setRingBuffersSize(10000, 10)
addAction(QTypeRule(DNSQType.AXFR), DropAction())
smn = newSuffixMatchNode() smn:add("blocked.example.")
addAction(SuffixMatchNodeRule(smn), DropAction())
addAction(OrRule({QNameRule("never.bench.test."), RegexRule("^nothing-matches")}), RCodeAction(DNSRCode.REFUSED))`,
);
await run('lua: LuaAction reading nothing', `${base}addAction(AllRule(), LuaAction(function(dq) return DNSAction.None end))`);
await run(
  'lua: LuaAction reading dq.qname',
  `${base}addAction(AllRule(), LuaAction(function(dq) local n = dq.qname return DNSAction.None end))`,
);
await run(
  'lua: LuaAction reading dq.qname:toString(), dq.qtype, dq.dh:getRD()',
  `${base}addAction(AllRule(), LuaAction(function(dq) local n = dq.qname:toString() local t = dq.qtype local rd = dq.dh:getRD() return DNSAction.None end))`,
);
await run(
  'lua: LuaAction reading dq.qname:toString(), dq.qtype',
  `${base}addAction(AllRule(), LuaAction(function(dq) local n = dq.qname:toString() local t = dq.qtype return DNSAction.None end))`,
);
await run(
  'lua: LuaFFIAction reading the qname (get_qname_raw, ffi.string) and qtype',
  `${base}local ffi = require("ffi")
local C = ffi.C
addAction(AllRule(), LuaFFIAction(function(dq)
  local ptr = ffi.new("const char *[1]")
  local size = ffi.new("size_t[1]")
  C.dnsdist_ffi_dnsquestion_get_qname_raw(dq, ptr, size)
  local n = ffi.string(ptr[0], size[0])
  local t = C.dnsdist_ffi_dnsquestion_get_qtype(dq)
  return DNSAction.None
end))`,
);
await run(
  'lua: LuaFFIAction reading qtype',
  `${base}local C = require("ffi").C
addAction(AllRule(), LuaFFIAction(function(dq) local t = C.dnsdist_ffi_dnsquestion_get_qtype(dq) return DNSAction.None end))`,
);
await run(
  'lua: LuaAction reading dq.qtype',
  `${base}addAction(AllRule(), LuaAction(function(dq) local t = dq.qtype return DNSAction.None end))`,
);
await run(
  'lua: LuaRule + LuaAction reading dq.qname (the proxy.bench lua row)',
  `${base}addAction(LuaRule(function(dq) local n = dq.qname return false end), DropAction())
addAction(AllRule(), LuaAction(function(dq) local n = dq.qname return DNSAction.None end))`,
);
