/**
 * TCP connections to a `useProxyProtocol` backend. Each opens with a proxy
 * protocol header naming one client, so, as in dnsdist 1.7, a connection
 * belongs to the client connection it was opened for: that client's later
 * queries reuse it (pipelined) as long as they carry the same TLVs, no other
 * client's query ever goes on it, and it is closed with the client's
 * connection. A query from a UDP client (tcpOnly backend) gets a connection
 * of its own, closed after the answer.
 */
import net from 'node:net';
import { formatAddress, type ProxyProtocolValue } from '@dnsdist-ts/dns';
import type { DNSQuestion } from '../query/dns-question.js';
import type { ReplyChannel } from './inflight-query.js';
import { makeQueryProxyHeader, sameProxyProtocolValues } from './proxy-protocol-payload.js';

/** What these connections need of their backend. */
export interface ProxiedTcpOwner {
  readonly config: { address: { bytes: Uint8Array; port: number } };
  readonly counters: {
    tcpNewConnections: number;
    tcpReusedConnections: number;
    tcpDiedSendingQuery: number;
    tcpDiedReadingResponse: number;
    tcpGaveUp: number;
    tcpReadTimeouts: number;
    drops: number;
  };
  answered(latencyUsec: number): void;
  tcpQueryFailed(): void;
  answerMatches(data: Buffer, length: number, dq: DNSQuestion): boolean;
}

type AnswerHandler = (dq: DNSQuestion, reply: ReplyChannel, cacheKey: number, latencyUsec: number, data: Buffer, length: number) => void;
type LostHandler = (dq: DNSQuestion, reply: ReplyChannel) => void;

interface Pending {
  origId: number;
  dq: DNSQuestion;
  reply: ReplyChannel;
  cacheKey: number;
  sentAt: number;
  retries: number;
}

/** Queries one proxied connection carries at once before the client's next one opens another. */
const MAX_PIPELINED = 100;
/** A query whose connection died before its answer goes out again once, on a new connection. */
const MAX_RETRIES = 1;

class ProxiedConnection {
  readonly socket: net.Socket;
  readonly header: Buffer;
  readonly client: ReplyChannel | undefined;
  readonly values: readonly ProxyProtocolValue[] | undefined;
  readonly pending = new Map<number, Pending>();
  rest: Buffer = Buffer.alloc(0);
  connected = false;
  dead = false;
  #nextId = 0;

  constructor(socket: net.Socket, header: Buffer, client: ReplyChannel | undefined, values: readonly ProxyProtocolValue[] | undefined) {
    this.socket = socket;
    this.header = header;
    this.client = client;
    this.values = values;
  }

  allocateId(): number {
    for (let i = 0; i < 65536; i++) {
      const id = this.#nextId;
      this.#nextId = (id + 1) & 0xffff;
      if (!this.pending.has(id)) return id;
    }
    return -1;
  }
}

export class ProxiedTcpConnections {
  readonly #owner: ProxiedTcpOwner;
  readonly #onAnswer: AnswerHandler;
  readonly #onLost: LostHandler;
  /** Open connections by the client connection that owns them (undefined: one-query connections of UDP clients). */
  readonly #byClient = new Map<ReplyChannel | undefined, ProxiedConnection[]>();
  #closed = false;

  constructor(owner: ProxiedTcpOwner, onAnswer: AnswerHandler, onLost: LostHandler) {
    this.#owner = owner;
    this.#onAnswer = onAnswer;
    this.#onLost = onLost;
  }

  get connectionCount(): number {
    let n = 0;
    for (const list of this.#byClient.values()) n += list.length;
    return n;
  }

  send(dq: DNSQuestion, reply: ReplyChannel, cacheKey: number): void {
    if (this.#closed || dq.remote.family !== dq.local.family) {
      // Closed, or a client whose addresses mix IPv4 and IPv6 (no header can say it): dropped, as dnsdist does.
      this.#owner.counters.tcpGaveUp++;
      this.#owner.tcpQueryFailed();
      this.#onLost(dq, reply);
      return;
    }
    // A connection can only belong to a client whose end we learn of; any other gets one per query.
    const client = dq.transport === 'tcp' && reply.onClose !== undefined ? reply : undefined;
    let conn: ProxiedConnection | undefined;
    if (client !== undefined) {
      for (const c of this.#byClient.get(client) ?? []) {
        if (!c.dead && c.pending.size < MAX_PIPELINED && sameProxyProtocolValues(c.values, dq.proxyProtocolValues)) {
          conn = c;
          this.#owner.counters.tcpReusedConnections++;
          break;
        }
      }
    }
    conn ??= this.#open(makeQueryProxyHeader(dq, true)!, client, dq.proxyProtocolValues);
    this.#write(conn, { origId: dq.view.id, dq, reply, cacheKey, sentAt: performance.now(), retries: 0 });
  }

  #open(header: Buffer, client: ReplyChannel | undefined, values: readonly ProxyProtocolValue[] | undefined): ProxiedConnection {
    const { bytes, port } = this.#owner.config.address;
    const socket = net.connect({ host: formatAddress(bytes), port });
    socket.setNoDelay(true);
    // Values are kept as they were sent: the query's list may be changed by the next query's rules.
    const conn = new ProxiedConnection(socket, header, client, values?.slice());
    this.#owner.counters.tcpNewConnections++;
    let list = this.#byClient.get(client);
    if (list === undefined) {
      list = [];
      this.#byClient.set(client, list);
      // The client's connection ends: so do the backend connections it owned.
      client?.onClose?.(() => this.#release(client));
    }
    list.push(conn);
    socket.write(header);
    socket.on('connect', () => {
      conn.connected = true;
    });
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
    const fail = (): void => this.#fail(conn);
    socket.on('error', fail);
    socket.on('end', fail);
    socket.on('close', fail);
    return conn;
  }

  #write(conn: ProxiedConnection, p: Pending): void {
    const id = conn.allocateId();
    conn.pending.set(id, p);
    const frame = Buffer.allocUnsafe(p.dq.length + 2);
    frame.writeUInt16BE(p.dq.length, 0);
    p.dq.packet.copy(frame, 2, 0, p.dq.length);
    frame.writeUInt16BE(id, 2);
    conn.socket.write(frame);
  }

