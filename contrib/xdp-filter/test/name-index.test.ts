import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { BpfMap, MapType, XdpAction } from '@dnsdist-ts/bpf';
import { BPFFilter, MatchAction, NameIndex, externalQNameKey, pinnedExternalOptions } from '@dnsdist-ts/bpf-filter';
import { DNSName } from '@dnsdist-ts/dns';
import { XdpFilter } from '../src/xdp-filter.js';
import { syncNameIndex } from '../src/name-index-sync.js';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';
import { dnsNameArb } from './dns-name-arbitrary.js';
import { dnsQuery, frame } from './frames.js';

const { Drop, Pass } = XdpAction;

/** A qname entry written straight into the map, as dnsdist itself does (no index involved). */
function writeLikeDnsdist(map: BpfMap, name: string, qtype: number): void {
  const v = Buffer.alloc(16);
  v[8] = MatchAction.Drop;
  map.update(externalQNameKey(DNSName.fromString(name).toWire(), qtype), v);
}

const nameArb = dnsNameArb({ mixedCase: true });

describeBpf('xdp-filter name index', () => {
  describe("with dnsdist-ts as the only writer ('trusted': the index used as is)", () => {
    const dir = `/sys/fs/bpf/${uniqueName('dtsnx')}`;
    let filter: BPFFilter;
    let xdp: XdpFilter;
    beforeAll(() => {
      filter = new BPFFilter(pinnedExternalOptions(dir, 4096));
      xdp = XdpFilter.load({ pinDir: dir, nameIndex: 'trusted' });
    });
    afterAll(() => {
      xdp?.close();
      filter?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('is in use after load', () => {
      expect(xdp.nameIndex).toMatchObject({ qnames: { mode: 'trusted', inUse: true }, suffixes: { mode: 'trusted', inUse: true } });
    });

    it('never hides a blocked name or suffix: random names in any case, blocked after the program loaded', () => {
      const suffixes = xdp.suffixes();
      try {
        fc.assert(
          fc.property(nameArb, nameArb, fc.boolean(), (name, below, upper) => {
            const asked = (n: string) => (upper ? n.toUpperCase() : n);
            filter.blockQName(name, 255);
            try {
              if (xdp.program.testRun(frame({ payload: dnsQuery(asked(name), 16) })).retval !== Drop) return false;
            } finally {
              filter.unblockQName(name, 255);
            }
            suffixes.block(name, MatchAction.Drop);
            try {
              const sub = `${below}.${name}`;
              if (DNSName.fromString(name).wirelength() + below.length + 1 <= 255) {
                if (xdp.program.testRun(frame({ payload: dnsQuery(asked(sub), 1) })).retval !== Drop) return false;
              }
              return xdp.program.testRun(frame({ payload: dnsQuery(asked(name), 1) })).retval === Drop;
            } finally {
              suffixes.unblock(name);
            }
          }),
          { numRuns: 150 },
        );
      } finally {
        suffixes.close();
      }
    });

    it('agrees with the writers on every byte value: lower-casing, fingerprints, lengths', () => {
      const qnames = filter.map('qnames')!;
      const rawLabel = fc.uint8Array({ minLength: 1, maxLength: 63 });
      const wireArb = fc.array(rawLabel, { minLength: 1, maxLength: 8 }).map((ls) => {
        const parts: Buffer[] = [];
        let len = 1;
        for (const l of ls) {
          if (len + l.length + 1 > 255) break;
          parts.push(Buffer.from([l.length]), Buffer.from(l));
          len += l.length + 1;
        }
        return Buffer.concat([...parts, Buffer.from([0])]);
      });
      const query = (wire: Buffer) => {
        const h = dnsQuery('x', 1).subarray(0, 12);
        return Buffer.concat([h, wire, Buffer.from([0, 1, 0, 1])]);
      };
      fc.assert(
        fc.property(wireArb, (wire) => {
          const key = externalQNameKey(wire, 1); // lower-cases A-Z as every writer does
          const lower = key.subarray(0, wire.length);
          NameIndex.note(dir, 'qnames', lower);
          qnames.update(key, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, MatchAction.Drop, 0, 0, 0, 0, 0, 0, 0]));
          NameIndex.note(dir, 'qnames', lower);
          try {
            return xdp.program.testRun(frame({ payload: query(wire) })).retval === Drop;
          } finally {
            qnames.delete(key);
          }
        }),
        { numRuns: 200 },
      );
    });

    it('lets unblocked names through, and a reindex forgets removed entries', () => {
      filter.blockQName('keep.example', 1);
      filter.blockQName('gone.example', 1);
      filter.unblockQName('gone.example', 1);
      const index = NameIndex.openIn(dir)!;
      try {
        const w = (n: string) => DNSName.fromString(n).toWireLowerCase();
        expect(index.mayHold('qnames', w('gone.example'))).toBe(true); // removal leaves its slots: a stale slot costs a lookup
        expect(syncNameIndex(dir, 'trusted')).toMatchObject({ qnames: { inUse: true }, suffixes: { inUse: true } });
        expect(index.mayHold('qnames', w('gone.example'))).toBe(false);
        expect(index.mayHold('qnames', w('keep.example'))).toBe(true);
      } finally {
        index.close();
      }
      expect(xdp.program.testRun(frame({ payload: dnsQuery('keep.example', 1) })).retval).toBe(Drop);
      expect(xdp.program.testRun(frame({ payload: dnsQuery('gone.example', 1) })).retval).toBe(Pass);
      expect(xdp.program.testRun(frame({ payload: dnsQuery('other.example', 1) })).retval).toBe(Pass);
    });
  });

  describe('maps dnsdist itself created and writes (it knows nothing of the index)', () => {
    const dir = `/sys/fs/bpf/${uniqueName('dtsnd')}`;
    let qnames: BpfMap;
    afterEach(() => {
      qnames?.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const createLikeDnsdist = () => {
      qnames = BpfMap.createPinned({ type: MapType.Hash, keySize: 258, valueSize: 16, maxEntries: 1024 }, join(dir, 'qnames'));
      writeLikeDnsdist(qnames, 'before.example', 1);
    };

    it('auto: both parts guarded; with no guard running every name is looked up, so what dnsdist blocks later is enforced at once', () => {
      createLikeDnsdist();
      const xdp = XdpFilter.load({ pinDir: dir });
      try {
        expect(xdp.nameIndex).toMatchObject({ qnames: { mode: 'guarded', inUse: false }, suffixes: { mode: 'guarded', inUse: false } });
        expect(xdp.program.testRun(frame({ payload: dnsQuery('before.example', 1) })).retval).toBe(Drop);
        writeLikeDnsdist(qnames, 'Later.Example', 255);
        expect(xdp.program.testRun(frame({ payload: dnsQuery('later.example', 28) })).retval).toBe(Drop);
      } finally {
        xdp.close();
      }
    });

    it("trusted: what dnsdist writes after the rebuild is not seen until 'reindex' (why it is opt-in)", () => {
      createLikeDnsdist();
      const xdp = XdpFilter.load({ pinDir: dir, nameIndex: 'trusted' });
      try {
        expect(xdp.nameIndex).toMatchObject({ qnames: { mode: 'trusted' } });
        expect(xdp.program.testRun(frame({ payload: dnsQuery('before.example', 1) })).retval).toBe(Drop);
        writeLikeDnsdist(qnames, 'later.example', 1);
        expect(xdp.program.testRun(frame({ payload: dnsQuery('later.example', 1) })).retval).toBe(Pass);
        syncNameIndex(dir, 'trusted');
        expect(xdp.program.testRun(frame({ payload: dnsQuery('later.example', 1) })).retval).toBe(Drop);
      } finally {
        xdp.close();
      }
    });

    it('off: every name is looked up', () => {
      createLikeDnsdist();
      const xdp = XdpFilter.load({ pinDir: dir, nameIndex: 'off' });
      try {
        expect(xdp.nameIndex).toMatchObject({ qnames: { mode: 'off' }, suffixes: { mode: 'off' } });
        writeLikeDnsdist(qnames, 'later.example', 1);
        expect(xdp.program.testRun(frame({ payload: dnsQuery('later.example', 1) })).retval).toBe(Drop);
      } finally {
        xdp.close();
      }
    });
  });

  it('a damaged index is never trusted by the program: every name is looked up', () => {
    const dir = `/sys/fs/bpf/${uniqueName('dtsnz')}`;
    const filter = new BPFFilter(pinnedExternalOptions(dir, 64));
    const xdp = XdpFilter.load({ pinDir: dir, nameIndex: 'trusted' });
    const index = NameIndex.openIn(dir)!;
    try {
      const zero = Buffer.alloc(4);
      index.map.update(zero, Buffer.alloc(8)); // slot count 0: not an index the program accepts
      filter.blockQName('late.example', 1);
      expect(xdp.program.testRun(frame({ payload: dnsQuery('late.example', 1) })).retval).toBe(Drop);
    } finally {
      index.close();
      xdp.close();
      filter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
