/**
 * Operations on query names as the rings store them: presentation form
 * with the trailing dot ("www.example.com."), escapes as DNSName prints
 * them ("a\.b.example.", "\000.example.").
 */
import { DNSName } from '@dnsdist-ts/dns';

/** Index of each label's first character; an escaped dot ("\.") does not end a label. */
function labelStarts(name: string): number[] {
  const starts: number[] = [];
  if (name === '.' || name === '') return starts;
  starts.push(0);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x2e && i + 1 < name.length) starts.push(i + 1);
  }
  return starts;
}

/**
 * Keep the last `labels` labels (dnsdist's `DNSName::trimToLabels`):
 * "www.example.com." with 2 gives "example.com.", with 0 the root ".".
 * A name with no more labels than that, or a negative count, is kept whole.
 */
export function trimToLabels(name: string, labels: number): string {
  if (labels < 0) return name;
  const starts = labelStarts(name);
  if (labels >= starts.length) return name;
  if (labels === 0) return '.';
  return name.slice(starts[starts.length - labels]);
}

/** Lower-case wire form of a stored name, for ordering; names that do not parse order by their text. */
export function lowerCaseWire(name: string): Uint8Array {
  try {
    return DNSName.fromString(name).toWireLowerCase();
  } catch {
    return Buffer.from(name.toLowerCase(), 'latin1');
  }
}

/**
 * dnsdist's `DNSName::operator<`, which orders its std::map of names:
 * the wire forms compared byte by byte from the end, ignoring ASCII case
 * (pass lower-cased wire forms). Not DNSSEC canonical order, but what
 * decides how ties come out in dnsdist's top lists.
 */
export function compareWireReversed(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 1; i <= n; i++) {
    const x = a[a.length - i]!;
    const y = b[b.length - i]!;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}
