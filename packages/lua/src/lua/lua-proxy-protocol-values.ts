import type { ProxyProtocolValue } from '@dnsdist-ts/dns';
import { bytesOfLuaString } from './lua-bytes.js';
import type { LuaTable } from './lua-table.js';

/**
 * `{[type]=value, …}` as TLVs, by type. Keys may be numbers or numeric
 * strings (dnsdist's own tests write `["1"]="dnsdist"`).
 * @throws Error naming the bad key or value.
 */
export function proxyProtocolValuesFromTable(fn: string, table: LuaTable): ProxyProtocolValue[] {
  const values: ProxyProtocolValue[] = [];
  for (const [k, v] of table.entries) {
    const type = typeof k === 'number' ? k : typeof k === 'string' && /^\d+$/.test(k) ? Number(k) : NaN;
    if (!Number.isInteger(type) || type < 0 || type > 255) {
      throw new Error(`${fn}: the type of a proxy protocol value must be a number from 0 to 255, got '${String(k)}'`);
    }
    const value = bytesOfLuaString(v);
    if (value === undefined) throw new Error(`${fn}: the value of proxy protocol type ${type} must be a string`);
    values.push({ type, value });
  }
  return values.sort((a, b) => a.type - b.type);
}
