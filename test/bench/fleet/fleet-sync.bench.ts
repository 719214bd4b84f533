/**
 * Fleet-wide dynamic blocks, measured: three dnsdist-ts processes, each in
 * its own network namespace with the XDP filter attached natively to its
 * veth, one real Redis (Debian's redis-server) in the root namespace.
 *
 * 1. Propagation: a block inserted on node A through its block API (two
 *    addresses: the probe clients of B and of C); each of B and C is
 *    probed by a UDP client sending a query every 0.5 ms; the time from
 *    just before A's API request to the send time of the first probe B (C)
 *    never answered (its XDP filter dropped it: the proxy counts no query
 *    for it). Then the block is deleted on A, and the next round waits
 *    for B and C to answer again. BENCH_ROUNDS rounds (default 200).
 * 2. Resynchronisation: 100,000 blocks made on A (addDynamicBlock in a
 *    loop, from its console), then a fresh node D started: time from D's
 *    connection to the bus to its log line saying it read them, and from
 *    its process start; D's kernel map entries counted.
 * 3. Staleness: clearDynBlocks() on A, then the kernel maps of B, C and D
 *    are counted (must be 0).
 *
 * dnsdist has no fleet sync, so there is no side-by-side ratio: the
 * figures are absolute, on this 2-core machine shared by all four nodes,
 * Redis and the probes.
 *
 * Run as root after `make build`: `pnpm exec tsx test/bench/fleet/fleet-sync.bench.ts`
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpfMap } from '@dnsdist-ts/bpf';
import { createVethPair, type VethPair } from '../../support/netns.js';
import { uniqueName } from '../../support/require-bpf.js';
import { startRedis } from '../../support/redis.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const BULK = Number(process.env.BENCH_BULK ?? 100_000);
const PROBE_INTERVAL_MS = 0.5;
const bin = fileURLToPath(new URL('../../../bin/dnsdist-ts', import.meta.url));
const pins = `/sys/fs/bpf/${uniqueName('dtsfb')}`;
const dir = mkdtempSync(join(tmpdir(), 'dts-fleet-bench-'));
const fleet = uniqueName('bench');
const KEY = 'bench-api-key';
const CONSOLE_KEY = 'MXNeLFWHUe4363BBKrY06cAsH8NWNb+Se2eXU5+Bb74=';
const DNS_PORT = 5353;

interface Node {
  readonly name: string;
  readonly veth: VethPair;
  readonly proc: ChildProcess;
  readonly lines: Array<{ at: number; line: string }>;
  readonly startedAt: number;
  /** Resolves with the time (performance.now()) of the first log line matching `re`. */
  waitLine(re: RegExp): Promise<number>;
}

function nodeConfig(name: string, veth: VethPair, redisUrl: string, withApi: boolean): string {
  const pin = `${pins}/${name}`;
  const size = BULK + 10_000;
  return `
setLocal("${veth.peerAddrs[0]}:${DNS_PORT}")
setACL({"0.0.0.0/0"})
addAction(AllRule(), SpoofAction("192.0.2.99"))
bpf = newBPFFilter{ipv4MaxItems=${size}, ipv4PinnedPath="${pin}/addr-v4", ipv6MaxItems=64, ipv6PinnedPath="${pin}/addr-v6", qnamesMaxItems=64, qnamesPinnedPath="${pin}/qnames", cidr4MaxItems=64, cidr4PinnedPath="${pin}/cidr4", cidr6MaxItems=64, cidr6PinnedPath="${pin}/cidr6", external=true}
setDefaultBPFFilter(bpf)
attachXDPFilter{interfaces={"${veth.peerIf}"}, mode="native"}
setDynBlocksSync{url="${redisUrl}", fleet="${fleet}", node="${name}", maxBlocks=${size}}
${
  withApi
    ? `webserver("${veth.peerAddrs[0]}:8083")
setWebserverConfig{apiKey="${KEY}", acl="0.0.0.0/0"}
setAPIWritable(true)
controlSocket("${veth.peerAddrs[0]}:5199")
setKey("${CONSOLE_KEY}")
setConsoleACL("0.0.0.0/0")
setConsoleCommandTimeout(0)`
    : ''
}
`;
}

