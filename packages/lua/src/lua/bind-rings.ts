import { parseAddress } from '@dnsdist-ts/dns';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import type { Rings } from '@dnsdist-ts/dataplane/rings/index.js';
import { LuaOptions } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';

/** The exceed*() result as Lua sees it: ComboAddress → count. */
function addressTable(result: Map<string, number>): Map<SocketAddress, number> {
  const out = new Map<SocketAddress, number>();
  for (const [addr, count] of result) out.set(new SocketAddress(parseAddress(addr).bytes, 0), count);
  return out;
}

/** Ring buffer settings, the console's top lists and grepq, and the legacy exceed*() functions. */
export function registerRingBindings(env: LuaEnvironment, rings: Rings): void {
  const rt = env.runtime;
  const print = (text: string): void => {
    const t = text.replace(/\n$/, '');
    if (t !== '') rt.print(t);
  };

  rt.registerFunction('setRingBuffersSize', (a) => {
    if (!env.configOnly('setRingBuffersSize')) return;
    rings.setSize(a.integer(0), a.optInteger(1, 10));
  });
  rt.registerFunction('setRingBuffersLockRetries', (a) => {
    if (!env.configOnly('setRingBuffersLockRetries')) return;
    rings.setOptions({ lockRetries: a.integer(0) });
  });
  rt.registerFunction('setRingBuffersOptions', (a) => {
    if (!env.configOnly('setRingBuffersOptions')) return;
    const o = new LuaOptions('setRingBuffersOptions', a.table(0));
    const lockRetries = o.integer('lockRetries');
    const recordQueries = o.boolean('recordQueries');
    const recordResponses = o.boolean('recordResponses');
    o.rejectUnknown();
    rings.setOptions({
      ...(lockRetries !== undefined ? { lockRetries } : {}),
      ...(recordQueries !== undefined ? { recordQueries } : {}),
      ...(recordResponses !== undefined ? { recordResponses } : {}),
    });
  });

  rt.registerFunction('topClients', (a) => print(rings.topClients(a.optInteger(0, 10))));
  rt.registerFunction('topQueries', (a) => print(rings.topQueries(a.optInteger(0, 10), a.optInteger(1))));
  rt.registerFunction('topResponses', (a) => print(rings.topResponses(a.optInteger(0, 10), a.optInteger(1, 0), a.optInteger(2))));
  rt.registerFunction('topSlow', (a) => print(rings.topSlow(a.optInteger(0, 10), a.optInteger(1, 500), a.optInteger(2))));
  rt.registerFunction('topBandwidth', (a) => print(rings.topBandwidth(a.optInteger(0, 10))));
  rt.registerFunction('showResponseLatency', () => print(rings.showResponseLatency()));
  rt.registerFunction('grepq', (a) => print(rings.grepq(a.stringOrStrings(0), a.optInteger(1, 0))));
  rt.registerFunction('getResponseRing', () => rings.getResponseRing());
  rt.registerFunction('getRespRing', (a) => rings.getRespRing(a.optInteger(0)));

  // dnsdist takes the rate as an unsigned integer.
  const rate = (v: number): number => Math.trunc(v);
  rt.registerFunction('exceedQRate', (a) => addressTable(rings.exceedQRate(rate(a.number(0)), a.integer(1))));
  rt.registerFunction('exceedQTypeRate', (a) => addressTable(rings.exceedQTypeRate(a.integer(0), rate(a.number(1)), a.integer(2))));
  rt.registerFunction('exceedServFails', (a) => addressTable(rings.exceedServFails(rate(a.number(0)), a.integer(1))));
  rt.registerFunction('exceedNXDOMAINs', (a) => addressTable(rings.exceedNXDOMAINs(rate(a.number(0)), a.integer(1))));
  rt.registerFunction('exceedRespByterate', (a) => addressTable(rings.exceedRespByterate(rate(a.number(0)), a.integer(1))));
}
