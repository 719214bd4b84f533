/**
 * Generators of hostile traffic for the hostile-input suite: malformed DNS
 * datagrams, broken TCP streams, console frames and HTTP requests, all from
 * a seeded generator so that a failure can be replayed with its seed.
 */
import { encodeQuery } from '../support/dns-client.js';

/** A small seeded PRNG (mulberry32): the suite must be replayable from its seed. */
export class SeededRandom {
  #state: number;
  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

const NAMES = ['www.example.test', 'example.test', 'a.b.c.d.e.f.example.test', 'blocked.example.test', 'x'.repeat(63) + '.test'];

/** A valid query to start a mutation from. */
function baseQuery(rnd: SeededRandom): Buffer {
  return encodeQuery(rnd.pick(NAMES), {
    id: rnd.int(65536),
    type: rnd.pick(['A', 'AAAA', 'TXT', 'MX'] as const),
    edns: rnd.next() < 0.5,
  });
}

/**
 * One malformed (or merely odd) DNS message: random bytes, truncations,
 * bit flips, lying section counts, compression loops, over-long labels,
 * responses and other opcodes.
 */
export function hostileDnsMessage(rnd: SeededRandom): Buffer {
  const q = baseQuery(rnd);
  switch (rnd.int(10)) {
    case 0:
      return rnd.bytes(rnd.int(600));
    case 1:
      return q.subarray(0, rnd.int(q.length));
    case 2: {
      const m = Buffer.from(q);
      for (let i = 0, n = 1 + rnd.int(8); i < n; i++) m[rnd.int(m.length)]! ^= 1 << rnd.int(8);
      return m;
    }
    case 3: {
      // Section counts that lie.
      const m = Buffer.from(q);
      m.writeUInt16BE(rnd.pick([0, 2, 255, 65535]), 4 + 2 * rnd.int(4));
      return m;
    }
    case 4: {
      // A name that is a compression pointer to itself, or to beyond the message.
      const m = Buffer.from(q.subarray(0, 12));
      return Buffer.concat([m, Buffer.from([0xc0, rnd.pick([12, 0xff]), 0, 1, 0, 1])]);
    }
    case 5: {
      // A label longer than 63, or a name longer than 255.
      const m = Buffer.from(q.subarray(0, 12));
      const labels =
        rnd.next() < 0.5
          ? [Buffer.from([64 + rnd.int(64)]), rnd.bytes(100)]
          : Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), rnd.bytes(63)]));
      return Buffer.concat([m, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
    }
    case 6: {
      // QR set (a "response" sent to the proxy), or an unusual opcode.
      const m = Buffer.from(q);
      m[2] = rnd.next() < 0.5 ? m[2]! | 0x80 : (m[2]! & 0x87) | (rnd.int(16) << 3);
      return m;
    }
    case 7: {
      // Trailing garbage after a valid query.
      return Buffer.concat([q, rnd.bytes(1 + rnd.int(200))]);
    }
    case 8: {
      // QDCOUNT 0 with nothing after the header.
      const m = Buffer.from(q.subarray(0, 12));
      m.writeUInt16BE(0, 4);
      return m;
    }
    default:
      return q;
  }
}

/**
 * What one hostile TCP client sends: length prefixes that lie, partial
 * frames, zero lengths, garbage messages; `closeEarly` says whether the
 * client hangs up without waiting for anything.
 */
export function hostileTcpStream(rnd: SeededRandom): { chunks: Buffer[]; closeEarly: boolean } {
  const chunks: Buffer[] = [];
  for (let i = 0, n = 1 + rnd.int(4); i < n; i++) {
    const msg = hostileDnsMessage(rnd);
    const len = Buffer.alloc(2);
    switch (rnd.int(4)) {
      case 0:
        len.writeUInt16BE(msg.length);
        chunks.push(len, msg);
        break;
      case 1:
        // A length larger than what follows.
        len.writeUInt16BE(Math.min(65535, msg.length + 1 + rnd.int(1000)));
        chunks.push(len, msg);
        break;
      case 2:
        len.writeUInt16BE(rnd.pick([0, 1, 11]));
        chunks.push(len, msg.subarray(0, len.readUInt16BE()));
        break;
      default:
        // Split in pieces.
        len.writeUInt16BE(msg.length);
        chunks.push(Buffer.concat([len, msg.subarray(0, msg.length >> 1)]), msg.subarray(msg.length >> 1));
    }
  }
  return { chunks, closeEarly: rnd.next() < 0.5 };
}