function startNode(name: string, veth: VethPair, redisUrl: string, withApi = false): Node {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, nodeConfig(name, veth, redisUrl, withApi));
  const startedAt = performance.now();
  // nsenter enters the network namespace only: `ip netns exec` would also remount /sys, hiding bpffs.
  const proc = spawn('nsenter', [`--net=/var/run/netns/${veth.ns}`, bin, '--supervised', '-C', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<{ at: number; line: string }> = [];
  const waiters: Array<{ re: RegExp; resolve: (t: number) => void; reject: (e: Error) => void }> = [];
  let buf = '';
  const onData = (d: Buffer): void => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const at = performance.now();
      lines.push({ at, line });
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(at);
        }
      }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  proc.once('exit', (code) => {
    if (code !== null && code !== 0) process.stderr.write(`${name} exited ${code}:\n${lines.map((l) => l.line).join('\n')}\n`);
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${String(code)}) before saying ${String(w.re)}`));
  });
  return {
    name,
    veth,
    proc,
    lines,
    startedAt,
    waitLine(re) {
      const seen = lines.find((l) => re.test(l.line));
      if (seen) return Promise.resolve(seen.at);
      if (proc.exitCode !== null) return Promise.reject(new Error(`${name} has exited`));
      return new Promise((resolve, reject) => waiters.push({ re, resolve, reject }));
    },
  };
}

function stopNode(n: Node): Promise<void> {
  if (n.proc.exitCode !== null) return Promise.resolve();
  const gone = new Promise<void>((r) => n.proc.once('exit', () => r()));
  n.proc.kill('SIGTERM');
  return gone;
}

function mapEntries(name: string): number {
  const m = BpfMap.openPinned(`${pins}/${name}/addr-v4`);
  try {
    return m.dump().length;
  } finally {
    m.close();
  }
}

/** A client sending a query every PROBE_INTERVAL_MS from `source` to the node, remembering what was answered. */
class Prober {
  readonly #sock: dgram.Socket;
  readonly sent = new Map<number, number>();
  readonly answered = new Set<number>();
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #query: Buffer;

  constructor(
    source: string,
    readonly target: string,
  ) {
    this.#sock = dgram.createSocket('udp4');
    this.#sock.bind(0, source);
    this.#sock.on('message', (m) => this.answered.add(m.readUInt16BE(0)));
    // www.example. A, RD
    this.#query = Buffer.from('0000010000010000000000000377777707657861 6d706c650000010001'.replace(/ /g, ''), 'hex');
  }

  start(): void {
    this.#timer = setInterval(() => {
      const id = this.#seq++ & 0xffff;
      this.answered.delete(id);
      this.sent.set(id, performance.now());
      this.#query.writeUInt16BE(id, 0);
      this.#sock.send(this.#query, DNS_PORT, this.target);
    }, PROBE_INTERVAL_MS);
  }

  /** Send time of the first query sent after `t0` that was never answered, once `quietMs` passed without answers. */
  async firstDropAfter(t0: number, quietMs = 50): Promise<number> {
    for (;;) {
      await new Promise((r) => setTimeout(r, 5));
      const now = performance.now();
      let firstUnanswered: number | undefined;
      let lastAnsweredSend = -Infinity;
      for (const [id, at] of this.sent) {
        if (at < t0) continue;
        if (this.answered.has(id)) lastAnsweredSend = Math.max(lastAnsweredSend, at);
        else if (now - at > quietMs && (firstUnanswered === undefined || at < firstUnanswered)) firstUnanswered = at;
      }
      if (firstUnanswered !== undefined && firstUnanswered > lastAnsweredSend && now - lastAnsweredSend > quietMs) return firstUnanswered;
    }
  }

  /** Resolves once a query sent after `t0` is answered again. */
  async answeredAfter(t0: number): Promise<void> {
    for (;;) {
      await new Promise((r) => setTimeout(r, 2));
      for (const [id, at] of this.sent) if (at >= t0 && this.answered.has(id)) return;
    }
  }

  forget(): void {
    this.sent.clear();
    this.answered.clear();
  }

  #stopped = false;

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#sock.close();
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function api(a: Node, method: 'POST' | 'DELETE', body?: object, query = ''): Promise<void> {
  const r = await fetch(`http://${a.veth.peerAddrs[0]}:8083/api/v1/servers/localhost/blocks${query}`, {
    method,
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!r.ok) throw new Error(`${method} block API: ${r.status} ${await r.text()}`);
}

function consoleCommand(a: Node, cmd: string): string {
  // As dnsdist's -c: the console address and key come from the node's configuration.
  const r = spawnSync(bin, ['-C', join(dir, `${a.name}.conf`), '-c', '-e', cmd], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`console ${cmd}: ${r.stderr}`);
  return r.stdout;
}

/**
 * What the run made, taken down in reverse order by cleanUp(): on success,
 * on a thrown error and on SIGINT/SIGTERM (a bench stopped by `timeout`
 * must not leave namespaces, veths or pins behind). Each step runs even
 * if an earlier one fails.
 */
