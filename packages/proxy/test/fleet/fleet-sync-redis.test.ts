/**
 * Fleet-wide dynamic blocks against a real Redis server: several nodes
 * (each its own dynamic-block engine and FleetSync, as one dnsdist-ts
 * process has) in one fleet.
 */
import { once } from 'node:events';
import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/block-scope-guard.js';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/client-block-range.js';
import { DynamicBlocks } from '@dnsdist-ts/dynblocks/dynblocks/dynamic-blocks.js';
import { showDynBlocks } from '@dnsdist-ts/dynblocks/dynblocks/show-dyn-blocks.js';
import { FleetSync } from '@dnsdist-ts/integrations/fleet/fleet-sync.js';
import { fleetSyncOptions, type FleetSyncInput } from '@dnsdist-ts/integrations/fleet/fleet-sync-options.js';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
import { describeRequires } from '../../../../test/support/require.js';
import { uniqueName } from '../../../../test/support/require-bpf.js';
import { startRedis, type RunningRedis } from '../../../../test/support/redis.js';
import { redisCli, redisServer } from '../../../../test/support/requirements.js';

interface Node {
  readonly name: string;
  readonly blocks: DynamicBlocks;
  readonly sync: FleetSync;
  readonly lines: string[];
}

const nodes: Node[] = [];

async function startNode(
  redis: RunningRedis,
  fleet: string,
  name: string,
  extra: Partial<FleetSyncInput> = {},
  waitReady = true,
): Promise<Node> {
  const log = new Logger();
  const lines: string[] = [];
  log.sink = (level, line) => lines.push(`${level}: ${line}`);
  const blocks = new DynamicBlocks(new ProxyCounters(), log);
  const sync = new FleetSync(blocks, new BlockScopeGuard(), log);
  sync.configure(fleetSyncOptions({ url: redis.url, fleet, node: name, ...extra }));
  const ready = once(sync.events, 'resynced');
  sync.start();
  if (waitReady) await ready;
  const node = { name, blocks, sync, lines };
  nodes.push(node);
  return node;
}

function block(
  n: Node,
  target: string,
  seconds = 60,
  action: DNSActionCode = DNSAction.Drop,
  source: 'rules' | 'lua' | 'api' = 'rules',
): void {
  const now = performance.now();
  const spec = { reason: `test block of ${target}`, action, until: now + seconds * 1000, warning: false };
  const opts = { now, seconds, kernelEligible: true, source };
  if (target.endsWith('.')) n.blocks.addOrRefreshSuffixBlock(DNSName.fromString(target), spec, opts);
  else {
    const [addr, prefix] = target.split('/');
    const bytes = parseAddress(addr!).bytes;
    const p = Number(prefix ?? (bytes.length === 4 ? 32 : 128));
    n.blocks.addOrRefreshClientBlock(ClientBlockRange.of(bytes, 0, bytes.length === 4 ? p : 32, bytes.length === 16 ? p : 128), spec, opts);
  }
}

function range(text: string): ClientBlockRange {
  const [addr, prefix] = text.split('/');
  const bytes = parseAddress(addr!).bytes;
  return ClientBlockRange.of(bytes, 0, bytes.length === 4 ? Number(prefix) : 32, bytes.length === 16 ? Number(prefix) : 128);
}

/** Resolves after `count` 'received' events on `n` (the bus delivers in order). */
function received(n: Node, count = 1): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const on = (): void => {
      if (++seen < count) return;
      n.sync.events.off('received', on);
      resolve();
    };
    n.sync.events.on('received', on);
  });
}

function refusals(n: Node, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    const reasons: string[] = [];
    const on = (err: { reason: string }): void => {
      reasons.push(err.reason);
      if (reasons.length < count) return;
      n.sync.events.off('refused', on);
      resolve(reasons);
    };
    n.sync.events.on('refused', on);
  });
}

