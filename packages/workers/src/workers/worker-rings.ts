/**
 * The rings with data-plane workers. Each worker records its queries and
 * answers into its own rings, exactly as one process does: nothing new on
 * the query path. When the control plane reads the rings (a console
 * `topClients`, `grepq`, `exceed*`, a dynamic-block group's `apply()`),
 * it first asks every worker for the entries recorded since it last asked
 * (worker-state-pull.ts) and appends them to its copy of that worker's
 * shards; its own Rings object reads those copies, so every analysis sees
 * every worker's entries, shard by shard, as dnsdist walks its shards.
 *
 * The configured size is shared out: with N workers each one keeps
 * capacity / N entries over shards / N (rounded up) shards, so the
 * process holds what the configuration asked for, in as many shards.
 */
import { performance } from 'node:perf_hooks';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import type { DownstreamServerInfo } from '@dnsdist-ts/dataplane/query/downstream-server-info.js';
import { QueryRing, ResponseRing, type QueryColumns, type ResponseColumns, type Rings } from '@dnsdist-ts/dataplane/rings/index.js';

/** One worker's share of setRingBuffersSize(capacity, shards). */
export function ringShareOfWorker(capacity: number, shards: number, workers: number): { capacity: number; shards: number } {
  const n = Math.max(1, workers);
  return { capacity: Math.floor(capacity / n), shards: Math.max(1, Math.ceil(shards / n)) };
}

/** A worker resizes its rings to its share (after the configuration ran, before it answers queries). */
export function takeRingShare(rings: Rings, workers: number): void {
  if (workers <= 1) return;
  const share = ringShareOfWorker(rings.capacity, rings.getNumberOfShards(), workers);
  rings.setSize(share.capacity, share.shards);
}

/** What the control plane asks a worker for. */
export interface RingRequest {
  /** The rings the control plane's copy comes from; another value (a restarted worker) means "send everything". */
  epoch: number;
  /** The highest sequence number already copied. */
  since: number;
}

/** Query entries of one shard, oldest first; `client` indexes {@link RingDelta.clients}. */
export interface QueryDelta extends QueryColumns {
  client: Int32Array;
}

/** Answer entries of one shard, oldest first; `server` indexes the worker's backends (-1: none). */
export interface ResponseDelta extends ResponseColumns {
  client: Int32Array;
  server: Int32Array;
}

/** A worker's answer: the entries recorded since the request's `since`. */
export interface RingDelta {
  epoch: number;
  /** The worker's performance.timeOrigin: entry times are on its clock. */
  timeOrigin: number;
  perShard: number;
  lastSeq: number;
  queries: QueryDelta[];
  responses: ResponseDelta[];
  /** Clients as [address bytes, port]. */
  clients: Array<[Uint8Array, number]>;
}

/** A number that tells this worker's rings from a previous worker's (restarts). */
const EPOCH = Math.floor(Math.random() * 2 ** 31) + 1;

/** Entries with seq > since in a shard: they are the newest ones, in order. */
function firstNew(seq: Float64Array, ring: { count: number; slot(k: number): number }, since: number): number {
  let k = ring.count;
  while (k > 0 && seq[ring.slot(k - 1)]! > since) k--;
  return k;
}

/** The worker side: what its rings recorded since `request.since` (everything for another epoch). */
export function ringDelta(rings: Rings, request: RingRequest, servers: readonly DownstreamServerInfo[]): RingDelta {
  const since = request.epoch === EPOCH ? request.since : 0;
  let lastSeq = since;
  const clients: Array<[Uint8Array, number]> = [];
  const clientIndex = new Map<SocketAddress, number>();
  const byText = new Map<string, number>();
  const clientOf = (c: SocketAddress | null): number => {
    if (c === null) return -1;
    let i = clientIndex.get(c);
    if (i !== undefined) return i;
    const key = `${c.address}#${c.port}`;
    i = byText.get(key);
    if (i === undefined) {
      i = clients.length;
      clients.push([c.bytes, c.port]);
      byText.set(key, i);
    }
    clientIndex.set(c, i);
    return i;
  };
  const serverIndex = new Map<DownstreamServerInfo, number>(servers.map((s, i) => [s, i]));
  const queries = rings.queryRings.map((ring): QueryDelta => {
    const from = firstNew(ring.seq, ring, since);
    const n = ring.count - from;
    const d: QueryDelta = {
      time: new Float64Array(n),
      seq: new Float64Array(n),
      qname: new Array<string>(n),
      qtype: new Uint16Array(n),
      size: new Uint32Array(n),
      flags: new Uint16Array(n),
      id: new Uint16Array(n),
      transport: new Uint8Array(n),
      client: new Int32Array(n),
    };
    for (let k = 0; k < n; k++) {
      const i = ring.slot(from + k);
      (d.time as Float64Array)[k] = ring.time[i]!;
      (d.seq as Float64Array)[k] = ring.seq[i]!;
      (d.qname as string[])[k] = ring.qname[i]!;
      (d.qtype as Uint16Array)[k] = ring.qtype[i]!;
      (d.size as Uint32Array)[k] = ring.size[i]!;
      (d.flags as Uint16Array)[k] = ring.flags[i]!;
      (d.id as Uint16Array)[k] = ring.id[i]!;
      (d.transport as Uint8Array)[k] = ring.transport[i]!;
      d.client[k] = clientOf(ring.client[i]!);
      if (ring.seq[i]! > lastSeq) lastSeq = ring.seq[i]!;
    }
    return d;
  });
  const responses = rings.responseRings.map((ring): ResponseDelta => {
    const from = firstNew(ring.seq, ring, since);
    const n = ring.count - from;
    const d: ResponseDelta = {
      time: new Float64Array(n),
      seq: new Float64Array(n),
      qname: new Array<string>(n),
      qtype: new Uint16Array(n),
      size: new Uint32Array(n),
      flags: new Uint16Array(n),
      id: new Uint16Array(n),
      ancount: new Uint16Array(n),
      latency: new Float64Array(n),
      transport: new Uint8Array(n),
      client: new Int32Array(n),
      server: new Int32Array(n),
    };
    for (let k = 0; k < n; k++) {
      const i = ring.slot(from + k);
      (d.time as Float64Array)[k] = ring.time[i]!;
      (d.seq as Float64Array)[k] = ring.seq[i]!;
      (d.qname as string[])[k] = ring.qname[i]!;
      (d.qtype as Uint16Array)[k] = ring.qtype[i]!;
      (d.size as Uint32Array)[k] = ring.size[i]!;
      (d.flags as Uint16Array)[k] = ring.flags[i]!;
      (d.id as Uint16Array)[k] = ring.id[i]!;
      (d.ancount as Uint16Array)[k] = ring.ancount[i]!;
      (d.latency as Float64Array)[k] = ring.latency[i]!;
      (d.transport as Uint8Array)[k] = ring.transport[i]!;
      d.client[k] = clientOf(ring.client[i]!);
      const server = ring.server[i];
      d.server[k] = server ? (serverIndex.get(server) ?? -1) : -1;
      if (ring.seq[i]! > lastSeq) lastSeq = ring.seq[i]!;
    }
    return d;
  });
  return {
    epoch: EPOCH,
    timeOrigin: performance.timeOrigin,
    perShard: rings.queryRings[0]?.capacity ?? 0,
    lastSeq,
    queries,
    responses,
    clients,
  };
}

