/**
 * The orders dnsdist lists its trees in, so printed lists come out the
 * same: NetmaskTree walks (NetmaskGroup:toString, showDynBlocks' address
 * part) are in-order over the bits (the 0 side, the node, the 1 side),
 * IPv4 before IPv6;
 * SuffixMatchTree walks (showDynBlocks' suffix part) are post-order by
 * label; std::set<DNSName> (SuffixMatchNode:toString) is canonical order,
 * parents first.
 */
import { Netmask, type DNSName } from '@dnsdist-ts/dns';

/** A node of a NetmaskTree: network bytes, prefix length, and for IPv4 /32 optional leading port bits. */
export interface TreeRange {
  readonly network: Uint8Array;
  readonly prefix: number;
  readonly port?: number;
  readonly portBits?: number;
}

function bitOf(r: TreeRange, i: number): number {
  const addressBits = r.network.length * 8;
  if (i < addressBits) return (r.network[i >> 3]! >> (7 - (i & 7))) & 1;
  return ((r.port ?? 0) >> (15 - (i - addressBits))) & 1;
}

function lengthOf(r: TreeRange): number {
  return r.prefix + (r.portBits ?? 0);
}

/**
 * NetmaskTree in-order: IPv4 first, then bit by bit with 0 first; a range
 * inside another comes before it when the next bit of the inner range is
 * 0, after it when that bit is 1 (10.1.0.0/16 < 10.0.0.0/8 < 10.128.0.0/9).
 */
export function compareNetmaskTreeOrder(a: TreeRange, b: TreeRange): number {
  if (a.network.length !== b.network.length) return a.network.length - b.network.length;
  const la = lengthOf(a);
  const lb = lengthOf(b);
  const n = Math.min(la, lb);
  for (let i = 0; i < n; i++) {
    const d = bitOf(a, i) - bitOf(b, i);
    if (d !== 0) return d;
  }
  if (la === lb) return 0;
  // One contains the other: the inner one sits on the side its next bit says.
  return la > lb ? (bitOf(a, n) === 0 ? -1 : 1) : bitOf(b, n) === 0 ? 1 : -1;
}

/** Netmask texts (a leading "!" allowed) in NetmaskTree order: how dnsdist prints a NetmaskGroup. */
export function sortNetmaskTexts(texts: readonly string[]): string[] {
  const parsed = texts.map((t) => {
    const nm = Netmask.fromString(t.startsWith('!') ? t.slice(1) : t);
    return { text: t, range: { network: nm.network(), prefix: nm.bits } };
  });
  return parsed.sort((x, y) => compareNetmaskTreeOrder(x.range, y.range)).map((p) => p.text);
}

function compareLabel(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

function compareReversedLabels(a: DNSName, b: DNSName, parentFirst: boolean): number {
  const la = a.labels().reverse();
  const lb = b.labels().reverse();
  const n = Math.min(la.length, lb.length);
  for (let i = 0; i < n; i++) {
    const d = compareLabel(la[i]!, lb[i]!);
    if (d !== 0) return d;
  }
  return parentFirst ? la.length - lb.length : lb.length - la.length;
}

/** SuffixMatchTree post-order: label by label from the root, a name's children before the name. */
export function compareSuffixTreeOrder(a: DNSName, b: DNSName): number {
  return compareReversedLabels(a, b, false);
}

/** DNSName canonical order (std::set<DNSName>): label by label from the root, a name before its children. */
export function compareCanonicalOrder(a: DNSName, b: DNSName): number {
  return compareReversedLabels(a, b, true);
}
