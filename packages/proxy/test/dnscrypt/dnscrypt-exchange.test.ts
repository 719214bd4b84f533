import sodium from 'libsodium-wrappers';
import { generateCertificate, sodiumReady } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import { DNSCryptCertificatePair, DNSCryptContext } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-context.js';
import {
  DNSCRYPT_RESOLVER_MAGIC,
  encryptDNSCryptResponse,
  parseDNSCryptQuery,
  type DNSCryptQueryState,
} from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-exchange.js';

/** A minimal DNSCrypt client (the protocol's client side, written from the spec for this test). */
class TestClient {
  readonly keys = sodium.crypto_box_keypair();
  readonly nonce = sodium.randombytes_buf(12);
  constructor(readonly pair: DNSCryptCertificatePair) {}

  encrypt(query: Uint8Array, padTo = 256): Buffer {
    const header = Buffer.concat([Buffer.from(this.pair.cert.clientMagic), Buffer.from(this.keys.publicKey), Buffer.from(this.nonce)]);
    const plainSize = Math.max(padTo - header.length - 16, query.length + 1);
    const plain = Buffer.alloc(plainSize);
    Buffer.from(query).copy(plain);
    plain[query.length] = 0x80;
    const nonce = Buffer.concat([Buffer.from(this.nonce), Buffer.alloc(12)]);
    return Buffer.concat([header, sodium.crypto_box_easy(plain, nonce, this.pair.cert.resolverPublicKey, this.keys.privateKey)]);
  }

  decrypt(answer: Buffer): Buffer {
    expect(answer.subarray(0, 8)).toEqual(DNSCRYPT_RESOLVER_MAGIC);
    expect(answer.subarray(8, 20)).toEqual(Buffer.from(this.nonce));
    const plain = Buffer.from(
      sodium.crypto_box_open_easy(answer.subarray(32), answer.subarray(8, 32), this.pair.cert.resolverPublicKey, this.keys.privateKey),
    );
    let end = plain.length - 1;
    while (plain[end] === 0) end--;
    expect(plain[end]).toBe(0x80);
    return plain.subarray(0, end);
  }
}

function query(name: string, qtype: number, id = 0x1234): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  const q = Buffer.concat([
    Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
    Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]),
  ]);
  return q;
}

let ctx: DNSCryptContext;
let pair: DNSCryptCertificatePair;
const now = 1700000000;
beforeAll(async () => {
  await sodiumReady();
  const provider = sodium.crypto_sign_keypair();
  const { cert, keys } = generateCertificate(provider.privateKey, 42, now - 60, now + 3600);
  pair = new DNSCryptCertificatePair(cert, keys.privateKey);
  ctx = new DNSCryptContext('2.provider.name', [pair]);
});

describe('DNSCrypt exchange', () => {
  test('the certificate query gets one TXT record per valid active certificate, 124 bytes each, TTL 7200', () => {
    const r = parseDNSCryptQuery(ctx, query('2.Provider.Name', 16), now);
    expect(r.kind).toBe('certificate');
    const a = (r as { answer: Buffer }).answer;
    expect(a.readUInt16BE(0)).toBe(0x1234);
    expect(a[2]! & 0x80).toBe(0x80);
    expect(a.readUInt16BE(6)).toBe(1);
    const rr = a.length - 137;
    expect(a.readUInt16BE(rr + 2)).toBe(16);
    expect(a.readUInt32BE(rr + 6)).toBe(7200);
    expect(a[rr + 12]).toBe(124);
    expect(a.subarray(rr + 13)).toEqual(pair.wire);
    // Expired (or not yet valid) certificates are not offered.
    expect(parseDNSCryptQuery(ctx, query('2.provider.name', 16), now + 7200)).toMatchObject({ kind: 'certificate' });
    expect((parseDNSCryptQuery(ctx, query('2.provider.name', 16), now + 7200) as { answer: Buffer }).answer.readUInt16BE(6)).toBe(0);
  });

  test('a plain query for anything else, or of another type, is invalid (dropped)', () => {
    expect(parseDNSCryptQuery(ctx, query('other.name', 16), now).kind).toBe('invalid');
    expect(parseDNSCryptQuery(ctx, query('2.provider.name', 1), now).kind).toBe('invalid');
  });

  test('a query encrypted by a client opens to the DNS query; the answer opens on the client with its nonce', () => {
    const client = new TestClient(pair);
    const q = query('a.example', 1);
    const r = parseDNSCryptQuery(ctx, client.encrypt(q), now);
    expect(r.kind).toBe('encrypted');
    const { query: plain, state } = r as { query: Buffer; state: DNSCryptQueryState };
    expect(plain).toEqual(q);
    const answer = Buffer.from(q);
    answer[2] = answer[2]! | 0x80;
    const enc = encryptDNSCryptResponse(state, answer, false);
    expect(enc.length).toBeLessThanOrEqual(256);
    expect((enc.length - 32 - 16) % 64).toBe(0);
    expect(client.decrypt(enc)).toEqual(answer);
  });

  test('over UDP an answer larger than the query comes back truncated (TC, question only); over TCP it comes whole', () => {
    const client = new TestClient(pair);
    const q = query('big.example', 16);
    const { state } = parseDNSCryptQuery(ctx, client.encrypt(q), now) as { state: DNSCryptQueryState };
    const big = Buffer.concat([q, Buffer.alloc(600, 0x41)]);
    big.writeUInt16BE(1, 6);
    const udp = client.decrypt(encryptDNSCryptResponse(state, big, false));
    expect(udp).toEqual(Buffer.concat([q.subarray(0, 2), Buffer.from([q[2]! | 0x02, q[3]!, 0, 1, 0, 0, 0, 0, 0, 0]), q.subarray(12)]));
    expect(client.decrypt(encryptDNSCryptResponse(state, big, true))).toEqual(big);
  });

  test('a box that does not open or a bad padding make the query invalid', () => {
    const client = new TestClient(pair);
    const enc = client.encrypt(query('a.example', 1));
    enc[enc.length - 1] = enc[enc.length - 1]! ^ 1;
    expect(parseDNSCryptQuery(ctx, enc, now).kind).toBe('invalid');
    const nopad = Buffer.concat([
      Buffer.from(pair.cert.clientMagic),
      Buffer.from(client.keys.publicKey),
      Buffer.from(client.nonce),
      sodium.crypto_box_easy(
        Buffer.alloc(64, 1),
        Buffer.concat([Buffer.from(client.nonce), Buffer.alloc(12)]),
        pair.cert.resolverPublicKey,
        client.keys.privateKey,
      ),
    ]);
    expect(parseDNSCryptQuery(ctx, nopad, now)).toMatchObject({ kind: 'invalid', reason: 'bad padding' });
  });

  test('an inactive certificate is no longer offered but still opens the queries of clients that have it', () => {
    const client = new TestClient(pair);
    ctx.markInactive(42);
    try {
      expect((parseDNSCryptQuery(ctx, query('2.provider.name', 16), now) as { answer: Buffer }).answer.readUInt16BE(6)).toBe(0);
      expect(parseDNSCryptQuery(ctx, client.encrypt(query('a.example', 1)), now).kind).toBe('encrypted');
    } finally {
      ctx.markActive(42);
    }
  });
});