describeRequires('fleet-wide dynamic blocks over Redis', [redisServer, redisCli], () => {
  let redis: RunningRedis;
  let fleet: string;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(() => {
    fleet = uniqueName('fl');
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.sync.stop()));
  });

  it('a block made on one node appears on the others with its origin, action and time left, and is not published back', async () => {
    const a = await startNode(redis, fleet, 'node-a');
    const b = await startNode(redis, fleet, 'node-b');
    const c = await startNode(redis, fleet, 'node-c');
    const gotB = received(b);
    const gotC = received(c);
    block(a, '192.0.2.1', 60, DNSAction.Refused);
    await Promise.all([gotB, gotC]);
    for (const n of [b, c]) {
      const got = n.blocks.clients.get(range('192.0.2.1/32'))!;
      expect(got).toBeDefined();
      expect(got.origin).toBe('node-a');
      expect(got.action).toBe(DNSAction.Refused);
      expect(got.reason).toBe('test block of 192.0.2.1');
      const left = (got.until - performance.now()) / 1000;
      expect(left).toBeGreaterThan(55);
      expect(left).toBeLessThanOrEqual(60);
      expect(n.sync.stats().published).toBe(0);
      expect(showDynBlocks(n.blocks, performance.now())).toMatch(/192\.0\.2\.1\/32 .* node-a +test block of 192\.0\.2\.1/);
    }
    expect(showDynBlocks(a.blocks, performance.now())).toMatch(/192\.0\.2\.1\/32 .* local +test block/);
    expect(a.sync.stats().published).toBe(1);
    expect(b.sync.stats().remoteBlocks).toBe(1);
    expect(redis.cli('--raw', 'PTTL', `dnsdist-ts:${fleet}:block:net:192.0.2.1/32`).trim()).toMatch(/^[1-6]\d{4}$/);
  });

  it('shares ranges and suffixes, propagates removals and clearDynBlocks(), and never echoes them', async () => {
    const a = await startNode(redis, fleet, 'a');
    const b = await startNode(redis, fleet, 'b');
    const three = received(b, 3);
    block(a, '198.51.100.0/24');
    block(a, '2001:db8::/48', 60, DNSAction.Truncate);
    block(a, 'bad.example.', 60, DNSAction.Nxdomain, 'api');
    await three;
    expect(b.blocks.clients.get(range('198.51.100.0/24'))?.origin).toBe('a');
    expect(b.blocks.clients.get(range('2001:db8::/48'))?.action).toBe(DNSAction.Truncate);
    expect(b.blocks.suffixes.get(DNSName.fromString('bad.example.'))?.action).toBe(DNSAction.Nxdomain);

    const del = received(b);
    a.blocks.removeClientBlock(range('198.51.100.0/24'), 'api');
    await del;
    expect(b.blocks.clients.get(range('198.51.100.0/24'))).toBeUndefined();
    expect(b.blocks.clients.get(range('2001:db8::/48'))).toBeDefined();

    const clear = received(b);
    a.blocks.clear('lua');
    await clear;
    expect(b.blocks.clients.size + b.blocks.suffixes.size).toBe(0);
    expect(redis.cli('--raw', 'KEYS', `dnsdist-ts:${fleet}:*`).trim()).toBe('');
    // b cleared because a asked: b publishes nothing back (a would otherwise get its own clear again).
    expect(a.sync.stats().removalsReceived).toBe(0);
  });

  it('the same block made on two nodes is one block everywhere; a refresh that does not extend it is not sent', async () => {
    const a = await startNode(redis, fleet, 'a');
    const b = await startNode(redis, fleet, 'b');
    const c = await startNode(redis, fleet, 'c');
    const first = Promise.all([received(c), once(a.sync.events, 'published')]);
    block(a, '203.0.113.9', 60);
    await first;
    block(b, '203.0.113.9', 30); // shorter: the engine keeps a's, nothing to publish
    block(a, '203.0.113.9', 60); // within a second of what was sent: not news
    const second = Promise.all([received(c), once(b.sync.events, 'published')]);
    block(b, '203.0.113.9', 120); // longer: news
    await second;
    expect(c.blocks.clients.size).toBe(1);
    const got = c.blocks.clients.get(range('203.0.113.9/32'))!;
    expect(got.origin).toBe('b');
    expect((got.until - performance.now()) / 1000).toBeGreaterThan(110);
    expect(a.sync.stats().published + b.sync.stats().published).toBe(2);
  });

  it('a node that starts later takes the live blocks of the fleet, and none that expired', async () => {
    const a = await startNode(redis, fleet, 'a');
    block(a, '192.0.2.10');
    block(a, '192.0.2.11');
    block(a, 'later.example.', 30);
    await once(a.sync.events, 'published');
    // A block that ends before the new node starts: Redis lets its key go at its end.
    redis.cli(
      'SET',
      `dnsdist-ts:${fleet}:block:net:192.0.2.99/32`,
      JSON.stringify({ v: 1, kind: 'net', key: '192.0.2.99/32', action: 'Drop', reason: 'short', origin: 'a' }),
      'PX',
      '1',
    );
    while (redis.cli('--raw', 'EXISTS', `dnsdist-ts:${fleet}:block:net:192.0.2.99/32`).trim() !== '0')
      await new Promise((r) => setImmediate(r));
    while (Number(redis.cli('--raw', 'EVAL', `return #redis.call('KEYS', ARGV[1])`, '0', `dnsdist-ts:${fleet}:block:*`).trim()) < 3) {
      await once(a.sync.events, 'published');
    }
    const d = await startNode(redis, fleet, 'd');
    expect(d.blocks.clients.get(range('192.0.2.10/32'))?.origin).toBe('a');
    expect(d.blocks.clients.get(range('192.0.2.11/32'))).toBeDefined();
    expect(d.blocks.suffixes.get(DNSName.fromString('later.example.'))).toBeDefined();
    expect(d.blocks.clients.get(range('192.0.2.99/32'))).toBeUndefined();
    expect(d.lines.join('\n')).toMatch(/Fleet sync: read 3 live blocks of the fleet in \d+ ms, 3 new or extended here/);
  });

  it('keeps blocking through a Redis restart, then republishes its own blocks for the nodes that come after', async () => {
    const a = await startNode(redis, fleet, 'a');
    const b = await startNode(redis, fleet, 'b');
    const got = received(b);
    block(a, '192.0.2.50');
    await got;
    const bothBack = Promise.all([once(a.sync.events, 'resynced'), once(b.sync.events, 'resynced')]);
    await redis.restart(); // empty: no persistence
    await bothBack;
    expect(a.blocks.clients.get(range('192.0.2.50/32'))).toBeDefined();
    expect(b.blocks.clients.get(range('192.0.2.50/32'))?.origin).toBe('a');
    expect(a.sync.stats().disconnects).toBeGreaterThan(0);
    // a put its block back into the fleet's keys: a new node takes it.
    while (redis.cli('--raw', 'EXISTS', `dnsdist-ts:${fleet}:block:net:192.0.2.50/32`).trim() !== '1')
      await once(a.sync.events, 'published');
    const c = await startNode(redis, fleet, 'c');
    expect(c.blocks.clients.get(range('192.0.2.50/32'))?.origin).toBe('a');
    // b received it, so b did not republish it: a's is the only publication.
    expect(b.sync.stats().published).toBe(0);
  });

  it('refuses and counts malformed, absurd and too-wide entries from the bus, stored or published', async () => {
    const b = await startNode(redis, fleet, 'b');
    const channel = `dnsdist-ts:${fleet}:events`;
    const five = refusals(b, 7);
    const ev = (o: Record<string, unknown>): string => JSON.stringify({ v: 1, node: 'evil', at: Date.now(), ...o });
    const rec = (o: Record<string, unknown>) => ({
      v: 1,
      kind: 'net',
      key: '192.0.2.7/32',
      action: 'Drop',
      reason: 'x',
      origin: 'evil',
      ...o,
    });
    redis.cli('PUBLISH', channel, 'this is not json');
    // One event, three bad blocks and a good one: each is judged on its own.
    const got = received(b);
    redis.cli(
      'PUBLISH',
      channel,
      ev({
        op: 'add',
        items: [
          { ttl: 60_000, block: rec({ key: '0.0.0.0/0' }) },
          { ttl: 30 * 86400 * 1000, block: rec({}) },
          { ttl: 60_000, block: rec({ action: 'Allow' }) },
          { ttl: 60_000, block: rec({ key: '192.0.2.8/32' }) },
        ],
      }),
    );
    redis.cli('PUBLISH', channel, ev({ op: 'explode' }));
    redis.cli('PUBLISH', channel, ev({ op: 'del', kind: 'net', key: '128.0.0.0/1' }));
    redis.cli('PUBLISH', channel, ev({ op: 'add', items: [] }));
    expect((await five).sort()).toEqual(['action', 'duration', 'malformed', 'malformed', 'malformed', 'scope', 'scope']);
    await got;
    expect([...b.blocks.clients.values()].map((x) => x.keyText())).toEqual(['192.0.2.8/32']);
    b.blocks.clear('fleet');
    // Stored garbage is refused at the next read of the fleet's keys (a new node).
    redis.cli('SET', `dnsdist-ts:${fleet}:block:net:x`, '{"v":1,"kind":"net"', 'PX', '60000');
    redis.cli('SET', `dnsdist-ts:${fleet}:block:net:8.0.0.0/5`, JSON.stringify(rec({ key: '8.0.0.0/5' })), 'PX', '60000');
    const c = await startNode(redis, fleet, 'c');
    expect(c.blocks.clients.size).toBe(0);
    expect(Object.fromEntries(c.sync.stats().refused)).toEqual({ malformed: 1, scope: 1 });
    expect(b.lines.join('\n')).toMatch(/refused a block from the bus \(scope\): the fleet bus: refusing to block 0\.0\.0\.0\/0/);
  });

  it('a clear that arrives while a node reads the fleet’s blocks leaves it with none of them', async () => {
    const a = await startNode(redis, fleet, 'a');
    const n = 20_000;
    const record = (i: number) =>
      JSON.stringify({
        v: 1,
        kind: 'net',
        key: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`,
        action: 'Drop',
        reason: 'bulk',
        origin: 'a',
      });
    redis.cli(
      'EVAL',
      `for i = 0, ${n - 1} do redis.call('SET', ARGV[1] .. i, string.format(ARGV[2], math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256), 'PX', 600000) end`,
      '0',
      `dnsdist-ts:${fleet}:block:net:bulk-`,
      record(0).replace('10.0.0.0', '10.%d.%d.%d'),
    );
    const d = await startNode(redis, fleet, 'd', {}, false);
    // Clear as soon as d is connected: its read of 20,000 blocks is under way or about to be.
    await once(d.sync.events, 'connected');
    a.blocks.clear('lua');
    await received(d);
    while (d.sync.stats().resyncs === 0) await once(d.sync.events, 'resynced');
    await d.sync.idle();
    expect(d.blocks.clients.size).toBe(0);
  });

  it('with actions={"Drop"}, publishes Drop blocks only', async () => {
    const a = await startNode(redis, fleet, 'a', { actions: ['Drop'] });
    const b = await startNode(redis, fleet, 'b');
    const got = Promise.all([received(b), once(a.sync.events, 'published')]);
    block(a, '192.0.2.20', 60, DNSAction.Refused);
    block(a, '192.0.2.21', 60, DNSAction.Drop);
    await got;
    expect([...b.blocks.clients.values()].map((x) => x.keyText())).toEqual(['192.0.2.21/32']);
    expect(a.sync.stats().published).toBe(1);
  });

  it('refuses blocks beyond maxBlocks', async () => {
    const a = await startNode(redis, fleet, 'a');
    const b = await startNode(redis, fleet, 'b', { maxBlocks: 2 });
    const refused = refusals(b, 1);
    block(a, '192.0.2.1');
    block(a, '192.0.2.2');
    block(a, '192.0.2.3');
    expect(await refused).toEqual(['capacity']);
    expect(b.blocks.clients.size).toBe(2);
  });
});

describeRequires('fleet sync and Redis credentials', [redisServer, redisCli], () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis({ password: 'fleet-secret' });
  });
  afterAll(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.sync.stop()));
    await redis?.stop();
  });

  it('says clearly that Redis refused the password, keeps retrying, and works with the right one', async () => {
    const fleet = uniqueName('fa');
    const bad = await startNode(redis, fleet, 'bad', { password: 'wrong' }, false);
    const [text] = (await once(bad.sync.events, 'failed')) as [string];
    expect(text).toContain('refused our credentials');
    // Still refused on the next attempts, and logged once, not once per attempt.
    await once(bad.sync.events, 'failed');
    expect(bad.lines.filter((l) => l.includes('refused our credentials'))).toHaveLength(1);
    expect(bad.sync.stats().connected).toBe(false);
    expect(bad.lines.find((l) => l.includes('refused our credentials'))).toMatch(
      /^error: Fleet sync: Redis at redis:\/\/127\.0\.0\.1:\d+ refused our credentials \(.*WRONGPASS.*\); check user and password in setDynBlocksSync$/,
    );
    const good = await startNode(redis, fleet, 'good', { password: 'fleet-secret' });
    expect(good.sync.stats().connected).toBe(true);
  });
});