/** The bytes of one hostile console connection (before or after a nonce exchange). */
export function hostileConsoleBytes(rnd: SeededRandom): { handshake: boolean; bytes: Buffer } {
  const frame = (payload: Buffer, declared = payload.length): Buffer => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(declared >>> 0);
    return Buffer.concat([h, payload]);
  };
  switch (rnd.int(5)) {
    case 0:
      return { handshake: false, bytes: rnd.bytes(rnd.int(24)) }; // a half-sent nonce
    case 1:
      return { handshake: true, bytes: frame(rnd.bytes(rnd.int(200))) }; // a frame that does not decrypt
    case 2:
      return { handshake: true, bytes: frame(rnd.bytes(16), 0xffffffff) }; // a length far over the limit
    case 3:
      return { handshake: true, bytes: frame(Buffer.alloc(0)) }; // a ping
    default:
      return { handshake: false, bytes: rnd.bytes(24 + rnd.int(100)) };
  }
}

const PATHS = [
  '/',
  '/metrics',
  '/jsonstat?command=stats',
  '/api/v1/servers/localhost',
  '/api/v1/servers/localhost/config',
  '/api/v1/servers/localhost/statistics',
  '/api/v1/servers/localhost/config/allow-from',
  '/../../etc/passwd',
  '/%ff%fe',
  '/' + 'a'.repeat(5000),
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'BREW', ''];

/** One raw HTTP/1.1 request: odd methods, paths, headers, credentials and bodies. */
export function hostileHttpRequest(rnd: SeededRandom, apiKey: string): { bytes: Buffer; closeEarly: boolean } {
  const method = rnd.pick(METHODS);
  const path = rnd.pick(PATHS);
  const headers: string[] = ['Host: 127.0.0.1'];
  const auth = rnd.int(4);
  if (auth === 1) headers.push(`X-API-Key: ${apiKey}`);
  if (auth === 2) headers.push('X-API-Key: wrong');
  if (auth === 3) headers.push(`Authorization: Basic ${Buffer.from('admin:' + 'x'.repeat(rnd.int(3000))).toString('base64')}`);
  let body: Buffer = Buffer.alloc(0);
  switch (rnd.int(6)) {
    case 0:
      body = rnd.bytes(rnd.int(2000));
      headers.push(`Content-Length: ${body.length}`);
      break;
    case 1:
      // A body that lies about its length.
      body = rnd.bytes(rnd.int(100));
      headers.push(`Content-Length: ${body.length + 1 + rnd.int(2_000_000)}`);
      break;
    case 2: {
      const piece = rnd.bytes(1 + rnd.int(500));
      body = Buffer.concat([
        Buffer.from(`${piece.length.toString(16)}\r\n`),
        piece,
        Buffer.from(rnd.next() < 0.5 ? '\r\n0\r\n\r\n' : '\r\nzz\r\n'),
      ]);
      headers.push('Transfer-Encoding: chunked');
      break;
    }
    case 3:
      headers.push(`X-Junk: ${'j'.repeat(rnd.int(20000))}`);
      break;
    case 4:
      body = Buffer.from('{"not": json');
      headers.push('Content-Type: application/json', `Content-Length: ${body.length}`);
      break;
    default:
  }
  const head =
    rnd.next() < 0.1 ? rnd.bytes(rnd.int(300)).toString('latin1') : `${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
  return { bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]), closeEarly: rnd.next() < 0.3 };
}
