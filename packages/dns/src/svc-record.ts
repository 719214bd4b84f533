/**
 * SVCB / HTTPS records (RFC 9460) as dnsdist 1.7's SpoofSVCAction makes
 * them: the RDATA of one record from its parameters, and the whole answer
 * with the address hints as A/AAAA records in the additional section.
 */
import { DNSName } from './dns-name.js';
import type { DnsQueryView } from './dns-query-view.js';
import { DNS_HEADER_SIZE, HeaderFlag, readFlags, writeFlags } from './dns-header.js';
import { DnsPacketError } from './errors.js';
import { QType } from './qtype.js';

/** SvcParamKeys by name, as newSVCRecordParameters' table names them. */
export const SVC_PARAM_KEYS: Readonly<Record<string, number>> = {
  mandatory: 0,
  alpn: 1,
  'no-default-alpn': 2,
  port: 3,
  ipv4hint: 4,
  ech: 5,
  ipv6hint: 6,
};

/** One SVCB/HTTPS record: dnsdist's SVCRecordParameters. */
export interface SvcRecordParameters {
  priority: number;
  /** "." means the owner itself (the query name). */
  target: DNSName;
  /** Keys (numbers) listed in the mandatory parameter. */
  mandatory?: number[];
  alpn?: string[];
  noDefaultAlpn?: boolean;
  port?: number;
  /** 4-byte addresses. */
  ipv4hint?: Uint8Array[];
  ech?: Uint8Array;
  /** 16-byte addresses. */
  ipv6hint?: Uint8Array[];
  /** Other keys (keyNNN) and their raw values. */
  other?: Map<number, Uint8Array>;
}

const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
};

/** The RDATA of one SVCB/HTTPS record: priority, target (uncompressed), parameters by ascending key. */
export function svcRdata(p: SvcRecordParameters): Buffer {
  const params = new Map<number, Buffer>();
  if (p.mandatory?.length) params.set(0, Buffer.concat([...new Set(p.mandatory)].sort((a, b) => a - b).map(u16)));
  if (p.alpn?.length) {
    params.set(
      1,
      Buffer.concat(
        p.alpn.map((id) => {
          const b = Buffer.from(id, 'utf8');
          if (b.length === 0 || b.length > 255) throw new DnsPacketError(`ALPN id "${id}" must be 1 to 255 bytes`, b);
          return Buffer.concat([Buffer.from([b.length]), b]);
        }),
      ),
    );
  }
  if (p.noDefaultAlpn) params.set(2, Buffer.alloc(0));
  if (p.port !== undefined) params.set(3, u16(p.port));
  if (p.ipv4hint?.length) params.set(4, Buffer.concat(p.ipv4hint));
  if (p.ech) params.set(5, Buffer.from(p.ech));
  if (p.ipv6hint?.length) params.set(6, Buffer.concat(p.ipv6hint));
  for (const [key, value] of p.other ?? []) params.set(key, Buffer.from(value));
  const parts: Buffer[] = [u16(p.priority), p.target.toWire()];
  for (const key of [...params.keys()].sort((a, b) => a - b)) {
    const value = params.get(key)!;
    if (value.length > 0xffff) throw new DnsPacketError(`SVC parameter ${key} is over 65535 bytes`, value.length);
    parts.push(u16(key), u16(value.length), value);
  }
  return Buffer.concat(parts);
}

