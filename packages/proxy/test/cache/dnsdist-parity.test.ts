/**
 * Parity with Debian's dnsdist 1.7.3: the same backend answers go through
 * dnsdist's packet cache and through ours, and both caches must then hold
 * the same entries with the same lifetimes, and count the same.
 */
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { DnsQueryView } from '@dnsdist-ts/dns';
import { PacketCache, formatPacketCacheStats } from '@dnsdist-ts/dataplane/cache/index.js';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { freePort, runDnsdistClient, startDnsdist, type RunningDnsdist } from '../console/dnsdist-process.js';
import { TC, TestClock, a, soa } from './cache-fixtures.js';

const OPTIONS = { maxTTL: 3000, minTTL: 5, temporaryFailureTTL: 30, maxNegativeTTL: 600, numberOfShards: 1 };
const LUA_OPTIONS = 'maxTTL=3000, minTTL=5, temporaryFailureTTL=30, maxNegativeTTL=600, numberOfShards=1';

interface Scenario {
  name: string;
  type: dnsPacket.RecordType;
  answer: {
    rcode?: number;
    flags?: number;
    answers?: dnsPacket.Answer[];
    authorities?: dnsPacket.Answer[];
    additionals?: dnsPacket.Answer[];
  };
}

const SCENARIOS: Scenario[] = [
  { name: 'capped.example', type: 'A', answer: { answers: [a('capped.example', 5000)] } },
  { name: 'glue.example', type: 'A', answer: { answers: [a('glue.example', 1000)], additionals: [a('ns.glue.example', 77)] } },
  { name: 'nodata.example', type: 'AAAA', answer: { authorities: [soa('example', 7200, 60)] } },
  { name: 'nx.example', type: 'A', answer: { rcode: 3, authorities: [soa('example', 300, 60)] } },
  { name: 'servfail.example', type: 'A', answer: { rcode: 2 } },
  { name: 'refused.example', type: 'MX', answer: { rcode: 5 } },
  { name: 'truncated.example', type: 'A', answer: { flags: TC, answers: [a('truncated.example', 500)] } },
  { name: 'truncated-empty.example', type: 'TXT', answer: { flags: TC } },
  { name: 'short.example', type: 'A', answer: { answers: [a('short.example', 3)] } },
  { name: 'empty.example', type: 'A', answer: {} },
];

/** The backend's answer to a query, whoever forwards it. */
function answer(queryBytes: Buffer): Buffer {
  const q = dnsPacket.decode(queryBytes);
  const question = q.questions![0]!;
  const scenario = SCENARIOS.find((s) => s.name === question.name.toLowerCase());
  const parts = scenario?.answer ?? { answers: [a(question.name, 60)] };
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: ((q.flags ?? 0) & 0x0110) | 0x0080 | (parts.flags ?? 0) | (parts.rcode ?? 0),
    questions: q.questions,
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
    additionals: parts.additionals ?? [],
  });
}

function queryBytes(name: string, type: dnsPacket.RecordType, id: number): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
}

/** Dump lines keyed by "name type": [seconds left, rcode, cache key]. */
function readDump(file: string): Map<string, [number, number, number]> {
  const entries = new Map<string, [number, number, number]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\S+) (-?\d+) (\S+) ; rcode (\d+), key (\d+),/.exec(line);
    if (m) entries.set(`${m[1]} ${m[3]}`, [Number(m[2]), Number(m[4]), Number(m[5])]);
  }
  return entries;
}

