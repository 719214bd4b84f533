import { formatExpungedRecords, PacketCache } from '@dnsdist-ts/dataplane/cache/index.js';
import type { LuaEnvironment } from './lua-environment.js';
import { dnsNameOf } from './lua-dns-name.js';
import { LuaTable } from './lua-table.js';

/** newPacketCache and the PacketCache methods; pools attach caches through getPool(n):setCache(pc). */
export function registerCacheBindings(env: LuaEnvironment): void {
  const rt = env.runtime;
  const settings = env.proxy.settings;

  rt.defineClass<PacketCache>(PacketCache, 'PacketCache', {
    toString: (pc: PacketCache) => pc.toString(),
    isFull: (pc) => pc.isFull(),
    // With data-plane workers, pc.replicas carries the change to every worker's copy (workers/worker-caches.ts).
    purgeExpired: (pc, a) => {
      (pc.replicas ?? pc).purgeExpired(a.optInteger(0, 0));
    },
    expunge: (pc, a) => {
      (pc.replicas ?? pc).expunge(a.optInteger(0, 0));
    },
    expungeByName: (pc, a) => {
      const name = dnsNameOf(a.raw(0), 'PacketCache:expungeByName');
      const n = (pc.replicas ?? pc).expungeByName(name, a.optInteger(1, 255), a.optBoolean(2, false));
      rt.print(formatExpungedRecords(n).replace(/\n$/, ''));
    },
    printStats: (pc) => {
      rt.print(pc.printStats().replace(/\n$/, ''));
    },
    getStats: (pc) => new Map(Object.entries(pc.getStats())),
    getEntriesCount: (pc) => pc.getEntriesCount(),
    dump: (pc, a) => {
      rt.print((pc.replicas ?? pc).dump(a.string(0)).replace(/\n$/, ''));
    },
  });

  rt.registerFunction('newPacketCache', (a) => {
    const options = a.optTable(1);
    const plain: Record<string, unknown> = {};
    if (options instanceof LuaTable) {
      for (const [k, v] of options.entries) {
        plain[String(k)] = v instanceof LuaTable ? v.array() : v;
      }
    }
    const pc = new PacketCache(a.integer(0), plain);
    if (pc.creationNotice) env.warn(pc.creationNotice);
    for (const w of pc.settings.ignoredKeyWarnings) env.warn(w);
    return pc;
  });
  rt.registerFunction('setStaleCacheEntriesTTL', (a) => {
    settings.staleCacheEntriesTTL = a.integer(0);
  });
  rt.registerFunction('setCacheCleaningDelay', (a) => {
    settings.cacheCleaningDelaySeconds = a.integer(0);
  });
  rt.registerFunction('setCacheCleaningPercentage', (a) => {
    const p = a.integer(0);
    if (p < 0 || p > 100) env.fail(`setCacheCleaningPercentage: the percentage must be between 0 and 100, got ${p}`);
    settings.cacheCleaningPercentage = p;
  });
}
