import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { ageResponseTtls, scanResponseTtls, setResponseTtls, type ResponseTtlScan } from '@dnsdist-ts/dataplane/cache/index.js';
import { a, soa } from './cache-fixtures.js';

function encode(parts: { answers?: dnsPacket.Answer[]; authorities?: dnsPacket.Answer[]; additionals?: dnsPacket.Answer[] }): Buffer {
  return dnsPacket.encode({ type: 'response', id: 1, flags: 0, questions: [{ name: 'q.example', type: 'A', class: 'IN' }], ...parts });
}

function scan(buf: Uint8Array, length = buf.length): ResponseTtlScan {
  return scanResponseTtls(buf, length, { minTtl: 0, soaInAuthority: true });
}

function ttlsOf(buf: Buffer): number[] {
  const p = dnsPacket.decode(buf);
  return [...(p.answers ?? []), ...(p.authorities ?? []), ...(p.additionals ?? [])].map((r) => (r as { ttl?: number }).ttl ?? -1);
}

const OPT = { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer;

/** A response with one A record whose owner is a compression pointer to the question (0xc00c), written byte by byte. */
function compressedAnswer(ttl: number): Buffer {
  const question = [1, 0x71, 7, ...Buffer.from('example'), 0, 0, 1, 0, 1];
  const record = [0xc0, 0x0c, 0, 1, 0, 1, ttl >>> 24, (ttl >>> 16) & 0xff, (ttl >>> 8) & 0xff, ttl & 0xff, 0, 4, 192, 0, 2, 1];
  return Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, ...question, ...record, ...record]);
}

describe('scanResponseTtls', () => {
  it('finds the lowest TTL over answer, authority and additional records', () => {
    const buf = encode({ answers: [a('q.example', 500)], authorities: [a('ns.example', 400)], additionals: [a('glue.example', 300)] });
    expect(scan(buf)).toEqual({ minTtl: 300, soaInAuthority: false });
  });

  it('stops at the OPT record, as dnsdist does', () => {
    const buf = encode({ answers: [a('q.example', 500)], additionals: [OPT, a('late.example', 5)] });
    expect(scan(buf).minTtl).toBe(500);
  });

  it('reports -1 when there is no record', () => {
    expect(scan(encode({})).minTtl).toBe(-1);
    expect(scan(encode({ additionals: [OPT] })).minTtl).toBe(-1);
    expect(scan(Buffer.alloc(11)).minTtl).toBe(-1);
  });

  it('notices an SOA in the authority section only', () => {
    expect(scan(encode({ authorities: [soa('example', 900)] }))).toEqual({ minTtl: 900, soaInAuthority: true });
    expect(scan(encode({ answers: [soa('example', 900)] })).soaInAuthority).toBe(false);
    expect(scan(encode({ additionals: [soa('example', 900)] })).soaInAuthority).toBe(false);
    const chaos = encode({ authorities: [{ ...soa('example', 900), class: 'CH' } as dnsPacket.Answer] });
    expect(scan(chaos).soaInAuthority).toBe(false);
  });

  it('follows compression pointers in owner names', () => {
    expect(scan(compressedAnswer(42)).minTtl).toBe(42);
  });

  it('keeps what it found before a truncation and never reads past the length', () => {
    const buf = encode({ answers: [a('q.example', 500), a('q.example', 100)] });
    // Cut inside the second record's RDATA: its TTL was readable, so it counts.
    expect(scan(buf, buf.length - 2).minTtl).toBe(100);
    // Cut inside the second record's TTL: only the first one counts.
    const secondTtlAt = buf.length - 4 - 2 - 4;
    expect(scan(buf, secondTtlAt + 2).minTtl).toBe(500);
    // Bytes past the length must not be looked at: poison them.
    const poisoned = Buffer.concat([buf.subarray(0, secondTtlAt + 2), Buffer.alloc(64, 0)]);
    expect(scan(poisoned, secondTtlAt + 2).minTtl).toBe(500);
  });
});

describe('ageResponseTtls / setResponseTtls', () => {
  it('decreases every TTL by the age, not below 0, and leaves OPT alone', () => {
    const buf = encode({ answers: [a('q.example', 500)], authorities: [soa('example', 30)], additionals: [OPT] });
    const optTtlBefore = buf.readUInt32BE(buf.length - 6);
    ageResponseTtls(buf, buf.length, 100);
    expect(ttlsOf(buf).slice(0, 2)).toEqual([400, 0]);
    expect(buf.readUInt32BE(buf.length - 6)).toBe(optTtlBefore);
  });

  it('sets every TTL to the stale TTL; 0 leaves them unchanged', () => {
    const buf = encode({ answers: [a('q.example', 500)], additionals: [a('glue.example', 7)] });
    setResponseTtls(buf, buf.length, 0);
    expect(ttlsOf(buf)).toEqual([500, 7]);
    setResponseTtls(buf, buf.length, 60);
    expect(ttlsOf(buf)).toEqual([60, 60]);
  });

  it('handles compressed owners and truncated packets without writing past the length', () => {
    const buf = compressedAnswer(1000);
    ageResponseTtls(buf, buf.length, 1);
    expect(ttlsOf(buf)).toEqual([999, 999]);

    const cut = compressedAnswer(1000);
    const before = Buffer.from(cut);
    // Each record is 16 bytes with its TTL at offset 6: the second TTL spans
    // [end-10, end-6). Cut in the middle of it: the first is aged, the second untouched.
    const length = cut.length - 8;
    ageResponseTtls(cut, length, 5);
    expect(cut.readUInt32BE(cut.length - 26)).toBe(995);
    expect(cut.readUInt32BE(cut.length - 10)).toBe(1000);
    expect(cut.subarray(length)).toEqual(before.subarray(length));
  });

  it('agrees with dns-packet on random record sets', () => {
    const ttl = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(fc.array(ttl, { minLength: 1, maxLength: 6 }), fc.array(ttl, { maxLength: 3 }), ttl, (an, ar, age) => {
        const buf = encode({
          answers: an.map((t, i) => a(`r${i}.example`, t)),
          additionals: ar.map((t, i) => a(`g${i}.example`, t)),
        });
        expect(scan(buf).minTtl).toBe(Math.min(...an, ...ar));
        ageResponseTtls(buf, buf.length, age);
        expect(ttlsOf(buf)).toEqual([...an, ...ar].map((t) => Math.max(t - age, 0)));
      }),
    );
  });
});
