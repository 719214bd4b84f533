import { dirname } from 'node:path';
import { BpfMap } from '@dnsdist-ts/bpf';
import { NameIndex, layouts, wireFromQNameKey, type NameIndexScan } from '@dnsdist-ts/bpf-filter';
import { DNSName } from '@dnsdist-ts/dns';
import { SUFFIX_KEY_BYTES, suffixKey } from './suffix-key.js';

const { suffix_value } = layouts;
const NAME_AT = suffix_value.name.offset;

/** Bytes of a suffix map value: counter, action, padding, then the wire name (256 B). */
export const SUFFIX_VALUE_BYTES = suffix_value.sizeof;

export interface SuffixEntry {
  name: string;
  action: number;
  counter: bigint;
}

/**
 * The xdp-filter's suffix map: blocking a name here covers it and every
 * name below it. Keys are hashes (see suffix-key.ts); values carry the name
 * so the entries can be listed, and so that the name index can be rebuilt.
 */
export class SuffixMap {
  /** Directory whose `name-index` learns every suffix blocked here (the map's pin directory by default). */
  readonly indexDir: string | undefined;

  constructor(
    readonly map: BpfMap,
    indexDir: string | undefined = map.pinnedPath === undefined ? undefined : dirname(map.pinnedPath),
  ) {
    this.indexDir = indexDir;
  }

  static openPinned(path: string): SuffixMap {
    return new SuffixMap(BpfMap.openPinned(path, { keySize: SUFFIX_KEY_BYTES, valueSize: SUFFIX_VALUE_BYTES }));
  }

  /** Block `name` and everything below it; re-blocking keeps the hit counter. */
  block(name: string | DNSName, action: number): void {
    const dn = typeof name === 'string' ? DNSName.fromString(name) : name;
    const wire = dn.toWireLowerCase();
    const key = suffixKey(wire);
    const old = this.map.lookup(key);
    const v = Buffer.alloc(SUFFIX_VALUE_BYTES);
    const counter = suffix_value.counter.offset;
    v.writeBigUInt64LE(old ? old.readBigUInt64LE(counter) : 0n, counter);
    v[suffix_value.action.offset] = action;
    wire.copy(v, NAME_AT);
    // Before and after the entry exists: see the protocol in @dnsdist-ts/bpf-filter's name-index.ts.
    NameIndex.note(this.indexDir, 'suffixes', wire);
    this.map.update(key, v);
    NameIndex.note(this.indexDir, 'suffixes', wire);
  }

  /** False when the suffix was not blocked. */
  unblock(name: string | DNSName): boolean {
    const dn = typeof name === 'string' ? DNSName.fromString(name) : name;
    return this.map.delete(suffixKey(dn.toWireLowerCase()));
  }

  /**
   * The wire name of every entry, for rebuilding the name index; not
   * complete when some entry's value does not name its key (written by
   * something else than this class): the index cannot cover that entry.
   */
  wireNames(): NameIndexScan {
    const names: Buffer[] = [];
    let complete = true;
    for (const [k, v] of this.map.dump()) {
      const wire = wireFromQNameKey(v.subarray(NAME_AT));
      if (suffixKey(wire).equals(k)) names.push(wire);
      else complete = false;
    }
    return { names, complete };
  }

  entries(): SuffixEntry[] {
    return this.map.dump().map(([, v]) => ({
      name: DNSName.fromWire(v, NAME_AT).name.toString(),
      action: v[suffix_value.action.offset]!,
      counter: v.readBigUInt64LE(suffix_value.counter.offset),
    }));
  }

  close(): void {
    this.map.close();
  }
}