/** Queries of several shapes (EDNS, ECS, cookies, DO, other flags) for the key comparison. */
function keyedQueries(firstId: number): Buffer[] {
  const opt = (options: { code: number; data: Buffer }[], flags = 0, udpPayloadSize = 1232): dnsPacket.Answer =>
    ({ type: 'OPT', name: '.', udpPayloadSize, flags, options }) as dnsPacket.Answer;
  const ecs = { code: 8, data: Buffer.from([0, 1, 24, 0, 203, 0, 113]) };
  const cookie = { code: 10, data: Buffer.from('0123456789abcdef', 'hex') };
  const shapes: { name: string; type: dnsPacket.RecordType; flags?: number; additionals?: dnsPacket.Answer[] }[] = [
    { name: 'key-plain.example', type: 'A' },
    { name: 'Key-Mixed-Case.Example', type: 'AAAA' },
    { name: 'key-cd.example', type: 'A', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED },
    { name: 'key-edns.example', type: 'A', additionals: [opt([])] },
    { name: 'key-ecs.example', type: 'A', additionals: [opt([ecs], 0, 512)] },
    { name: 'key-cookie.example', type: 'TXT', additionals: [opt([cookie])] },
    { name: 'key-ecs-cookie-do.example', type: 'A', additionals: [opt([ecs, cookie], dnsPacket.DNSSEC_OK)] },
    { name: `${'long-label-'.repeat(5)}x.key.example`, type: 'MX', additionals: [opt([cookie, ecs])] },
  ];
  return shapes.map((s, i) =>
    dnsPacket.encode({
      type: 'query',
      id: firstId + i,
      flags: s.flags ?? dnsPacket.RECURSION_DESIRED,
      questions: [{ name: s.name, type: s.type, class: 'IN' }],
      additionals: s.additionals ?? [],
    }),
  );
}