interface WorkerCopy {
  epoch: number;
  since: number;
  queries: QueryRing[];
  responses: ResponseRing[];
}

/**
 * The control plane's copy of every worker's rings, read through its own
 * Rings object ({@link Rings.viewShards}).
 */
export class WorkerRingsView {
  readonly #rings: Rings;
  readonly #copies: WorkerCopy[];
  readonly #servers: () => readonly DownstreamServerInfo[];

  /**
   * @param rings the control plane's rings: sized by the configuration,
   * they give each worker's share; from now on they read the copies.
   * @param servers the control plane's backends, in the workers' order.
   */
  constructor(rings: Rings, workers: number, servers: () => readonly DownstreamServerInfo[]) {
    this.#rings = rings;
    this.#servers = servers;
    const share = ringShareOfWorker(rings.capacity, rings.getNumberOfShards(), workers);
    const perShard = Math.floor(share.capacity / share.shards);
    this.#copies = Array.from({ length: workers }, () => ({
      epoch: 0,
      since: 0,
      queries: Array.from({ length: share.shards }, () => new QueryRing(perShard)),
      responses: Array.from({ length: share.shards }, () => new ResponseRing(perShard)),
    }));
    this.#rebuildView();
  }

  #rebuildView(): void {
    this.#rings.viewShards(
      this.#copies.flatMap((c) => c.queries),
      this.#copies.flatMap((c) => c.responses),
    );
  }

  /** What to ask worker `index` for. */
  request(index: number): RingRequest {
    const c = this.#copies[index]!;
    return { epoch: c.epoch, since: c.since };
  }

  /** Worker `index` ended: its rings went with it, and so does the copy. */
  forget(index: number): void {
    const c = this.#copies[index]!;
    for (const r of c.queries) r.clear();
    for (const r of c.responses) r.clear();
    c.epoch = 0;
    c.since = 0;
  }

  /** Append what worker `index` sent. */
  apply(index: number, delta: RingDelta): void {
    const c = this.#copies[index]!;
    if (delta.epoch !== c.epoch) {
      this.forget(index);
      c.epoch = delta.epoch;
    }
    if (delta.queries.length !== c.queries.length || (c.queries[0]?.capacity ?? 0) !== delta.perShard) {
      // Not the layout this side computed (a worker sized its rings otherwise): follow the worker's.
      c.queries = Array.from({ length: delta.queries.length }, () => new QueryRing(delta.perShard));
      c.responses = Array.from({ length: delta.responses.length }, () => new ResponseRing(delta.perShard));
      this.#rebuildView();
    }
    c.since = delta.lastSeq;
    const offset = delta.timeOrigin - performance.timeOrigin;
    const clients = delta.clients.map(([bytes, port]) => new SocketAddress(bytes, port));
    const servers = this.#servers();
    delta.queries.forEach((d, shard) => {
      const ring = c.queries[shard]!;
      for (let k = 0; k < d.seq.length; k++) ring.append(d, k, clients[d.client[k]!] ?? null, offset);
    });
    delta.responses.forEach((d, shard) => {
      const ring = c.responses[shard]!;
      for (let k = 0; k < d.seq.length; k++) {
        ring.append(d, k, clients[d.client[k]!] ?? null, servers[d.server[k]!] ?? null, offset);
      }
    });
  }
}