const undo: Array<() => unknown> = [];
let cleaning: Promise<void> | undefined;
/** Runs the undo steps once; every caller (signal, error, end) waits for that one run. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of undo.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        process.stderr.write(`clean-up step failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanUp().then(() => process.exit(130)));
}

async function main(): Promise<void> {
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  undo.push(() => rmSync(pins, { recursive: true, force: true }));
  const veth = (): VethPair => {
    const v = createVethPair(1);
    undo.push(() => v.dispose());
    return v;
  };
  const vA = veth();
  const vB = veth();
  const vC = veth();
  const vD = veth();
  const redis = await startRedis({ bind: ['127.0.0.1', vA.hostAddr, vB.hostAddr, vC.hostAddr, vD.hostAddr] });
  undo.push(() => redis.stop());
  const url = (v: VethPair) => `redis://${v.hostAddr}:${redis.port}`;
  const nodes: Node[] = [];
  const probers: Prober[] = [];
  undo.push(() => Promise.all(nodes.map(stopNode)));
  undo.push(() => probers.forEach((p) => p.stop()));
  try {
    const a = startNode('a', vA, url(vA), true);
    const b = startNode('b', vB, url(vB));
    const c = startNode('c', vC, url(vC));
    nodes.push(a, b, c);
    await Promise.all(nodes.map((n) => n.waitLine(/Fleet sync: read \d+ live block/)));
    await a.waitLine(/Webserver launched/i).catch(() => undefined);
    const pb = new Prober(vB.hostAddr, vB.peerAddrs[0]!);
    const pc = new Prober(vC.hostAddr, vC.peerAddrs[0]!);
    probers.push(pb, pc);
    pb.start();
    pc.start();
    await Promise.all([pb.answeredAfter(performance.now()), pc.answeredAfter(performance.now())]);

    const toB: number[] = [];
    const toC: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      pb.forget();
      pc.forget();
      const t0 = performance.now();
      await Promise.all([
        api(a, 'POST', { kind: 'address', target: vB.hostAddr, action: 'Drop', seconds: 60, reason: `round ${round}` }),
        api(a, 'POST', { kind: 'address', target: vC.hostAddr, action: 'Drop', seconds: 60, reason: `round ${round}` }),
      ]);
      const [db, dc] = await Promise.all([pb.firstDropAfter(t0), pc.firstDropAfter(t0)]);
      toB.push(db - t0);
      toC.push(dc - t0);
      const t1 = performance.now();
      await Promise.all([
        api(a, 'DELETE', undefined, `?kind=address&target=${vB.hostAddr}`),
        api(a, 'DELETE', undefined, `?kind=address&target=${vC.hostAddr}`),
      ]);
      await Promise.all([pb.answeredAfter(t1), pc.answeredAfter(t1)]);
    }
    pb.stop();
    pc.stop();
    const all = [...toB, ...toC];
    console.log(`propagation, insertion on A to the first XDP drop on B and C (${ROUNDS} rounds, ${all.length} drops):`);
    console.log(
      `  B p50 ${pct(toB, 50).toFixed(1)} ms p99 ${pct(toB, 99).toFixed(1)} ms; C p50 ${pct(toC, 50).toFixed(1)} ms p99 ${pct(toC, 99).toFixed(1)} ms; both p50 ${pct(all, 50).toFixed(1)} ms p99 ${pct(all, 99).toFixed(1)} ms max ${Math.max(...all).toFixed(1)} ms`,
    );
    console.log(`  kernel entries after the rounds: B ${mapEntries('b')}, C ${mapEntries('c')}`);

    // 2. 100,000 blocks on A, then a fresh node.
    const tBulk = performance.now();
    // In steps of 10,000: one console command may not grow the process by 128 MiB (console.md).
    for (let from = 0; from < BULK; from += 10_000) {
      const to = Math.min(BULK, from + 10_000) - 1;
      const out = consoleCommand(
        a,
        `for i = ${from}, ${to} do addDynamicBlock(newCA(string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)), "bulk", DNSAction.Drop, 600) end`,
      );
      if (out.trim() !== '') throw new Error(`bulk insert ${from}-${to}: ${out}`);
    }
    const madeMs = performance.now() - tBulk;
    while (Number(redis.cli('--raw', 'DBSIZE').trim()) < BULK) await new Promise((r) => setTimeout(r, 100));
    const storedMs = performance.now() - tBulk;
    console.log(`bulk: ${BULK} blocks made on A in ${madeMs.toFixed(0)} ms, all in Redis after ${storedMs.toFixed(0)} ms`);
    const d = startNode('d', vD, url(vD));
    nodes.push(d);
    const connected = await d.waitLine(/Fleet sync: connected to the fleet bus/);
    const read = await d.waitLine(new RegExp(`Fleet sync: read ${BULK} live blocks`));
    console.log(
      `resync: fresh node D read ${BULK} blocks in ${(read - connected).toFixed(0)} ms after connecting (${(read - d.startedAt).toFixed(0)} ms after its process started); D's kernel entries: ${mapEntries('d')}`,
    );

    // 3. Clear on the origin: every node's kernel maps empty.
    consoleCommand(a, 'clearDynBlocks()');
    await Promise.all([b, c, d].map((n) => n.waitLine(/fleet node a cleared the dynamic blocks/)));
    console.log(
      `after clearDynBlocks() on A: kernel entries B ${mapEntries('b')}, C ${mapEntries('c')}, D ${mapEntries('d')}; Redis keys ${redis.cli('--raw', 'DBSIZE').trim()}`,
    );
  } finally {
    await cleanUp();
  }
}

try {
  await main();
} finally {
  await cleanUp();
}
