import { DownstreamServer } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { LuaRuntime } from './lua-runtime.js';
import { LuaTable } from './lua-table.js';

/**
 * How a console command's returned value is shown: strings as they are,
 * numbers as Lua prints them, a backend as its name, an address with its
 * port, a string→number table as JSON (what dnsdist does for those), and
 * other objects through their toString. nil shows nothing.
 */
export function formatConsoleResult(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return LuaRuntime.formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof DownstreamServer) return v.name;
  if (v instanceof SocketAddress) return v.toStringWithPort();
  if (v instanceof LuaTable) {
    const obj: Record<string, unknown> = {};
    for (const [k, val] of v.entries) {
      if (typeof val === 'object' && val !== null) return 'table';
      obj[String(k)] = val;
    }
    return JSON.stringify(obj);
  }
  const s = String(v);
  return s === '[object Object]' ? undefined : s;
}
