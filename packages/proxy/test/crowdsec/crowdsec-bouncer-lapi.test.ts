/**
 * The CrowdSec bouncer against a real Local API (Debian's crowdsec, run by
 * the test with a configuration of its own): decisions added and deleted
 * with cscli become and stop being dynamic blocks, the full list is taken
 * at start-up and after an outage, and bad input is refused and counted.
 */
import { once } from 'node:events';
import { parseAddress } from '@dnsdist-ts/dns';
import { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/block-scope-guard.js';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/client-block-range.js';
import { DynamicBlocks } from '@dnsdist-ts/dynblocks/dynblocks/dynamic-blocks.js';
import { showDynBlocks } from '@dnsdist-ts/dynblocks/dynblocks/show-dyn-blocks.js';
import { CrowdSecBouncer } from '@dnsdist-ts/integrations/crowdsec/crowdsec-bouncer.js';
import { crowdSecBouncerOptions, type CrowdSecBouncerInput } from '@dnsdist-ts/integrations/crowdsec/crowdsec-bouncer-options.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
import { describeRequires } from '../../../../test/support/require.js';
import { uniqueName } from '../../../../test/support/require-bpf.js';
import { startCrowdSec, type RunningCrowdSec } from '../../../../test/support/crowdsec.js';
import { crowdsec, cscli } from '../../../../test/support/requirements.js';

interface Node {
  readonly blocks: DynamicBlocks;
  readonly bouncer: CrowdSecBouncer;
  readonly lines: string[];
}

const nodes: Node[] = [];

function node(lapi: RunningCrowdSec, extra: Partial<CrowdSecBouncerInput> = {}): Node {
  const log = new Logger();
  const lines: string[] = [];
  log.sink = (level, line) => lines.push(`${level}: ${line}`);
  const blocks = new DynamicBlocks(new ProxyCounters(), log);
  const bouncer = new CrowdSecBouncer(blocks, new BlockScopeGuard(), log);
  bouncer.configure(crowdSecBouncerOptions({ url: lapi.url, apiKey: lapi.addBouncer(uniqueName('b')), interval: 3600, ...extra }));
  const n = { blocks, bouncer, lines };
  nodes.push(n);
  return n;
}

function range(text: string): ClientBlockRange {
  const [addr, prefix] = text.split('/');
  const bytes = parseAddress(addr!).bytes;
  return ClientBlockRange.of(bytes, 0, bytes.length === 4 ? Number(prefix) : 32, bytes.length === 16 ? Number(prefix) : 128);
}

describeRequires('the CrowdSec bouncer against a real Local API', [crowdsec, cscli], () => {
  let lapi: RunningCrowdSec;

  beforeAll(async () => {
    lapi = await startCrowdSec();
  }, 60_000);
  afterAll(async () => {
    await lapi?.stop();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.bouncer.stop()));
    lapi.cli('decisions', 'delete', '--all');
  });

  it('takes the decisions that exist at start-up, with their durations and the bouncer as origin', async () => {
    lapi.cli('decisions', 'add', '--ip', '192.0.2.10', '--duration', '1h', '--reason', 'ssh brute force');
    lapi.cli('decisions', 'add', '--range', '198.51.100.0/24', '--duration', '30m', '--type', 'captcha');
    lapi.cli('decisions', 'add', '--ip', '2001:db8::10', '--duration', '2h');
    const n = node(lapi);
    await n.bouncer.pollNow();
    const ip = n.blocks.clients.get(range('192.0.2.10/32'))!;
    expect(ip).toBeDefined();
    expect(ip.action).toBe(DNSAction.Drop);
    expect(ip.origin).toBe('crowdsec');
    expect(ip.source).toBe('crowdsec');
    const left = (ip.until - performance.now()) / 1000;
    expect(left).toBeGreaterThan(3500);
    expect(left).toBeLessThanOrEqual(3600);
    // captcha: TC=1, a real resolver comes back over TCP.
    expect(n.blocks.clients.get(range('198.51.100.0/24'))!.action).toBe(DNSAction.Truncate);
    expect(n.blocks.clients.get(range('2001:db8::10/128'))).toBeDefined();
    expect(showDynBlocks(n.blocks, performance.now())).toMatch(/^192\.0\.2\.10\/32 .* crowdsec +ssh brute force \(cscli\)$/m);
    const s = n.bouncer.stats();
    expect(s).toMatchObject({ connected: true, applied: 3, active: 3, removed: 0 });
    expect(s.lastPoll).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('applies new decisions from the stream and takes a block out when its decision is deleted', async () => {
    const n = node(lapi);
    await n.bouncer.pollNow();
    expect(n.blocks.clients.size).toBe(0);
    lapi.cli('decisions', 'add', '--ip', '192.0.2.20', '--duration', '10m');
    await n.bouncer.pollNow();
    expect(n.blocks.clients.get(range('192.0.2.20/32'))).toBeDefined();
    lapi.cli('decisions', 'delete', '--ip', '192.0.2.20');
    await n.bouncer.pollNow();
    expect(n.blocks.clients.get(range('192.0.2.20/32'))).toBeUndefined();
    expect(n.bouncer.stats()).toMatchObject({ applied: 1, removed: 1, active: 0 });
  });

  it('a deleted decision leaves a local block on the same address alone', async () => {
    const n = node(lapi);
    await n.bouncer.pollNow();
    lapi.cli('decisions', 'add', '--ip', '192.0.2.21', '--duration', '1m');
    await n.bouncer.pollNow();
    const now = performance.now();
    n.blocks.addOrRefreshClientBlock(
      range('192.0.2.21/32'),
      { reason: 'local rule', action: DNSAction.Drop, until: now + 3_600_000, warning: false },
      { now, seconds: 3600, kernelEligible: true, source: 'rules' },
    );
    lapi.cli('decisions', 'delete', '--ip', '192.0.2.21');
    await n.bouncer.pollNow();
    expect(n.blocks.clients.get(range('192.0.2.21/32'))?.reason).toBe('local rule');
  });

  it('refuses and counts a range wider than setDynBlocksRangeLimits allows, an unmapped type and a too long duration', async () => {
    lapi.cli('decisions', 'add', '--range', '10.0.0.0/7', '--duration', '1h');
    lapi.cli('decisions', 'add', '--ip', '192.0.2.30', '--duration', '1h', '--type', 'throttle');
    lapi.cli('decisions', 'add', '--ip', '192.0.2.31', '--duration', '200h');
    lapi.cli('decisions', 'add', '--ip', '192.0.2.32', '--duration', '1h');
    const n = node(lapi);
    await n.bouncer.pollNow();
    expect(n.blocks.clients.size).toBe(1);
    expect(n.blocks.clients.get(range('192.0.2.32/32'))).toBeDefined();
    expect(n.bouncer.stats().refused).toEqual(
      new Map([
        ['range', 1],
        ['type', 1],
        ['duration', 1],
      ]),
    );
    expect(n.lines.join('\n')).toMatch(/refused a decision \(range\): .*10\.0\.0\.0\/7.*setDynBlocksRangeLimits/);
  });

  it('holds maxDecisions addresses at most', async () => {
    for (const a of ['192.0.2.40', '192.0.2.41', '192.0.2.42']) lapi.cli('decisions', 'add', '--ip', a, '--duration', '1h');
    const n = node(lapi, { maxDecisions: 2 });
    await n.bouncer.pollNow();
    expect(n.blocks.clients.size).toBe(2);
    expect(n.bouncer.stats().refused.get('capacity')).toBe(1);
  });

  it('a wrong API key gives a clear error, logged once, and blocks nothing', async () => {
    lapi.cli('decisions', 'add', '--ip', '192.0.2.50', '--duration', '1h');
    const n = node(lapi, { apiKey: 'not-a-key' });
    await n.bouncer.pollNow();
    await n.bouncer.pollNow();
    const s = n.bouncer.stats();
    expect(s).toMatchObject({ connected: false, pollFailures: 2, applied: 0 });
    expect(s.lastError).toMatch(/refused the API key \(HTTP 403.*check apiKey in setCrowdSecBouncer/);
    expect(n.lines.filter((l) => l.includes('refused the API key'))).toHaveLength(1);
    expect(n.blocks.clients.size).toBe(0);
  });

  it('an outage of the Local API keeps the blocks; on its return the full list is read again and what was deleted meanwhile goes', async () => {
    lapi.cli('decisions', 'add', '--ip', '192.0.2.60', '--duration', '1h');
    lapi.cli('decisions', 'add', '--ip', '192.0.2.61', '--duration', '1h');
    const n = node(lapi);
    await n.bouncer.pollNow();
    expect(n.blocks.clients.size).toBe(2);
    await lapi.kill();
    try {
      await n.bouncer.pollNow();
      await n.bouncer.pollNow();
      expect(n.bouncer.stats()).toMatchObject({ connected: false, pollFailures: 2 });
      expect(n.bouncer.stats().lastError).toMatch(/cannot reach the Local API at http:\/\/127\.0\.0\.1:\d+\/ \(.*ECONNREFUSED/);
      expect(n.lines.filter((l) => l.includes('cannot reach the Local API'))).toHaveLength(1);
      expect(n.blocks.clients.size).toBe(2);
    } finally {
      await lapi.restart();
    }
    // While the bouncer could not see it: one decision deleted, one added.
    lapi.cli('decisions', 'delete', '--ip', '192.0.2.60');
    lapi.cli('decisions', 'add', '--ip', '192.0.2.62', '--duration', '1h');
    await n.bouncer.pollNow();
    expect(n.bouncer.stats().connected).toBe(true);
    expect(n.blocks.clients.get(range('192.0.2.60/32'))).toBeUndefined();
    expect(n.blocks.clients.get(range('192.0.2.61/32'))).toBeDefined();
    expect(n.blocks.clients.get(range('192.0.2.62/32'))).toBeDefined();
    expect(n.lines.join('\n')).toMatch(/connected to the Local API/);
  });

  it('running on its own, it retries a Local API that is down with backoff and takes the full list when it is back', async () => {
    lapi.cli('decisions', 'add', '--ip', '192.0.2.70', '--duration', '1h');
    const n = node(lapi);
    await lapi.kill();
    let failures = 0;
    const twice = new Promise<void>((resolve) => n.bouncer.events.on('failed', () => ++failures === 2 && resolve()));
    try {
      n.bouncer.start();
      await twice; // the first poll at once, the second after the first backoff
    } finally {
      await lapi.restart();
    }
    await once(n.bouncer.events, 'polled');
    expect(n.blocks.clients.get(range('192.0.2.70/32'))).toBeDefined();
    expect(n.lines.filter((l) => l.includes('cannot reach the Local API'))).toHaveLength(1);
    expect(n.lines.filter((l) => l.includes('connected to the Local API'))).toHaveLength(1);
  });
});