  #onData(conn: ProxiedConnection, chunk: Buffer): void {
    let buf = conn.rest.length === 0 ? chunk : Buffer.concat([conn.rest, chunk]);
    while (buf.length >= 2 && !conn.dead) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      this.#onMessage(conn, Buffer.from(buf.subarray(2, 2 + len)));
      buf = buf.subarray(2 + len);
    }
    conn.rest = conn.dead ? Buffer.alloc(0) : Buffer.from(buf);
  }

  #onMessage(conn: ProxiedConnection, data: Buffer): void {
    if (data.length < 12) return;
    const id = data.readUInt16BE(0);
    const p = conn.pending.get(id);
    if (p === undefined) return;
    if (!this.#owner.answerMatches(data, data.length, p.dq)) {
      p.retries = MAX_RETRIES;
      return;
    }
    conn.pending.delete(id);
    data.writeUInt16BE(p.origId, 0);
    const latencyUsec = (performance.now() - p.sentAt) * 1000;
    this.#owner.answered(latencyUsec);
    this.#owner.tcpQueryFailed(); // outstanding--, the query is done
    // A UDP client's connection carried its one query.
    if (conn.client === undefined && conn.pending.size === 0) this.#drop(conn);
    this.#onAnswer(p.dq, p.reply, p.cacheKey, latencyUsec, data, data.length);
  }

  /** Take a connection out without failing its queries (it has none left, or they are handled by the caller). */
  #drop(conn: ProxiedConnection): void {
    conn.dead = true;
    const list = this.#byClient.get(conn.client);
    if (list !== undefined) {
      const i = list.indexOf(conn);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0 && conn.client === undefined) this.#byClient.delete(undefined);
    }
    conn.socket.destroy();
  }

  /** The client connection closed: its backend connections close, what they still wait for is lost. */
  #release(client: ReplyChannel): void {
    const list = this.#byClient.get(client);
    this.#byClient.delete(client);
    for (const conn of list ?? []) {
      conn.dead = true;
      conn.socket.destroy();
      for (const p of conn.pending.values()) this.#lose(p);
      conn.pending.clear();
    }
  }

  #lose(p: Pending): void {
    this.#owner.counters.tcpGaveUp++;
    this.#owner.counters.drops++;
    this.#owner.tcpQueryFailed();
    this.#onLost(p.dq, p.reply);
  }

  #fail(conn: ProxiedConnection): void {
    if (conn.dead) return;
    this.#drop(conn);
    const pending = [...conn.pending.values()];
    conn.pending.clear();
    let fresh: ProxiedConnection | undefined;
    for (const p of pending) {
      if (conn.connected) this.#owner.counters.tcpDiedReadingResponse++;
      else this.#owner.counters.tcpDiedSendingQuery++;
      if (p.retries < MAX_RETRIES && !this.#closed) {
        fresh ??= this.#open(conn.header, conn.client, conn.values);
        this.#write(fresh, { ...p, retries: p.retries + 1 });
        continue;
      }
      this.#lose(p);
    }
  }

  /** Fail queries waiting longer than `timeoutMs`. */
  expireTimeouts(now: number, timeoutMs: number): number {
    let n = 0;
    for (const list of this.#byClient.values()) {
      for (const conn of list) {
        for (const [id, p] of conn.pending) {
          if (now - p.sentAt > timeoutMs) {
            conn.pending.delete(id);
            this.#owner.counters.tcpReadTimeouts++;
            this.#owner.counters.drops++;
            this.#owner.tcpQueryFailed();
            this.#onLost(p.dq, p.reply);
            n++;
          }
        }
      }
    }
    return n;
  }

  close(): void {
    this.#closed = true;
    for (const list of this.#byClient.values()) for (const c of list) c.socket.destroy();
    this.#byClient.clear();
  }
}
