import fc from 'fast-check';
import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/client-block-range.js';
import { ClientBlockTable } from '@dnsdist-ts/dynblocks/dynblocks/client-block-table.js';
import { DynBlock } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block.js';
import { SuffixBlockTable } from '@dnsdist-ts/dynblocks/dynblocks/suffix-block-table.js';
import { DNSAction } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { collectionsDuring } from '../rings/gc-watch.js';

const spec = (reason: string) => ({ reason, action: DNSAction.Drop, until: 1000, warning: false });
const ip = (text: string) => parseAddress(text).bytes;

function clientBlock(address: string, v4 = 32, v6 = 128, portBits = 0, port = 0): DynBlock {
  return new DynBlock(ClientBlockRange.of(ip(address), port, v4, v6, portBits), spec(`${address}/${v4}/${v6}/${portBits}`));
}

describe('ClientBlockRange', () => {
  it('masks the address and prints as dnsdist does', () => {
    expect(ClientBlockRange.of(ip('192.0.2.77'), 999).toString()).toBe('192.0.2.77/32');
    expect(ClientBlockRange.of(ip('192.0.2.77'), 999, 24).toString()).toBe('192.0.2.0/24');
    expect(ClientBlockRange.of(ip('127.0.0.1'), 40000, 32, 128, 2).toString()).toBe('127.0.0.1:32768/2');
    expect(ClientBlockRange.of(ip('2001:db8::1:2'), 53, 32, 64).toString()).toBe('2001:db8::/64');
    expect(ClientBlockRange.of(ip('::1'), 53).toString()).toBe('::1/128');
  });

  it("rejects masks with dnsdist's messages", () => {
    expect(() => ClientBlockRange.of(ip('192.0.2.1'), 0, 33)).toThrow('Trying to set an invalid IPv4 mask (33) to a Dynamic Block object');
    expect(() => ClientBlockRange.of(ip('192.0.2.1'), 0, 32, 129)).toThrow('Trying to set an invalid IPv6 mask (129)');
    expect(() => ClientBlockRange.of(ip('192.0.2.1'), 0, 32, 128, 17)).toThrow('Trying to set an invalid port mask (17)');
    expect(() => ClientBlockRange.of(ip('192.0.2.1'), 0, 24, 128, 1)).toThrow(
      'Setting a non-zero port mask for Dynamic Blocks while only considering parts of IPv4 addresses does not make sense',
    );
  });
});