/** dnsdist's DNSName ordering: the wire bytes compared from the end, ASCII case folded. */
function compareNames(a: Uint8Array, b: Uint8Array): number {
  const fold = (c: number): number => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  for (let i = a.length - 1, j = b.length - 1; i >= 0 && j >= 0; i--, j--) {
    const d = fold(a[i]!) - fold(b[j]!);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** A hint record to add: owner (wire; empty for "the query name") and address. */
export interface SvcHint {
  owner: Uint8Array;
  address: Uint8Array;
}

/**
 * The additional A (then AAAA) records for `records`' address hints, each
 * (target, address) pair once, ordered by target as dnsdist orders names,
 * then by address.
 */
export function svcHints(records: readonly SvcRecordParameters[], family: 4 | 6): SvcHint[] {
  const seen = new Map<string, SvcHint>();
  for (const r of records) {
    const owner = r.target.isRoot() ? new Uint8Array(0) : r.target.toWire();
    for (const address of (family === 4 ? r.ipv4hint : r.ipv6hint) ?? []) {
      const key = `${Buffer.from(owner).toString('hex').toLowerCase()}/${Buffer.from(address).toString('hex')}`;
      if (!seen.has(key)) seen.set(key, { owner, address });
    }
  }
  return [...seen.values()].sort((x, y) => {
    // The query name stands for "." in dnsdist's set, which sorts first.
    const byName = compareNames(x.owner.length ? x.owner : Uint8Array.of(0), y.owner.length ? y.owner : Uint8Array.of(0));
    return byName !== 0 ? byName : compareBytes(x.address, y.address);
  });
}

export interface SvcAnswerOptions {
  aa?: boolean;
  ad?: boolean;
  ra?: boolean;
  ttl?: number;
  /** setAddEDNSToSelfGeneratedResponses; default true. */
  addEdns?: boolean;
  ednsPayloadSize?: number;
}

/**
 * SpoofSVCAction's answer to `query`, in a new buffer: a fresh header (the
 * query's ID, QR, AA/AD as given, RA as given or cleared, RD and CD as the
 * query had them), the question with class IN, one record of the query's
 * type per RDATA in `rdatas` (owner: a pointer to the question name), the
 * A then AAAA hints in the additional section (owner the target, written
 * whole, or the question name for "."), then an OPT record when the query
 * had EDNS. TTL 60 unless given.
 */
export function buildSvcAnswer(
  query: DnsQueryView,
  rdatas: readonly Buffer[],
  hints4: readonly SvcHint[],
  hints6: readonly SvcHint[],
  opts?: SvcAnswerOptions,
): Buffer {
  if (!query.valid)
    throw new DnsPacketError(`cannot answer a query that did not parse (${query.error ?? 'nothing parsed yet'})`, query.length);
  const ttl = opts?.ttl ?? 60;
  const withOpt = query.hasEdns && opts?.addEdns !== false;
  const parts: Buffer[] = [];
  const header = Buffer.alloc(DNS_HEADER_SIZE);
  header.writeUInt16BE(query.id, 0);
  const qflags = readFlags(query.buf);
  let flags = HeaderFlag.QR | (qflags & (HeaderFlag.RD | HeaderFlag.CD));
  if (opts?.aa) flags |= HeaderFlag.AA;
  if (opts?.ad) flags |= HeaderFlag.AD;
  if (opts?.ra) flags |= HeaderFlag.RA;
  writeFlags(header, flags);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rdatas.length, 6);
  header.writeUInt16BE(hints4.length + hints6.length + (withOpt ? 1 : 0), 10);
  parts.push(header);
  const question = Buffer.from(query.buf.subarray(DNS_HEADER_SIZE, query.questionEnd));
  question.writeUInt16BE(1, question.length - 2);
  parts.push(question);
  const record = (owner: Uint8Array, type: number, rdata: Uint8Array): void => {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(type, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(ttl, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    parts.push(owner.length ? Buffer.from(owner) : Buffer.from([0xc0, 0x0c]), fixed, Buffer.from(rdata));
  };
  for (const rdata of rdatas) record(new Uint8Array(0), query.qtype, rdata);
  for (const h of hints4) record(h.owner, QType.A, h.address);
  for (const h of hints6) record(h.owner, QType.AAAA, h.address);
  if (withOpt) {
    const optRecord = Buffer.alloc(11);
    optRecord.writeUInt16BE(QType.OPT, 1);
    optRecord.writeUInt16BE(opts?.ednsPayloadSize ?? 1232, 3);
    optRecord[7] = query.ednsDo ? 0x80 : 0;
    parts.push(optRecord);
  }
  return Buffer.concat(parts);
}
