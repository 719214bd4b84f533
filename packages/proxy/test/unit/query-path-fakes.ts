/**
 * In-memory stand-ins for the query path's collaborators, for unit tests
 * that run the real QueryProcessor, DownstreamServer and policies without a
 * socket: every class here is a fake and says so in its name.
 */
import { parseAddressWithPort } from '@dnsdist-ts/dns';
import dnsPacket from 'dns-packet';
import { DownstreamServer, type DownstreamServerConfig } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import type { ReplyChannel } from '@dnsdist-ts/dataplane/backend/inflight-query.js';
import type { UdpDatagramHandler, UdpEndpoint } from '@dnsdist-ts/dataplane/io/udp-endpoint.js';
import type { DNSQuestion } from '@dnsdist-ts/dataplane/query/dns-question.js';
import type { DNSResponse } from '@dnsdist-ts/dataplane/query/dns-response.js';
import type { DynBlockCheck, QueryCache, QueryRecorder } from '@dnsdist-ts/dataplane/query/query-collaborators.js';
import type { QueryVerdictCode } from '@dnsdist-ts/dataplane/query/query-verdict.js';

/** A backend as the policies see it: settings, health, load. No socket unless one is attached. */
export interface FakeDownstreamShape {
  name?: string;
  /** The server's id (newServer{id=…}, a random UUID by default in the proxy). */
  id?: string;
  port?: number;
  pools?: string[];
  weight?: number;
  order?: number;
  qps?: number;
  up?: boolean;
  outstanding?: number;
  latencyUsec?: number;
  tcpOnly?: boolean;
}

let nextPort = 10_000;

/**
 * A real DownstreamServer whose health is set by hand (availability up or
 * down, no health check) and whose answer and loss handlers are no-ops
 * unless given: enough for the policies, which read only its state.
 */
export function fakeDownstream(shape: FakeDownstreamShape = {}, handlers: Partial<DownstreamHandlers> = {}): DownstreamServer {
  const s = new DownstreamServer(
    fakeServerConfig(shape),
    handlers.onAnswer ?? (() => undefined),
    handlers.onLost ?? (() => undefined),
    handlers.matches ?? (() => true),
  );
  s.availability = shape.up === false ? 'down' : 'up';
  s.outstanding = shape.outstanding ?? 0;
  s.latencyUsec = shape.latencyUsec ?? 0;
  return s;
}

/** newServer's settings with dnsdist's defaults, on 127.0.0.1 and a port of its own (nothing listens there). */
export function fakeServerConfig(shape: FakeDownstreamShape = {}): DownstreamServerConfig {
  const port = shape.port ?? nextPort++;
  return {
    address: parseAddressWithPort(`127.0.0.1:${port}`, 53),
    name: shape.name ?? `s${port}`,
    pools: shape.pools ?? [],
    weight: shape.weight ?? 1,
    order: shape.order ?? 1,
    qps: shape.qps ?? 0,
    checkName: 'a.root-servers.net.',
    checkType: 1,
    checkClass: 1,
    checkInterval: 1,
    checkTimeout: 1000,
    maxCheckFailures: 1,
    rise: 1,
    mustResolve: false,
    tcpOnly: shape.tcpOnly ?? false,
    sockets: 1,
    maxInFlight: 0,
    id: shape.id ?? `id-${shape.name ?? port}`,
  };
}

export interface DownstreamHandlers {
  onAnswer: ConstructorParameters<typeof DownstreamServer>[1];
  onLost: ConstructorParameters<typeof DownstreamServer>[2];
  matches: ConstructorParameters<typeof DownstreamServer>[3];
}

/** A query's name as the tests write it: the view's lower-case text without its final dot. */
export function nameOf(dq: DNSQuestion): string {
  return dq.view.qname.endsWith('.') ? dq.view.qname.slice(0, -1) : dq.view.qname;
}

/** One datagram a FakeUdpEndpoint was asked to send (bytes copied at send time). */
export interface SentDatagram {
  data: Buffer;
  to: Uint8Array;
  toPort: number;
}

/**
 * An in-memory backend socket: `send` records a copy of what the backend
 * would have received, `deliver` hands the handler a datagram as if the
 * backend had answered from `from`:`fromPort`.
 */
export class FakeUdpEndpoint implements UdpEndpoint {
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly kind = 'dgram';
  readonly sent: SentDatagram[] = [];
  sendErrors = 0;
  #handler: UdpDatagramHandler | undefined;

  onDatagram(handler: UdpDatagramHandler): void {
    this.#handler = handler;
  }

  /** Count every send as failed (as the real endpoints count EAGAIN, ENOBUFS…). */
  failSends = false;

  send(data: Uint8Array, length: number, to: Uint8Array, toPort: number): void {
    if (this.failSends) {
      this.sendErrors++;
      return;
    }
    this.sent.push({ data: Buffer.from(data.subarray(0, length)), to: Uint8Array.from(to), toPort });
  }

  flush(): void {}

  async close(): Promise<void> {}