describe('ClientBlockTable', () => {
  it('finds the most specific block covering a client, ports included', () => {
    const t = new ClientBlockTable();
    const net8 = clientBlock('10.0.0.0', 8);
    const net24 = clientBlock('10.1.2.0', 24);
    const host = clientBlock('10.1.2.3');
    const portRange = clientBlock('10.1.2.4', 32, 128, 2, 49152);
    for (const b of [net8, net24, host, portRange]) t.set(b);
    expect(t.lookup(ip('10.1.2.3'), 1)).toBe(host);
    expect(t.lookup(ip('10.1.2.9'), 1)).toBe(net24);
    expect(t.lookup(ip('10.9.9.9'), 1)).toBe(net8);
    expect(t.lookup(ip('11.0.0.1'), 1)).toBeUndefined();
    expect(t.lookup(ip('10.1.2.4'), 50000)).toBe(portRange);
    // Port 1000 is outside 49152/2: the /24 covers it.
    expect(t.lookup(ip('10.1.2.4'), 1000)).toBe(net24);
    expect(t.size).toBe(4);
  });

  it('handles IPv6 ranges and exact addresses', () => {
    const t = new ClientBlockTable();
    const net = clientBlock('2001:db8::', 32, 48);
    const host = clientBlock('2001:db8::53');
    t.set(net);
    t.set(host);
    expect(t.lookup(ip('2001:db8::53'), 0)).toBe(host);
    expect(t.lookup(ip('2001:db8:0:1::'), 0)).toBe(net);
    expect(t.lookup(ip('2001:db8:1::'), 0)).toBeUndefined();
    expect(t.lookup(ip('::1'), 0)).toBeUndefined();
  });

  it('replaces, deletes and finds covering blocks', () => {
    const t = new ClientBlockTable();
    const a = clientBlock('192.0.2.1');
    const b = clientBlock('192.0.2.1');
    t.set(a);
    t.set(b);
    expect(t.size).toBe(1);
    expect(t.lookup(ip('192.0.2.1'), 0)).toBe(b);
    const net = clientBlock('192.0.2.0', 24);
    t.set(net);
    // A /24 lookup by its own range finds the /24, not the more specific /32 inside it.
    expect(t.lookupCovering(ClientBlockRange.of(ip('192.0.2.0'), 0, 24))).toBe(net);
    expect(t.lookupCovering(ClientBlockRange.of(ip('192.0.2.1'), 0))).toBe(b);
    expect(t.delete(ClientBlockRange.of(ip('192.0.2.1'), 0))).toBe(b);
    expect(t.lookup(ip('192.0.2.1'), 0)).toBe(net);
    expect(t.delete(ClientBlockRange.of(ip('192.0.2.1'), 0))).toBeUndefined();
    t.clear();
    expect(t.size).toBe(0);
    expect(t.lookup(ip('192.0.2.1'), 0)).toBeUndefined();
  });

  it('agrees with a naive longest-prefix match (property)', () => {
    const v4 = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: v4, bits: fc.constantFrom(8, 16, 24, 30, 32) }), { maxLength: 30 }),
        fc.array(v4, { minLength: 1, maxLength: 20 }),
        (entries, probes) => {
          const t = new ClientBlockTable();
          const ranges: ClientBlockRange[] = [];
          for (const e of entries) {
            const b = new DynBlock(ClientBlockRange.of(Uint8Array.of(10, ...e.a), 0, e.bits), spec('x'));
            t.set(b);
            ranges.push(b.range!);
          }
          for (const p of probes) {
            const addr = Uint8Array.of(10, ...p);
            const found = t.lookup(addr, 0);
            let best: string | undefined;
            let bestBits = -1;
            for (const r of ranges) {
              const masked = ClientBlockRange.of(addr, 0, r.prefix).toString();
              if (masked === r.toString() && r.prefix > bestBits) {
                best = r.toString();
                bestBits = r.prefix;
              }
            }
            expect(found?.range?.toString()).toBe(best);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps every block reachable through hash collisions, on insert and delete', () => {
    // 2^17 keys in a 2^30 key space collide a few times (about 8 expected pairs).
    const t = new ClientBlockTable();
    const blocks: DynBlock[] = [];
    for (let i = 0; i < 1 << 17; i++) {
      const b = new DynBlock(ClientBlockRange.of(Uint8Array.of(10, i >> 16, (i >> 8) & 255, i & 255), 0), spec('x'));
      blocks.push(b);
      t.set(b);
    }
    for (const b of blocks) expect(t.lookup(b.range!.network, 0)).toBe(b);
    for (let i = 0; i < blocks.length; i += 2) t.delete(blocks[i]!.range!);
    blocks.forEach((b, i) => expect(t.lookup(b.range!.network, 0)).toBe(i % 2 === 0 ? undefined : b));
    expect(t.size).toBe(blocks.length / 2);
  });

  it('looks up without allocating', async () => {
    const t = new ClientBlockTable();
    for (let i = 0; i < 1000; i++) t.set(clientBlock(`10.0.${i >> 8}.${i & 255}`));
    t.set(clientBlock('172.16.0.0', 12));
    t.set(clientBlock('2001:db8::1'));
    const hit = ip('10.0.1.7');
    const miss = ip('192.0.2.1');
    const hit6 = ip('2001:db8::1');
    let found = 0;
    const gcs = await collectionsDuring(() => {
      for (let i = 0; i < 1_000_000; i++) {
        if (t.lookup(hit, i & 0xffff)) found++;
        if (t.lookup(miss, 53)) found++;
        if (t.lookup(hit6, 53)) found++;
      }
    });
    expect(found).toBe(2_000_000);
    expect(gcs).toBe(0);
  });
});

describe('SuffixBlockTable', () => {
  const suffixBlock = (name: string) => new DynBlock(DNSName.fromString(name).toLowerCase(), spec(name));
  const wire = (name: string) => DNSName.fromString(name).toWireLowerCase();

  it('finds the most specific blocked parent, ignoring case', () => {
    const t = new SuffixBlockTable();
    const example = suffixBlock('example.com');
    const bad = suffixBlock('bad.example.com');
    t.set(example);
    t.set(bad);
    expect(t.lookup(DNSName.fromString('www.Bad.EXAMPLE.com'))).toBe(bad);
    expect(t.lookup(DNSName.fromString('bad.example.com'))).toBe(bad);
    expect(t.lookup(DNSName.fromString('good.example.com'))).toBe(example);
    expect(t.lookup(DNSName.fromString('xexample.com'))).toBeUndefined();
    expect(t.lookup(DNSName.fromString('com'))).toBeUndefined();
    const w = wire('a.b.bad.example.com');
    expect(t.lookupWire(w, w.length)).toBe(bad);
    expect(t.get(DNSName.fromString('BAD.example.com'))).toBe(bad);
  });

  it('a root block covers every name; delete and clear', () => {
    const t = new SuffixBlockTable();
    const root = suffixBlock('.');
    t.set(root);
    expect(t.lookup(DNSName.fromString('anything.test'))).toBe(root);
    expect(t.delete(DNSName.ROOT)).toBe(root);
    expect(t.lookup(DNSName.fromString('anything.test'))).toBeUndefined();
    t.set(suffixBlock('a.test'));
    t.clear();
    expect(t.size).toBe(0);
    expect(t.lookup(DNSName.fromString('a.test'))).toBeUndefined();
  });

  it('looks up a query name without allocating', async () => {
    const t = new SuffixBlockTable();
    for (let i = 0; i < 100; i++) t.set(suffixBlock(`bad${i}.example`));
    const hit = wire('www.bad7.example');
    const miss = wire('www.good.example.org');
    let found = 0;
    const gcs = await collectionsDuring(() => {
      for (let i = 0; i < 1_000_000; i++) {
        if (t.lookupWire(hit, hit.length)) found++;
        if (t.lookupWire(miss, miss.length)) found++;
      }
    });
    expect(found).toBe(1_000_000);
    expect(gcs).toBe(0);
  });
});
