/**
 * A minimal DNS client for tests: dns-packet for encoding/decoding (an
 * independent implementation), real UDP and TCP sockets.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';

/** A decoded answer, as far as the tests look at it. */
export interface Answer {
  id?: number;
  rcode?: string;
  flag_tc?: boolean;
  flag_aa?: boolean;
  flag_rd?: boolean;
  flag_ra?: boolean;
  answers?: Array<{ type: string; name: string; data: unknown; ttl?: number }>;
}

export interface QueryOptions {
  type?: dnsPacket.RecordType;
  id?: number;
  rd?: boolean;
  timeoutMs?: number;
  edns?: boolean;
}

export function encodeQuery(name: string, opts: QueryOptions = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? Math.floor(Math.random() * 65536),
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ type: opts.type ?? 'A', name, class: 'IN' }],
    ...(opts.edns ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer] } : {}),
  });
}

/** Send raw bytes over UDP; resolves with the first datagram back, or undefined after the timeout. */
export function udpExchange(port: number, payload: Buffer, timeoutMs = 2000, host = '127.0.0.1'): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, timeoutMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(payload, port, host);
  });
}

export async function udpQuery(port: number, name: string, opts: QueryOptions = {}): Promise<Answer | undefined> {
  const raw = await udpExchange(port, encodeQuery(name, opts), opts.timeoutMs ?? 2000);
  return raw ? (dnsPacket.decode(raw) as unknown as Answer) : undefined;
}

/** Several queries on one TCP connection, all sent at once (pipelined); answers in arrival order. */
export function tcpQueries(port: number, queries: Buffer[], timeoutMs = 3000): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const answers: Answer[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP: got ${answers.length} of ${queries.length} answers before the timeout`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(Buffer.concat(queries.map((q) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]))));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        answers.push(dnsPacket.decode(buf.subarray(2, 2 + len)) as unknown as Answer);
        buf = buf.subarray(2 + len);
      }
      if (answers.length === queries.length) {
        clearTimeout(timer);
        socket.end();
        resolve(answers);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (answers.length < queries.length) reject(new Error(`TCP: connection closed after ${answers.length} of ${queries.length} answers`));
    });
  });
}

/** Send raw bytes framed on a new TCP connection; resolves with the bytes of the first answer, rejects if the connection closes first. */
export function tcpExchange(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    socket.on('connect', () => {
      const f = Buffer.alloc(2 + payload.length);
      f.writeUInt16BE(payload.length, 0);
      payload.copy(f, 2);
      socket.write(f);
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        socket.end();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed without an answer')));
  });
}

export function tcpQuery(port: number, name: string, opts: QueryOptions = {}): Promise<Answer> {
  return tcpQueries(port, [encodeQuery(name, opts)], opts.timeoutMs ?? 3000).then((a) => a[0]!);
}

/** Wait (without sleeping blindly) until a condition holds, checking on each tick; fails after timeoutMs. */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
