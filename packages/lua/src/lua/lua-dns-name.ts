import { DNSName } from '@dnsdist-ts/dns';

/**
 * dnsdist's DNSName as Lua sees it: `chopOff()` shortens the object in
 * place and returns whether it could, unlike the immutable TS DNSName it
 * holds.
 */
export class LuaDNSName {
  name: DNSName;
  constructor(name: DNSName) {
    this.name = name;
  }
  toString(): string {
    return this.name.toString();
  }
}

/** Accept a DNSName value or a string where dnsdist accepts either. */
export function dnsNameOf(v: unknown, fn: string): DNSName {
  if (v instanceof LuaDNSName) return v.name;
  if (v instanceof DNSName) return v;
  if (typeof v === 'string') return DNSName.fromString(v);
  throw new Error(`${fn}: expected a DNS name (string or newDNSName()), got ${v === undefined ? 'nil' : typeof v}`);
}