  /** One receive buffer lent to every handler call, as the native endpoint lends its batch buffer. */
  readonly #receiveBuffer = Buffer.alloc(65535);

  deliver(data: Buffer, from: Uint8Array, fromPort: number): void {
    if (this.#handler === undefined) throw new Error('FakeUdpEndpoint: no handler attached');
    data.copy(this.#receiveBuffer);
    this.#handler(this.#receiveBuffer, data.length, from, fromPort);
    // What the handler did not copy is gone once it returns.
    this.#receiveBuffer.fill(0xee, 0, data.length);
  }

  /** The last query sent, decoded. */
  lastQuery(): dnsPacket.Packet {
    const last = this.sent.at(-1);
    if (last === undefined) throw new Error('FakeUdpEndpoint: nothing sent');
    return dnsPacket.decode(last.data);
  }
}

/** An answer the RecordingReplyChannel was handed, copied (the processor reuses its buffers). */
export interface RecordedAnswer {
  qname: string;
  data: Buffer;
}

/** A frontend's reply side that only records what it was asked to send or abandon. */
export class RecordingReplyChannel implements ReplyChannel {
  readonly answers: RecordedAnswer[] = [];
  readonly abandoned: Array<{ qname: string; lost: boolean }> = [];

  sendAnswer(dq: DNSQuestion, data: Buffer, length: number): void {
    this.answers.push({ qname: nameOf(dq), data: Buffer.from(data.subarray(0, length)) });
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }

  #waiting: Array<() => void> = [];

  /** Resolves at the next answer sent (delayed answers come from a timer). */
  nextAnswer(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  abandon(dq: DNSQuestion, lost?: boolean): void {
    this.abandoned.push({ qname: nameOf(dq), lost: lost === true });
  }

  /** The only answer sent, decoded. */
  onlyAnswer(): dnsPacket.Packet & { rcode?: string } {
    if (this.answers.length !== 1) throw new Error(`expected one answer, got ${this.answers.length}`);
    return dnsPacket.decode(this.answers[0]!.data) as dnsPacket.Packet & { rcode?: string };
  }
}

/** Rings stand-in: keeps the names of the queries and answers recorded. */
export class RecordingQueryRecorder implements QueryRecorder {
  readonly queries: string[] = [];
  readonly responses: string[] = [];

  recordQuery(dq: DNSQuestion): void {
    this.queries.push(nameOf(dq));
  }

  recordResponse(dr: DNSResponse): void {
    this.responses.push(nameOf(dr.question));
  }

  /** Rings keep timed-out queries too (grepq's "T.O"). */
  readonly timeouts: string[] = [];
  recordTimeout(dq: DNSQuestion, server: DownstreamServer): void {
    this.timeouts.push(`${nameOf(dq)} ${server.name}`);
  }
}

/** A dynamic-block table with one fixed verdict for the names it lists. */
export class FakeDynBlocks implements DynBlockCheck {
  readonly #blocked: Map<string, QueryVerdictCode>;
  constructor(blocked: Record<string, QueryVerdictCode>) {
    this.#blocked = new Map(Object.entries(blocked));
  }
  check(dq: DNSQuestion): QueryVerdictCode {
    return this.#blocked.get(nameOf(dq)) ?? 0;
  }
}

/**
 * A packet cache keyed by qname and qtype, storing answers as inserted and
 * handing out copies with the query's ID (what the real cache promises).
 */
export class FakeQueryCache implements QueryCache {
  readonly #entries = new Map<number, Buffer>();
  readonly #keys = new Map<string, number>();
  lookups = 0;
  inserts = 0;

  computeKey(dq: DNSQuestion): number {
    const text = `${nameOf(dq)}/${dq.view.qtype}/${dq.transport}`;
    let key = this.#keys.get(text);
    if (key === undefined) {
      key = this.#keys.size + 1;
      this.#keys.set(text, key);
    }
    return key;
  }

  lookup(dq: DNSQuestion, key: number): Buffer | undefined {
    this.lookups++;
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const copy = Buffer.from(entry);
    copy[0] = dq.packet[0]!;
    copy[1] = dq.packet[1]!;
    return copy;
  }

  insert(_dq: DNSQuestion, key: number, response: Uint8Array, length: number): boolean {
    this.inserts++;
    this.#entries.set(key, Buffer.from(response.subarray(0, length)));
    return true;
  }

  get size(): number {
    return this.#entries.size;
  }

  toString(): string {
    return 'FakeQueryCache';
  }
}

/** A seeded PRNG (mulberry32): the same sequence of numbers in [0, 1) on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A hand-moved performance.now() (the clock the query path and the backends
 * read through coarseNow): installed over the real one for a test, removed
 * after it. Milliseconds.
 */
export class FakePerformanceClock {
  now = 1_000;

  install(): void {
    performance.now = () => this.now;
  }

  uninstall(): void {
    // Drops the own property: the prototype's real now() shows through again.
    delete (performance as { now?: unknown }).now;
  }
}
