/**
 * What a rule script (a Lua function given to LuaAction, LuaRule,
 * LuaResponseAction) sees of a query or a response: dnsdist 1.7's
 * DNSQuestion / DNSResponse fields and methods, as plain TypeScript over
 * the query path's objects. The Lua layer only forwards `dq.<field>`,
 * `dq.<field> = v` and `dq:<method>(...)` here, so everything is reachable
 * (and tested) without Lua, and nothing is computed for a field a script
 * does not read.
 */
import { DNSName, HeaderFlag, QType, RCODE_MASK, readFlags, readId, skipWireName, writeFlags, writeId } from '@dnsdist-ts/dns';
import type { DNSQuestion, Transport } from './dns-question.js';
import type { DNSResponse } from './dns-response.js';

/** A script touched a field that does not exist or cannot be written; the message says what to do. */
export class ScriptFieldError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'ScriptFieldError';
    this.field = field;
  }
}

/** `view.read(...)` result for a name that is not a field (the caller then looks for a method). */
export const NOT_A_FIELD: unique symbol = Symbol('not a field');

/**
 * The packet a script is looking at: the query's (a DNSQuestion) or the
 * answer's (a DNSResponse, whose question fields still come from the query).
 * A view is reused from call to call: `attach` points it at the next one,
 * `detach` leaves it pointing nowhere, so a script that kept it past its
 * call gets a clear error instead of another query's data.
 */
export class ScriptView {
  readonly kind: 'DNSQuestion' | 'DNSResponse';
  #dq: DNSQuestion | undefined = undefined;
  #dr: DNSResponse | undefined = undefined;
  /** The name read once per call, so `dq.qname` twice parses once. */
  #qname: DNSName | undefined = undefined;
  /** The `dq.dh` object, one per view (it reads whatever the view is attached to). */
  readonly header: ScriptHeader;

  constructor(kind: 'DNSQuestion' | 'DNSResponse') {
    this.kind = kind;
    this.header = new ScriptHeader(this);
  }

  attachQuestion(dq: DNSQuestion): void {
    this.#dq = dq;
    this.#dr = undefined;
    this.#qname = undefined;
  }

  attachResponse(dr: DNSResponse): void {
    this.#dq = dr.question;
    this.#dr = dr;
    this.#qname = undefined;
  }

  detach(): void {
    this.#dq = undefined;
    this.#dr = undefined;
    this.#qname = undefined;
  }

  get attached(): boolean {
    return this.#dq !== undefined;
  }

  /** The question; throws when a script uses the object after its call returned. */
  question(): DNSQuestion {
    const dq = this.#dq;
    if (dq === undefined) {
      throw new ScriptFieldError(
        '',
        `this ${this.kind} is only valid during the call that received it; copy the values you need (e.g. dq.qname:toString()) instead of keeping dq`,
      );
    }
    return dq;
  }

  /** The response when the view is a DNSResponse, undefined for a DNSQuestion. */
  response(): DNSResponse | undefined {
    this.question();
    return this.#dr;
  }

  /** The packet the header fields read and write: the answer for a response, the query otherwise. */
  packet(): Buffer {
    const dq = this.question();
    return this.#dr !== undefined ? this.#dr.packet : dq.packet;
  }

  packetLength(): number {
    const dq = this.question();
    return this.#dr !== undefined ? this.#dr.length : dq.length;
  }

  qname(): DNSName {
    this.#qname ??= this.question().view.qnameAsDNSName();
    return this.#qname;
  }

  /** `dq.<key>`; NOT_A_FIELD when `key` is no field (a method name, or unknown). */
  read(key: string): unknown {
    switch (key) {
      case 'qname':
        return this.qname();
      case 'qtype':
        return this.question().view.qtype;
      case 'qclass':
        return this.question().view.qclass;
      case 'opcode':
        return (readFlags(this.packet()) >> 11) & 0x0f;
      case 'rcode':
        return readFlags(this.packet()) & RCODE_MASK;
      case 'len':
        return this.packetLength();
      case 'tcp':
        return this.question().transport === 'tcp';
      case 'remoteaddr':
        return this.question().remote;
      case 'localaddr':
        return this.question().local;
      case 'dh':
        this.question();
        return this.header;
      case 'skipCache':
        return this.question().skipCache;
      case 'tempFailureTTL':
        return this.question().tempFailureTTL;
      case 'useECS':
        return this.question().useECS;
      case 'ecsOverride':
        return this.question().ecsOverride;
      case 'ecsPrefixLength': {
        // dnsdist's defaults (setECSSourcePrefixV4/V6) until a script sets one.
        const dq = this.question();
        return dq.ecsPrefixLength ?? (dq.remote.family === 4 ? 24 : 56);
      }
      case 'deviceID':
      case 'deviceName':
      case 'requestorID':
        this.question();
        return '';
      default:
        return NOT_A_FIELD;
    }
  }