describeDnsdist('packet cache parity with dnsdist', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  let dir: string;
  let backend: dgram.Socket;
  let client: dgram.Socket;
  let dnsdist: RunningDnsdist | undefined;
  let dnsPort: number;
  let clientConfig: string;
  const pending = new Map<number, (response: Buffer) => void>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dts-cache-parity-'));
    backend = dgram.createSocket('udp4');
    backend.on('message', (msg, from) => backend.send(answer(msg), from.port, from.address));
    await new Promise<void>((resolve) => backend.bind(0, '127.0.0.1', resolve));
    client = dgram.createSocket('udp4');
    client.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      pending.get(id)?.(msg);
      pending.delete(id);
    });
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));

    dnsPort = await freePort();
    const consolePort = await freePort();
    clientConfig = `controlSocket("127.0.0.1:${consolePort}")\nsetKey("${key}")\n`;
    dnsdist = await startDnsdist(
      [
        `setLocal("127.0.0.1:${dnsPort}")`,
        `controlSocket("127.0.0.1:${consolePort}")`,
        `setKey("${key}")`,
        'setSecurityPollSuffix("")',
        // Forced up: no health check decides whether queries flow.
        `newServer{address="127.0.0.1:${backend.address().port}"}:setUp()`,
        `pc = newPacketCache(1000, {${LUA_OPTIONS}})`,
        'getPool(""):setCache(pc)',
      ].join('\n'),
      consolePort,
    );
  });

  afterAll(async () => {
    await dnsdist?.stop();
    client?.close();
    backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function ask(bytes: Buffer, timeoutMs = 5000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const id = bytes.readUInt16BE(0);
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`dnsdist did not answer query ${id} within ${timeoutMs} ms; its output:\n${dnsdist?.output()}`));
      }, timeoutMs);
      pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      client.send(bytes, dnsPort, '127.0.0.1');
    });
  }

  /**
   * dnsdist may open its console before its UDP frontend is bound or
   * served: the first answered query is the readiness event. Retried a
   * bounded number of times, each with a short timeout.
   */
  async function waitForAnswers(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await ask(queryBytes('ready.example', 'A', 0xff00 + attempt), 200);
        return;
      } catch (e) {
        if (attempt >= 75) throw e;
      }
    }
  }

  type Stats = Record<'entries' | 'hits' | 'misses' | 'lookupCollisions' | 'insertCollisions' | 'ttlTooShorts', number>;
  async function theirStats(): Promise<Stats> {
    return JSON.parse(await console('pc:getStats()')) as Stats;
  }

  async function console(command: string): Promise<string> {
    const r = await runDnsdistClient(clientConfig, command);
    if (r.code !== 0) throw new Error(`dnsdist -c -e '${command}' failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  it('stores the same answers for the same time, and counts the same', async () => {
    const clock = new TestClock();
    const ours = new PacketCache(1000, OPTIONS, clock.now);
    const view = new DnsQueryView();
    const addr = new SocketAddress(Uint8Array.of(127, 0, 0, 1), 5300);
    await waitForAnswers();
    expect(await console('pc:expungeByName("ready.example")')).toBe('Expunged 1 records\n');
    const before = await theirStats();

    let id = 1;
    for (const s of SCENARIOS) {
      const bytes = queryBytes(s.name, s.type, id++);
      await ask(bytes);
      view.parse(bytes, bytes.length);
      const dq = new DNSQuestion(bytes, bytes.length, view, addr, addr, 'udp', 0);
      const cacheKey = ours.computeKey(dq);
      if (!ours.lookup(dq, cacheKey)) ours.insert(dq, cacheKey, answer(bytes));
    }
    // A second round in a different case: hits wherever an entry exists.
    for (const s of SCENARIOS) {
      const bytes = queryBytes(s.name.toUpperCase(), s.type, id++);
      await ask(bytes);
      view.parse(bytes, bytes.length);
      const dq = new DNSQuestion(bytes, bytes.length, view, addr, addr, 'udp', 0);
      const cacheKey = ours.computeKey(dq);
      if (!ours.lookup(dq, cacheKey)) ours.insert(dq, cacheKey, answer(bytes));
    }

    const theirsFile = join(dir, 'theirs.dump');
    const oursFile = join(dir, 'ours.dump');
    expect(await console(`pc:dump("${theirsFile}")`)).toMatch(/^Dumped \d+ records\n$/);
    expect(ours.dump(oursFile)).toMatch(/^Dumped \d+ records\n$/);
    const theirs = readDump(theirsFile);
    const mine = readDump(oursFile);
    expect([...mine.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [entry, [left, rcode]] of theirs) {
      const [myLeft, myRcode] = mine.get(entry)!;
      expect(myRcode).toBe(rcode);
      // dnsdist's entries aged by the seconds the test took; ours did not age.
      expect(myLeft - left).toBeGreaterThanOrEqual(0);
      expect(myLeft - left).toBeLessThanOrEqual(3);
    }
    // The readiness queries were counted before we started: compare what the scenarios added.
    const mine2 = ours.getStats();
    expect(await console('pc:printStats()')).toBe(
      formatPacketCacheStats({
        ...mine2,
        hits: before.hits + mine2.hits,
        misses: before.misses + mine2.misses,
        lookupCollisions: before.lookupCollisions + mine2.lookupCollisions,
        insertCollisions: before.insertCollisions + mine2.insertCollisions,
        ttlTooShorts: before.ttlTooShorts + mine2.ttlTooShorts,
      }),
    );
  });

  it('keys entries with the same values as dnsdist (its dump prints them)', async () => {
    const ours = new PacketCache(1000, OPTIONS);
    const view = new DnsQueryView();
    const addr = new SocketAddress(Uint8Array.of(127, 0, 0, 1), 5300);
    await waitForAnswers();
    for (const bytes of keyedQueries(0x4000)) {
      await ask(bytes);
      view.parse(bytes, bytes.length);
      const dq = new DNSQuestion(bytes, bytes.length, view, addr, addr, 'udp', 0);
      ours.insert(dq, ours.computeKey(dq), answer(bytes));
    }
    const theirsFile = join(dir, 'theirs-keys.dump');
    const oursFile = join(dir, 'ours-keys.dump');
    await console(`pc:dump("${theirsFile}")`);
    ours.dump(oursFile);
    const theirs = readDump(theirsFile);
    const mine = readDump(oursFile);
    expect(mine.size).toBe(keyedQueries(0).length);
    for (const [entry, [, , key]] of mine) expect([entry, key]).toEqual([entry, theirs.get(entry)?.[2]]);
  });
});
