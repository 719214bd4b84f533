/** The per-listener cache of client SocketAddresses: right answers always, and bounded work under a flood. */
import { ClientAddressCache } from '@dnsdist-ts/dataplane/query/client-address-cache.js';

const v4 = (a: number, b: number, c: number, d: number) => Uint8Array.of(a, b, c, d);
const v6 = (last: number) => Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 0x20 : i === 15 ? last : 0));

describe('ClientAddressCache', () => {
  it('gives the same object for the same address and port, IPv4 and IPv6', () => {
    const cache = new ClientAddressCache();
    const a = cache.get(v4(192, 0, 2, 1), 5300);
    expect(cache.get(v4(192, 0, 2, 1), 5300)).toBe(a);
    expect(a.address).toBe('192.0.2.1');
    expect(a.port).toBe(5300);
    const b = cache.get(v6(1), 5300);
    expect(cache.get(v6(1), 5300)).toBe(b);
    expect(b.address).toBe('2000::1');
  });

  it('copies the bytes it is given: a receive buffer reused for the next datagram does not change a made address', () => {
    const cache = new ClientAddressCache();
    const buffer = v4(192, 0, 2, 1);
    const a = cache.get(buffer, 53);
    buffer.set([198, 51, 100, 7]);
    expect(a.address).toBe('192.0.2.1');
    const b = cache.get(buffer, 53);
    expect(b.address).toBe('198.51.100.7');
    expect(b).not.toBe(a);
  });

  it('never mixes up peers: every port of a random-port flood, and every address of a spoofed one, comes back as itself', () => {
    const cache = new ClientAddressCache();
    let rnd = 12345;
    const next = () => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0);
    const wrong: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const r = next();
      const bytes = i % 2 === 0 ? v4(10, 0, 0, r & 3) : v4(r >>> 24, (r >>> 16) & 255, 7, 9);
      const port = next() & 0xffff;
      const a = cache.get(bytes, port);
      if (a.port !== port || a.bytes.join('.') !== bytes.join('.')) wrong.push(`${bytes.join('.')}:${port} → ${a.toStringWithPort()}`);
    }
    expect(wrong).toEqual([]);
  });

  it('shares one copy of the address bytes among the ports of an address', () => {
    const cache = new ClientAddressCache();
    const first = cache.get(v4(203, 0, 113, 5), 1000);
    for (let port = 1001; port < 1100; port++) expect(cache.get(v4(203, 0, 113, 5), port).bytes).toBe(first.bytes);
  });
});