  /**
   * `dq.<key> = value`. Returns false when `key` is a read-only field: dnsdist
   * accepts and ignores such writes (its setters for qname, qtype… do
   * nothing), so the caller decides how loudly to say so.
   * @throws ScriptFieldError for a value of the wrong type or a name that is no field.
   */
  write(key: string, value: unknown): boolean {
    const dq = this.question();
    switch (key) {
      case 'rcode': {
        const rcode = integerValue(key, value, 0, 15);
        const packet = this.packet();
        writeFlags(packet, (readFlags(packet) & ~RCODE_MASK) | rcode);
        return true;
      }
      case 'skipCache':
        dq.skipCache = booleanValue(key, value);
        return true;
      case 'tempFailureTTL':
        dq.tempFailureTTL = value === undefined ? undefined : integerValue(key, value, 0, 0xffffffff);
        return true;
      case 'useECS':
        dq.useECS = booleanValue(key, value);
        return true;
      case 'ecsOverride':
        dq.ecsOverride = booleanValue(key, value);
        return true;
      case 'ecsPrefixLength':
        dq.ecsPrefixLength = integerValue(key, value, 0, dq.remote.family === 4 ? 32 : 128);
        return true;
      default:
        if (this.read(key) !== NOT_A_FIELD) return false;
        throw new ScriptFieldError(key, `${this.kind} has no field '${key}'`);
    }
  }

  getTag(name: string): string | undefined {
    return this.question().getTag(name);
  }

  setTag(name: string, value: string): void {
    this.question().setTag(name, value);
  }

  /** dq:getTagArray(): every tag, name to value. */
  getTagArray(): Map<string, string> {
    const tags = this.question().tags;
    return tags ? new Map(tags) : new Map();
  }

  setTagArray(tags: Iterable<[string, string]>): void {
    const dq = this.question();
    for (const [k, v] of tags) dq.setTag(k, v);
  }

  /** The DNSSEC OK bit of the query's OPT record. */
  getDO(): boolean {
    return this.question().view.ednsDo;
  }

  /**
   * dr:editTTLs: `edit(section, qclass, qtype, ttl)` for every record of the
   * answer, authority and additional sections (1, 2, 3; OPT left alone);
   * a number it returns becomes the record's TTL. Stops at a record that
   * does not fit in the packet.
   */
  editTTLs(edit: (section: number, qclass: number, qtype: number, ttl: number) => number | undefined): void {
    const buf = this.packet();
    const end = this.packetLength();
    if (end < 12) return;
    let p = 12;
    for (let i = (buf[4]! << 8) | buf[5]!; i > 0; i--) {
      p = skipWireName(buf, p, end);
      if (p < 0 || p + 4 > end) return;
      p += 4;
    }
    for (let section = 1; section <= 3; section++) {
      const countOffset = 4 + section * 2;
      for (let i = (buf[countOffset]! << 8) | buf[countOffset + 1]!; i > 0; i--) {
        p = skipWireName(buf, p, end);
        if (p < 0 || p + 10 > end) return;
        const rdataEnd = p + 10 + ((buf[p + 8]! << 8) | buf[p + 9]!);
        if (rdataEnd > end) return;
        const qtype = (buf[p]! << 8) | buf[p + 1]!;
        if (qtype !== QType.OPT) {
          const updated = edit(section, (buf[p + 2]! << 8) | buf[p + 3]!, qtype, buf.readUInt32BE(p + 4));
          if (updated !== undefined) buf.writeUInt32BE(integerValue('ttl', updated, 0, 0xffffffff), p + 4);
        }
        p = rdataEnd;
      }
    }
  }

  /**
   * Where the DNS message ends in the packet (header, every section walked);
   * what follows is trailing data. The packet length when it cannot be walked.
   */
  messageEnd(): number {
    const buf = this.packet();
    const end = this.packetLength();
    if (end < 12) return end;
    let p = 12;
    for (let i = (buf[4]! << 8) | buf[5]!; i > 0; i--) {
      p = skipWireName(buf, p, end);
      if (p < 0 || p + 4 > end) return end;
      p += 4;
    }
    const records = ((buf[6]! << 8) | buf[7]!) + ((buf[8]! << 8) | buf[9]!) + ((buf[10]! << 8) | buf[11]!);
    for (let i = 0; i < records; i++) {
      p = skipWireName(buf, p, end);
      if (p < 0 || p + 10 > end) return end;
      p += 10 + ((buf[p + 8]! << 8) | buf[p + 9]!);
      if (p > end) return end;
    }
    return p;
  }

  /** dq:getTrailingData(): the bytes after the DNS message (dnsdist counts them in `len`). */
  getTrailingData(): Buffer {
    return this.packet().subarray(this.messageEnd(), this.packetLength());
  }

