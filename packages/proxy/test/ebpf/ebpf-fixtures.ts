/**
 * Shared pieces of the eBPF tests: Lua for a pinned filter, and reads of
 * pinned maps through handles of their own (what any other program, the
 * XDP filter or dnsdist, sees).
 */
import { BpfMap } from '@dnsdist-ts/bpf';

/** One entry of a pinned map, read independently of BPFFilter. */
export function rawEntry(path: string, key: Uint8Array): Buffer | undefined {
  const m = BpfMap.openPinned(path);
  try {
    return m.lookup(key);
  } finally {
    m.close();
  }
}

/** Every entry of a pinned map as hex key → hex value, padding bytes after the action left out. */
export function rawEntries(path: string): Record<string, string> {
  const m = BpfMap.openPinned(path);
  try {
    return Object.fromEntries(m.dump().map(([k, v]) => [k.toString('hex'), v.subarray(0, 9).toString('hex')]));
  } finally {
    m.close();
  }
}

/** newBPFFilter{...} (the 1.8 table form) with every map pinned in `dir` under its conventional name. */
export function pinnedFilterLua(dir: string, size = 64): string {
  const maps = { ipv4: 'addr-v4', ipv6: 'addr-v6', qnames: 'qnames', cidr4: 'cidr4', cidr6: 'cidr6' };
  const fields = Object.entries(maps).map(([k, pin]) => `${k}MaxItems=${size}, ${k}PinnedPath="${dir}/${pin}"`);
  return `newBPFFilter{${fields.join(', ')}, external=true}`;
}

/** The 1.7 positional form dnsdist 1.7.3 understands: v4, v6 and qnames maps pinned in `dir`. */
export function pinnedFilterLua17(dir: string, size = 64): string {
  const p = (pin: string) => `{maxItems=${size}, pinnedPath="${dir}/${pin}"}`;
  return `newBPFFilter(${p('addr-v4')}, ${p('addr-v6')}, ${p('qnames')}, true)`;
}
