/**
 * CrowdSec blocks and a fleet (setDynBlocksSync): not published unless the
 * operator shares the "crowdsec" source, and then relayed with the
 * publishing node as origin. Real Redis, real fleet sync; the bouncer's
 * insertion is made as the bouncer makes it (source "crowdsec").
 */
import { once } from 'node:events';
import { parseAddress } from '@dnsdist-ts/dns';
import { BlockScopeGuard } from '@dnsdist-ts/dynblocks/dynblocks/block-scope-guard.js';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/client-block-range.js';
import { DynamicBlocks } from '@dnsdist-ts/dynblocks/dynblocks/dynamic-blocks.js';
import type { BlockSource } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block-observer.js';
import { FleetSync } from '@dnsdist-ts/integrations/fleet/fleet-sync.js';
import { fleetSyncOptions, type FleetSyncInput } from '@dnsdist-ts/integrations/fleet/fleet-sync-options.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { Logger } from '@dnsdist-ts/dataplane/server/logger.js';
import { ProxyCounters } from '@dnsdist-ts/dataplane/stats/proxy-counters.js';
import { describeRequires } from '../../../../test/support/require.js';
import { uniqueName } from '../../../../test/support/require-bpf.js';
import { startRedis, type RunningRedis } from '../../../../test/support/redis.js';
import { redisCli, redisServer } from '../../../../test/support/requirements.js';

const syncs: FleetSync[] = [];

async function node(redis: RunningRedis, fleet: string, name: string, extra: Partial<FleetSyncInput> = {}) {
  const log = new Logger();
  log.sink = () => undefined;
  const blocks = new DynamicBlocks(new ProxyCounters(), log);
  const sync = new FleetSync(blocks, new BlockScopeGuard(), log);
  sync.configure(fleetSyncOptions({ url: redis.url, fleet, node: name, ...extra }));
  const ready = once(sync.events, 'resynced');
  sync.start();
  await ready;
  syncs.push(sync);
  return { blocks, sync };
}

const range = (a: string) => ClientBlockRange.of(parseAddress(a).bytes, 0, 32, 128);

function insert(blocks: DynamicBlocks, address: string, source: BlockSource, origin?: string): void {
  const now = performance.now();
  blocks.addOrRefreshClientBlock(
    range(address),
    { reason: `${source} block`, action: DNSAction.Drop, until: now + 60_000, warning: false, origin },
    { now, seconds: 60, kernelEligible: true, source, quiet: true },
  );
}

describeRequires('CrowdSec blocks and a fleet', [redisServer, redisCli], () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(syncs.splice(0).map((s) => s.stop()));
    await redis?.stop();
  });

  it('are not published (nor their removals) by default; with share including "crowdsec" they reach the other nodes', async () => {
    const fleet = uniqueName('cf');
    const a = await node(redis, fleet, 'a');
    const b = await node(redis, fleet, 'b');
    insert(a.blocks, '192.0.2.1', 'crowdsec', 'crowdsec');
    insert(a.blocks, '192.0.2.2', 'lua');
    await once(b.sync.events, 'received'); // the bus keeps order: the crowdsec block would have come first
    expect(b.blocks.clients.get(range('192.0.2.1'))).toBeUndefined();
    expect(b.blocks.clients.get(range('192.0.2.2'))).toBeDefined();

    // Each node's bouncer follows the deletions itself: one taken out on A is not taken out on B by A.
    insert(b.blocks, '192.0.2.5', 'crowdsec', 'crowdsec');
    insert(a.blocks, '192.0.2.5', 'crowdsec', 'crowdsec');
    a.blocks.removeClientBlock(range('192.0.2.5'), 'crowdsec');
    const next = once(b.sync.events, 'received');
    insert(a.blocks, '192.0.2.6', 'lua');
    await next;
    expect(b.blocks.clients.get(range('192.0.2.5'))).toBeDefined();

    const c = await node(redis, fleet, 'c', { share: ['rules', 'lua', 'api', 'crowdsec'] });
    const got = once(b.sync.events, 'received');
    insert(c.blocks, '192.0.2.3', 'crowdsec', 'crowdsec');
    await got;
    expect(b.blocks.clients.get(range('192.0.2.3'))).toMatchObject({ origin: 'c', reason: 'crowdsec block' });
  });
});