  /**
   * dq:setTrailingData(bytes): replace whatever follows the DNS message.
   * False, and nothing changed, when the message and the data would not fit
   * the largest packet dnsdist handles on the query's transport (4096 bytes
   * over UDP, 65535 over TCP). Cold path: may allocate.
   */
  setTrailingData(data: Uint8Array): boolean {
    const messageEnd = this.messageEnd();
    const dr = this.response();
    const length = messageEnd + data.length;
    if (length > maxPacketSize(this.question().transport)) return false;
    const packet = this.packet();
    const target = packet.length >= length ? packet : Buffer.alloc(length);
    if (target !== packet) packet.copy(target, 0, 0, messageEnd);
    target.set(data, messageEnd);
    if (dr) {
      dr.packet = target;
      dr.length = length;
      return true;
    }
    const dq = this.question();
    dq.packet = target;
    dq.length = length;
    dq.view.parse(target, length);
    return true;
  }

  /** The query's EDNS options: code to the values of every occurrence, in order. */
  ednsOptions(): Map<number, Buffer[]> {
    const dq = this.question();
    const out = new Map<number, Buffer[]>();
    const q = dq.view;
    if (!q.hasEdns || q.ednsOffset < 0) return out;
    const buf = dq.packet;
    let p = skipWireName(buf, q.ednsOffset, dq.length);
    if (p < 0 || p + 10 > dq.length) return out;
    const rdataEnd = Math.min(dq.length, p + 10 + ((buf[p + 8]! << 8) | buf[p + 9]!));
    p += 10;
    while (p + 4 <= rdataEnd) {
      const code = (buf[p]! << 8) | buf[p + 1]!;
      const len = (buf[p + 2]! << 8) | buf[p + 3]!;
      if (p + 4 + len > rdataEnd) break;
      let values = out.get(code);
      if (!values) out.set(code, (values = []));
      values.push(Buffer.from(buf.subarray(p + 4, p + 4 + len)));
      p += 4 + len;
    }
    return out;
  }

  /** dnsdist's protocol names: "Do53 UDP", "Do53 TCP", "DNS over TLS", "DNS over HTTPS" (with or without TLS, as 1.7). */
  getProtocol(): string {
    const dq = this.question();
    if (dq.http !== undefined) return 'DNS over HTTPS';
    return dq.session?.protocolName ?? (dq.transport === 'tcp' ? 'Do53 TCP' : 'Do53 UDP');
  }

  /** dq:getHTTPPath() and friends: the DoH request's parts, "" (or no headers) for other transports. */
  getHTTPPath(): string {
    return this.question().http?.path ?? '';
  }

  getHTTPQueryString(): string {
    return this.question().http?.queryString ?? '';
  }

  getHTTPHost(): string {
    return this.question().http?.host ?? '';
  }

  getHTTPScheme(): string {
    return this.question().http?.scheme ?? '';
  }

  getHTTPHeaders(): Map<string, string> {
    const h = this.question().http?.headers;
    return h ? new Map(h) : new Map();
  }

  /** dq:setHTTPResponse(status, body [, contentType]): no effect outside DoH, as in dnsdist. */
  setHTTPResponse(status: number, body: Buffer, contentType: string): void {
    this.question().http?.setResponse(status, body, contentType);
  }

  /** The SNI the client sent on its TLS connection; empty for Do53 or without SNI, as dnsdist answers. */
  getServerNameIndication(): string {
    return this.question().session?.serverName ?? '';
  }
}

/** Whatever packet a header object reads: a view's current packet, or a health-check query. */
export interface HeaderSource {
  packet(): Buffer;
}

/** The `dq.dh` object (and checkFunction's `dh`): header bits of a packet. */
export class ScriptHeader {
  readonly #view: HeaderSource;
  constructor(view: HeaderSource) {
    this.#view = view;
  }

  getFlag(flag: number): boolean {
    return (readFlags(this.#view.packet()) & flag) !== 0;
  }

  setFlag(flag: number, on: boolean): void {
    const packet = this.#view.packet();
    const flags = readFlags(packet);
    writeFlags(packet, on ? flags | flag : flags & ~flag);
  }

  getID(): number {
    return readId(this.#view.packet());
  }

  setID(id: number): void {
    writeId(this.#view.packet(), integerValue('id', id, 0, 0xffff));
  }

  toString(): string {
    return 'DNSHeader';
  }
}

/** The header bits `dh:getXX()` / `dh:setXX(b)` name. */
export const SCRIPT_HEADER_FLAGS: Readonly<Record<string, number>> = {
  QR: HeaderFlag.QR,
  AA: HeaderFlag.AA,
  TC: HeaderFlag.TC,
  RD: HeaderFlag.RD,
  RA: HeaderFlag.RA,
  AD: HeaderFlag.AD,
  CD: HeaderFlag.CD,
};

/** dnsdist's DNSQuestion::getMaximumSize: the largest packet a query (or its answer) may grow to. */
function maxPacketSize(transport: Transport): number {
  return transport === 'tcp' ? 65535 : 4096;
}

function booleanValue(key: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw new ScriptFieldError(key, `${key} must be true or false, got ${describe(value)}`);
}

function integerValue(key: string, value: unknown, min: number, max: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw new ScriptFieldError(key, `${key} must be an integer from ${min} to ${max}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nil';
  if (typeof value === 'string') return `"${value}"`;
  return typeof value === 'object' ? 'a table or userdata' : String(value);
}
