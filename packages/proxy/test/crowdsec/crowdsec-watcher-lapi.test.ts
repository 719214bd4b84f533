/**
 * dnsdist-ts as a CrowdSec source against a real Local API: a block made
 * here by a shared source becomes an alert with a decision there (which
 * every bouncer reads from the stream); blocks of other sources are not sent; a wrong password
 * gives a clear error and the alerts wait for the next attempt.
 */
import { parseAddress } from '@dnsdist-ts/dns';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/client-block-range.js';
import { DynamicBlocks } from '@dnsdist-ts/dynblocks/dynblocks/dynamic-blocks.js';
import type { BlockSource } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block-observer.js';
import { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/block-scope-guard.js';
import { CrowdSecBouncer } from '@dnsdist-ts/integrations/crowdsec/crowdsec-bouncer.js';
import { crowdSecBouncerOptions } from '@dnsdist-ts/integrations/crowdsec/crowdsec-bouncer-options.js';
import { CrowdSecWatcher, crowdSecWatcherOptions, type CrowdSecWatcherInput } from '@dnsdist-ts/integrations/crowdsec/crowdsec-watcher.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
import { describeRequires } from '../../../../test/support/require.js';
import { uniqueName } from '../../../../test/support/require-bpf.js';
import { startCrowdSec, type RunningCrowdSec } from '../../../../test/support/crowdsec.js';
import { crowdsec, cscli } from '../../../../test/support/requirements.js';

interface Decision {
  value: string;
  scope: string;
  type: string;
  duration: string;
  origin: string;
  scenario: string;
}

describeRequires('dnsdist-ts blocks sent to a real CrowdSec Local API', [crowdsec, cscli], () => {
  let lapi: RunningCrowdSec;
  const watchers: CrowdSecWatcher[] = [];

  beforeAll(async () => {
    lapi = await startCrowdSec();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(watchers.map((w) => w.stop()));
    await lapi?.stop();
  });

  function watcher(extra: Partial<CrowdSecWatcherInput> = {}) {
    const name = uniqueName('w');
    lapi.addMachine(name, 'pw-0123456789abcdef');
    const log = new Logger();
    const lines: string[] = [];
    log.sink = (level, line) => lines.push(`${level}: ${line}`);
    const blocks = new DynamicBlocks(new ProxyCounters(), log);
    const w = new CrowdSecWatcher(blocks, log);
    w.configure(crowdSecWatcherOptions({ url: lapi.url, machineId: name, password: 'pw-0123456789abcdef', ...extra }));
    watchers.push(w);
    return { blocks, w, lines };
  }

  function block(blocks: DynamicBlocks, address: string, prefix: number, source: BlockSource): void {
    const now = performance.now();
    blocks.addOrRefreshClientBlock(
      ClientBlockRange.of(parseAddress(address).bytes, 0, prefix, 128),
      { reason: 'Exceeded query rate', action: DNSAction.Drop, until: now + 120_000, warning: false },
      { now, seconds: 120, kernelEligible: true, source, quiet: true },
    );
  }

  /** The live decisions as any bouncer reads them (the stream's full list). */
  async function decisions(): Promise<Decision[]> {
    const key = lapi.addBouncer(uniqueName('r'));
    const res = await fetch(new URL('v1/decisions/stream?startup=true&scopes=ip,range', lapi.url), { headers: { 'X-Api-Key': key } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { new: Decision[] | null }).new ?? [];
  }

  it('a rules group’s block becomes a ban decision for its time left; console and fleet blocks are not sent', async () => {
    const { blocks, w } = watcher();
    block(blocks, '192.0.2.80', 32, 'rules');
    block(blocks, '198.51.100.0', 24, 'rules');
    block(blocks, '192.0.2.81', 32, 'lua');
    block(blocks, '192.0.2.82', 32, 'fleet');
    await w.flush();
    expect(w.stats()).toMatchObject({ sent: 2, queued: 0 });
    const got = await decisions();
    const ip = got.find((d) => d.value === '192.0.2.80')!;
    expect(ip).toMatchObject({ scope: 'Ip', type: 'ban', origin: 'dnsdist-ts', scenario: 'Exceeded query rate' });
    expect(ip.duration).toMatch(/^1m\d+(\.\d+)?s$/);
    expect(got.find((d) => d.value === '198.51.100.0/24')).toMatchObject({ scope: 'Range' });
    expect(got.map((d) => d.value)).not.toContain('192.0.2.81');
    expect(got.map((d) => d.value)).not.toContain('192.0.2.82');
  });

  it('a wrong password is said clearly, once, and the alert waits for the next attempt', async () => {
    const { blocks, w, lines } = watcher({ password: 'wrong-password-0000' });
    block(blocks, '192.0.2.90', 32, 'rules');
    await w.flush();
    await w.flush();
    expect(w.stats()).toMatchObject({ sent: 0, queued: 1 });
    expect(w.stats().lastError).toMatch(
      /refused the watcher login of "w\w+" \(HTTP 401.*check machineId and password in setCrowdSecWatcher/,
    );
    expect(lines.filter((l) => l.includes('refused the watcher login'))).toHaveLength(1);
    expect((await decisions()).map((d) => d.value)).not.toContain('192.0.2.90');
  });

  it('a node both watcher and bouncer reads its own decision back without changing its block', async () => {
    const { blocks, w } = watcher();
    const log = new Logger();
    log.sink = () => undefined;
    const bouncer = new CrowdSecBouncer(blocks, new BlockScopeGuard(), log);
    bouncer.configure(crowdSecBouncerOptions({ url: lapi.url, apiKey: lapi.addBouncer(uniqueName('wb')), interval: 3600 }));
    block(blocks, '192.0.2.95', 32, 'rules');
    const before = blocks.clients.get(ClientBlockRange.of(parseAddress('192.0.2.95').bytes, 0, 32, 128))!;
    const until = before.until;
    await w.flush();
    await bouncer.pollNow();
    expect(bouncer.stats().active).toBeGreaterThanOrEqual(1);
    expect(before).toMatchObject({ source: 'rules', origin: undefined, until });
    expect(w.stats().sent).toBe(1);
    await bouncer.stop();
  });
});
