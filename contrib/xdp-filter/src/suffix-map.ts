import { BpfMap } from '@dnsdist-ts/bpf';
import { DNSName } from '@dnsdist-ts/dns';
import { suffixKey } from './suffix-key.js';

/** Bytes of a suffix map value: counter, action, padding, then the wire name (256 B). */
export const SUFFIX_VALUE_BYTES = 272;

export interface SuffixEntry {
  name: string;
  action: number;
  counter: bigint;
}

/**
 * The xdp-filter's suffix map: blocking a name here covers it and every
 * name below it. Keys are hashes (see suffix-key.ts); values carry the name
 * so the entries can be listed.
 */
export class SuffixMap {
  constructor(readonly map: BpfMap) {}

  static openPinned(path: string): SuffixMap {
    return new SuffixMap(BpfMap.openPinned(path, { keySize: 16, valueSize: SUFFIX_VALUE_BYTES }));
  }

  /** Block `name` and everything below it; re-blocking keeps the hit counter. */
  block(name: string | DNSName, action: number): void {
    const dn = typeof name === 'string' ? DNSName.fromString(name) : name;
    const wire = dn.toWireLowerCase();
    const key = suffixKey(wire);
    const old = this.map.lookup(key);
    const v = Buffer.alloc(SUFFIX_VALUE_BYTES);
    v.writeBigUInt64LE(old ? old.readBigUInt64LE(0) : 0n, 0);
    v[8] = action;
    wire.copy(v, 16);
    this.map.update(key, v);
  }

  /** False when the suffix was not blocked. */
  unblock(name: string | DNSName): boolean {
    const dn = typeof name === 'string' ? DNSName.fromString(name) : name;
    return this.map.delete(suffixKey(dn.toWireLowerCase()));
  }

  entries(): SuffixEntry[] {
    return this.map.dump().map(([, v]) => ({
      name: DNSName.fromWire(v, 16).name.toString(),
      action: v[8]!,
      counter: v.readBigUInt64LE(0),
    }));
  }

  close(): void {
    this.map.close();
  }
}
