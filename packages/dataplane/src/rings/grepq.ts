/**
 * dnsdist's grepq(selector(s) [, num]): the recent queries and answers
 * matching every selector, as dnsdist prints them.
 *
 * A selector is a netmask ("192.0.2.0/24", "2001:db8::1"), a name (the
 * entry's query name is it or below it), or a latency "NNms" (only
 * answers slower than that, queries not shown). Given several of a kind,
 * the last one counts. `num` > 0 keeps the `num` most recent matching
 * queries and the `num` most recent matching answers. Lines come oldest
 * first; the time column is seconds relative to now, so negative.
 */
import { DNSName, Netmask, qtypeName } from '@dnsdist-ts/dns';
import { HeaderFlag, opcodeOf, opcodeText, rcodeOf, rcodeText } from './dns-header-names.js';
import { formatPrintf } from './printf-format.js';
import type { QueryRing } from './query-ring.js';
import { TIMEOUT_LATENCY_USEC, type ResponseRing } from './response-ring.js';
import { transportName } from './ring-transport.js';

const LINE = '%-7.1f %-47s %-12s %-12s %-5d %-25s %-5s %-6.1f %-2s %-2s %-2s %-s\n';
const HEADER = formatPrintf(LINE, ['Time', 'Client', 'Protocol', 'Server', 'ID', 'Name', 'Type', 'Lat.', 'TC', 'RD', 'AA', 'Rcode']);

interface Selection {
  netmask?: Netmask;
  name?: DNSName;
  slowerThanMs?: number;
}

/** The selectors, or the text dnsdist answers for the first one it cannot parse. */
function parseSelectors(selectors: readonly string[]): Selection | string {
  const selection: Selection = {};
  for (const text of selectors) {
    try {
      selection.netmask = Netmask.fromString(text);
      continue;
    } catch {
      // not a netmask: a latency or a name
    }
    // Like sscanf("%ums"): leading digits are enough once the text ends in "ms".
    const ms = text.endsWith('ms') ? /^\s*\+?(\d+)/.exec(text) : null;
    if (ms) {
      selection.slowerThanMs = Number(ms[1]);
      continue;
    }
    try {
      selection.name = text === '' ? DNSName.ROOT : DNSName.fromString(text);
    } catch {
      return `Could not parse '${text}' as domain name or netmask`;
    }
  }
  return selection;
}

/** Caches "is this stored name at or below the selected one", per distinct stored name. */
function nameMatcher(selected: DNSName | undefined): (qname: string) => boolean {
  if (selected === undefined) return () => true;
  const cache = new Map<string, boolean>();
  return (qname) => {
    let hit = cache.get(qname);
    if (hit === undefined) {
      try {
        hit = DNSName.fromString(qname).isPartOf(selected);
      } catch {
        hit = false;
      }
      cache.set(qname, hit);
    }
    return hit;
  };
}

interface Line {
  time: number;
  /** 0 for a query, 1 for an answer: at equal times queries come first, as in dnsdist's multimap. */
  kind: number;
  seq: number;
  text: string;
}

/** Newest first, the most recent `limit` (all when 0) of `slots`. */
function mostRecent<R extends { time: Float64Array; seq: Float64Array }>(found: [R, number][], limit: number): [R, number][] {
  found.sort(([ra, a], [rb, b]) => rb.time[b]! - ra.time[a]! || rb.seq[b]! - ra.seq[a]!);
  return limit > 0 ? found.slice(0, limit) : found;
}

function flagColumns(flags: number): [string, string, string] {
  return [flags & HeaderFlag.TC ? 'TC' : '', flags & HeaderFlag.RD ? 'RD' : '', flags & HeaderFlag.AA ? 'AA' : ''];
}

/**
 * The grepq table for `selectors` over the rings, at `now` (ms, the
 * performance.now() clock).
 */
export function grepq(
  queryRings: readonly QueryRing[],
  responseRings: readonly ResponseRing[],
  selectors: string | readonly string[],
  limit: number,
  now: number,
): string {
  const selection = parseSelectors(typeof selectors === 'string' ? [selectors] : selectors);
  if (typeof selection === 'string') return selection;
  const { netmask, slowerThanMs } = selection;
  const nameMatches = nameMatcher(selection.name);
  const lines: Line[] = [];

  if (slowerThanMs === undefined) {
    const found: [QueryRing, number][] = [];
    for (const ring of queryRings) {
      for (let k = 0; k < ring.count; k++) {
        const i = ring.slot(k);
        const client = ring.client[i];
        if (netmask && !(client && netmask.match(client.bytes))) continue;
        if (!nameMatches(ring.qname[i]!)) continue;
        found.push([ring, i]);
      }
    }
    for (const [ring, i] of mostRecent(found, limit)) {
      const flags = ring.flags[i]!;
      const opcode = opcodeOf(flags);
      const columns = [
        (ring.time[i]! - now) / 1000,
        ring.client[i]?.toStringWithPort() ?? '',
        transportName(ring.transport[i]!),
        '',
        ring.id[i]!,
        ring.qname[i]!,
        qtypeName(ring.qtype[i]!),
        '',
        ...flagColumns(flags),
        opcode !== 0 ? `Question (${opcodeText(opcode)})` : 'Question',
      ];
      lines.push({ time: ring.time[i]!, kind: 0, seq: ring.seq[i]!, text: formatPrintf(LINE, columns) });
    }
  }

  const found: [ResponseRing, number][] = [];
  for (const ring of responseRings) {
    for (let k = 0; k < ring.count; k++) {
      const i = ring.slot(k);
      const client = ring.client[i];
      if (netmask && !(client && netmask.match(client.bytes))) continue;
      if (!nameMatches(ring.qname[i]!)) continue;
      // dnsdist compares whole milliseconds (integer division).
      if (slowerThanMs !== undefined && !(Math.floor(ring.latency[i]! / 1000) > slowerThanMs)) continue;
      found.push([ring, i]);
    }
  }
  for (const [ring, i] of mostRecent(found, limit)) {
    const flags = ring.flags[i]!;
    const rcode = rcodeOf(flags);
    const latency = ring.latency[i]!;
    const server = ring.server[i];
    const columns = [
      (ring.time[i]! - now) / 1000,
      ring.client[i]?.toStringWithPort() ?? '',
      server ? transportName(ring.transport[i]!) : '-',
      server ? server.addressText : 'Cache',
      ring.id[i]!,
      ring.qname[i]!,
      qtypeName(ring.qtype[i]!),
      latency === TIMEOUT_LATENCY_USEC ? 'T.O' : latency / 1000,
      ...flagColumns(flags),
      rcode === 0 ? `${rcodeText(rcode)}. ${ring.ancount[i]} answers` : rcodeText(rcode),
    ];
    lines.push({ time: ring.time[i]!, kind: 1, seq: ring.seq[i]!, text: formatPrintf(LINE, columns) });
  }

  lines.sort((a, b) => a.time - b.time || a.kind - b.kind || a.seq - b.seq);
  let out = HEADER;
  for (const line of lines) out += line.text;
  return out;
}
