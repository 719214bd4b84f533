import { rmSync } from 'node:fs';
import { XdpAction } from '@dnsdist-ts/bpf';
import { BPFFilter, MatchAction, pinnedExternalOptions } from '@dnsdist-ts/bpf-filter';
import { DNSName } from '@dnsdist-ts/dns';
import { XdpFilter } from '../src/xdp-filter.js';
import { SuffixMap } from '../src/suffix-map.js';
import { describeBpf, uniqueName } from '../../../test/support/require-bpf.js';
import { decodeReply, dnsQuery, frame, OPT_RR, type FrameSpec } from './frames.js';

const { Drop, Pass, Tx } = XdpAction;

describeBpf('xdp-filter verdicts (BPF_PROG_TEST_RUN)', () => {
  const dir = `/sys/fs/bpf/${uniqueName('dtsxf')}`;
  let filter: BPFFilter;
  let xdp: XdpFilter;
  let suffixes: SuffixMap;

  beforeAll(() => {
    filter = new BPFFilter(pinnedExternalOptions(dir, 64));
    filter.block('198.51.100.66', MatchAction.Drop);
    filter.block('198.51.100.77', MatchAction.Truncate);
    filter.block('198.51.100.99', MatchAction.Pass);
    filter.block('2001:db8::66', MatchAction.Drop);
    filter.block('2001:db8::77', MatchAction.Truncate);
    filter.addRangeRule('203.0.113.0/24', MatchAction.Drop);
    filter.addRangeRule('2001:db8:bad::/48', MatchAction.Truncate);
    filter.blockQName('exact.example', 1, MatchAction.Drop);
    filter.blockQName('any255.example', 255, MatchAction.Truncate);
    filter.blockQName('any2x.example', 65535, MatchAction.Drop);
    xdp = XdpFilter.load({ pinDir: dir });
    suffixes = new SuffixMap(xdp.map('suffixfilter'));
    suffixes.block('evil.example', MatchAction.Drop);
    suffixes.block('TC.evil.example', MatchAction.Truncate);
  });
  afterAll(() => {
    suffixes?.close();
    xdp?.close();
    filter?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (spec: FrameSpec) => xdp.program.testRun(frame(spec));
  const q = (name: string, qtype = 1) => dnsQuery(name, qtype);

  const cases: Array<[string, FrameSpec, number]> = [];
  for (const vlans of [0, 1, 2]) {
    for (const family of [4, 6] as const) {
      const blocked = family === 4 ? '198.51.100.66' : '2001:db8::66';
      const clean = family === 4 ? '198.51.100.1' : '2001:db8::1';
      const tag = `v${family} vlans=${vlans}`;
      cases.push(
        [`${tag}: unlisted source and name pass`, { family, vlans, src: clean }, Pass],
        [`${tag}: exact source drop`, { family, vlans, src: blocked }, Drop],
        [`${tag}: range drop`, { family, vlans, src: family === 4 ? '203.0.113.9' : '2001:db8:bad::9' }, family === 4 ? Drop : Tx],
        [`${tag}: name with exact qtype`, { family, vlans, src: clean, payload: q('exact.example', 1) }, Drop],
        [`${tag}: name, other qtype`, { family, vlans, src: clean, payload: q('exact.example', 28) }, Pass],
        [`${tag}: upper-case name`, { family, vlans, src: clean, payload: q('EXACT.Example', 1) }, Drop],
        [`${tag}: name blocked for 255`, { family, vlans, src: clean, payload: q('any255.example', 16) }, Tx],
        [`${tag}: name blocked for 65535`, { family, vlans, src: clean, payload: q('any2x.example', 33) }, Drop],
        [`${tag}: suffix covers sub-names`, { family, vlans, src: clean, payload: q('a.b.evil.example') }, Drop],
        [`${tag}: suffix covers itself`, { family, vlans, src: clean, payload: q('Evil.Example') }, Drop],
        [`${tag}: most specific suffix wins`, { family, vlans, src: clean, payload: q('x.tc.evil.example') }, Tx],
        [`${tag}: a longer label is not a suffix`, { family, vlans, src: clean, payload: q('notevil.example') }, Pass],
        [`${tag}: other ports pass`, { family, vlans, src: blocked, dport: 5353 }, Pass],
        [`${tag}: TCP SYN from a dropped source`, { family, vlans, src: blocked, tcpSyn: true }, Drop],
        [
          `${tag}: TCP SYN from a truncated source passes`,
          { family, vlans, src: family === 4 ? '198.51.100.77' : '2001:db8::77', tcpSyn: true },
          Pass,
        ],
      );
    }
  }
  cases.push(
    ['allow-list entry skips name checks', { src: '198.51.100.99', payload: q('exact.example') }, Pass],
    ['IPv4 options do not hide a blocked source', { src: '198.51.100.66', ipv4Options: true }, Drop],
    ['IPv4 options do not hide a blocked name', { payload: q('exact.example'), ipv4Options: true }, Drop],
    ['TC with IPv4 options becomes a drop', { src: '198.51.100.77', ipv4Options: true }, Drop],
    ['IPv6 extension header does not hide a blocked source', { family: 6, src: '2001:db8::66', ipv6ExtHeader: true }, Drop],
    ['IPv6 extension header does not hide a blocked name', { family: 6, payload: q('exact.example'), ipv6ExtHeader: true }, Drop],
    ['later IPv4 fragment from a blocked source', { src: '198.51.100.66', fragment: 'later' }, Drop],
    ['later IPv4 fragment from an unblocked source', { fragment: 'later', payload: q('exact.example') }, Pass],
    ['first IPv4 fragment holding a blocked question', { fragment: 'first', payload: q('exact.example') }, Drop],
    ['TC on a first fragment becomes a drop', { fragment: 'first', src: '198.51.100.77' }, Drop],
    ['later IPv6 fragment from a blocked source', { family: 6, src: '2001:db8::66', fragment: 'later' }, Drop],
    ['TC to a source port in the DNS set becomes a drop', { src: '198.51.100.77', sport: 53 }, Drop],
    ['a response (QR=1) is never matched by name', { payload: dnsQuery('exact.example', 1, { flags: 0x8100 }) }, Pass],
    ['a non-QUERY opcode is not matched by name', { payload: dnsQuery('exact.example', 1, { flags: 0x2800 }) }, Pass],
    ['qdcount 0 is not matched by name', { payload: dnsQuery('exact.example', 1, { qdcount: 0 }) }, Pass],
    ['qdcount 2 is not matched by name', { payload: dnsQuery('exact.example', 1, { qdcount: 2 }) }, Pass],
    [
      'a compression pointer in the name is not matched',
      { payload: Buffer.concat([dnsQuery('x', 1).subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]) },
      Pass,
    ],
    ['a 64-byte label is not matched', { payload: dnsQuery('a'.repeat(64) + '.exact.example', 1) }, Pass],
    ['three VLAN tags pass, counted', { vlans: 3, src: '198.51.100.66' }, Pass],
    [
      'a blocked source behind more extension headers than are walked is dropped',
      { family: 6, src: '2001:db8::66', ipv6ExtCount: 5 },
      Drop,
    ],
    ['an unblocked source behind a long extension chain passes', { family: 6, ipv6ExtCount: 5 }, Pass],
    ['a blocked source with a truncated UDP header is dropped', { src: '198.51.100.66', payload: Buffer.alloc(0) }, Drop],
    ['a 100-label name is matched by its suffix', { payload: dnsQuery(`${'a.'.repeat(98)}evil.example`, 1) }, Drop],
  );

  it.each(cases)('%s', (_name, spec, verdict) => {
    expect(run(spec).retval).toBe(verdict);
  });

  /** The verdict and which totals moved. */
  const judged = (spec: FrameSpec) => {
    const before = xdp.stats();
    const verdict = run(spec).retval;
    const after = xdp.stats();
    const moved = (Object.keys(after) as Array<keyof typeof after>).filter((k) => after[k] !== before[k]);
    return { verdict, moved };
  };
  const exactQuery = q('exact.example');

  describe('the DNS payload is what the UDP length says, within the IP datagram', () => {
    it('a first fragment holding only part of the question: no name match, counted ParseQName', () => {
      // The datagram continues in later fragments; the UDP length still says the whole of it.
      const spec: FrameSpec = { fragment: 'first', payload: exactQuery, ipPayloadBytes: 8 + 12 + 6 };
      expect(judged(spec)).toEqual({ verdict: Pass, moved: ['ParseQName'] });
      expect(judged({ ...spec, family: 6 })).toEqual({ verdict: Pass, moved: ['ParseQName'] });
    });

    it('a first fragment holding only part of the question: its source is still judged', () => {
      expect(run({ fragment: 'first', src: '198.51.100.66', payload: exactQuery, ipPayloadBytes: 8 + 12 + 6 }).retval).toBe(Drop);
      expect(run({ fragment: 'first', family: 6, src: '2001:db8::66', payload: exactQuery, ipPayloadBytes: 8 + 12 + 6 }).retval).toBe(Drop);
    });

    it('a first fragment holding the whole question is matched, but a TC entry drops it (no reply to fragments)', () => {
      const spec: FrameSpec = { fragment: 'first', payload: Buffer.concat([exactQuery, OPT_RR]), ipPayloadBytes: 8 + exactQuery.length };
      expect(run(spec).retval).toBe(Drop);
      expect(
        run({ ...spec, payload: Buffer.concat([q('any255.example'), OPT_RR]), ipPayloadBytes: 8 + q('any255.example').length }).retval,
      ).toBe(Drop);
    });

    it('Ethernet padding after the datagram is not read as the rest of the question', () => {
      // qclass missing inside the UDP payload; the padding happens to hold "00 01".
      const cut = exactQuery.subarray(0, exactQuery.length - 2);
      expect(judged({ payload: cut, trailer: Buffer.from([0, 1, 0, 0]) })).toEqual({ verdict: Pass, moved: ['ParseQName'] });
      expect(judged({ family: 6, payload: cut, trailer: Buffer.from([0, 1]) })).toEqual({ verdict: Pass, moved: ['ParseQName'] });
      // The same bytes inside the UDP payload do complete it.
      expect(run({ payload: exactQuery, trailer: Buffer.alloc(6) }).retval).toBe(Drop);
    });

    it('a UDP length shorter than the data cuts the question off', () => {
      expect(judged({ payload: exactQuery, udpLengthDelta: -1 })).toEqual({ verdict: Pass, moved: ['ParseQName'] });
    });

    it('a UDP length under 8 is a bad header: passed and counted, a blocked source still dropped', () => {
      expect(judged({ payload: exactQuery, udpLengthDelta: -(exactQuery.length + 1) })).toEqual({
        verdict: Pass,
        moved: ['ParseBadHeader'],
      });
      expect(run({ src: '198.51.100.66', payload: exactQuery, udpLengthDelta: -(exactQuery.length + 1) }).retval).toBe(Drop);
      // Through the full parser (a VLAN tag) too.
      expect(run({ vlans: 1, src: '198.51.100.66', payload: exactQuery, udpLengthDelta: -(exactQuery.length + 1) }).retval).toBe(Drop);
    });

    it('a UDP length beyond the IP datagram is bounded by the datagram', () => {
      expect(run({ payload: exactQuery, udpLengthDelta: 40 }).retval).toBe(Drop);
      expect(run({ payload: exactQuery.subarray(0, exactQuery.length - 2), udpLengthDelta: 2, trailer: Buffer.from([0, 1]) }).retval).toBe(
        Pass,
      );
    });

    it('a TC reply to a padded frame carries no padding', () => {
      const input = frame({ src: '198.51.100.77', payload: q('t.example'), trailer: Buffer.alloc(20) });
      const r = xdp.program.testRun(input);
      expect(r.retval).toBe(Tx);
      const out = decodeReply(r.data);
      expect(out.ipChecksumOk && out.udpChecksumOk).toBe(true); // ipChecksumOk also checks the frame ends with the datagram
      expect(out.dns.subarray(12).equals(q('t.example').subarray(12))).toBe(true);
    });
  });

  describe('IP version fields', () => {
    it.each([
      ['IPv4 EtherType, version 6', { ipVersion: 6 } as FrameSpec],
      ['IPv4 EtherType, version 5', { ipVersion: 5 } as FrameSpec],
      ['IPv6 EtherType, version 4', { family: 6, ipVersion: 4 } as FrameSpec],
      ['IPv4 EtherType, version 6, one VLAN tag', { ipVersion: 6, vlans: 1 } as FrameSpec],
    ])('%s: not parsed (the kernel discards it), counted ParseBadHeader', (_n, spec) => {
      const blocked = spec.family === 6 ? '2001:db8::66' : '198.51.100.66';
      expect(judged({ ...spec, src: blocked, payload: exactQuery })).toEqual({ verdict: Pass, moved: ['ParseBadHeader'] });
    });
  });

  describe('IPv6 fragment headers (read byte-wise)', () => {
    it.each([
      ['offset 1 (low bits only)', 1],
      ['offset 32', 32],
      ['offset 8191 (all bits)', 8191],
    ])('a later fragment at %s is judged by its source only', (_n, offset) => {
      expect(run({ family: 6, fragment: 'later', fragmentOffset: offset, payload: exactQuery }).retval).toBe(Pass);
      expect(run({ family: 6, fragment: 'later', fragmentOffset: offset, src: '2001:db8::66' }).retval).toBe(Drop);
    });

    it('a first fragment after a destination-options header holding a blocked question is matched', () => {
      expect(run({ family: 6, fragment: 'first', ipv6ExtHeader: true, payload: exactQuery }).retval).toBe(Drop);
    });
  });

  it.each([
    ['IPv4', { src: '198.51.100.77' } as FrameSpec, 0],
    ['IPv4, no UDP checksum', { src: '198.51.100.77', udpChecksum: false } as FrameSpec, 0],
    ['IPv4, 2 VLAN tags', { src: '198.51.100.77', vlans: 2 } as FrameSpec, 2],
    ['IPv6', { family: 6, src: '2001:db8::77' } as FrameSpec, 0],
    ['IPv6, 1 VLAN tag', { family: 6, src: '2001:db8::77', vlans: 1 } as FrameSpec, 1],
    ['IPv4, name rule', { payload: dnsQuery('any255.example', 16, { extra: OPT_RR }) } as FrameSpec, 0],
  ])('TC reply (%s) is a valid truncated response with correct checksums', (_n, spec, vlans) => {
    const payload = spec.payload ?? dnsQuery('www.example.com', 1, { extra: OPT_RR });
    const input = frame({ ...spec, payload });
    const inDec = decodeReply(input, vlans);
    const r = xdp.program.testRun(input);
    expect(r.retval).toBe(Tx);
    const out = decodeReply(r.data, vlans);
    expect(out.srcMac).toBe(inDec.dstMac);
    expect(out.dstMac).toBe(inDec.srcMac);
    expect(out.src).toBe(inDec.dst);
    expect(out.dst).toBe(inDec.src);
    expect(out.sport).toBe(inDec.dport);
    expect(out.dport).toBe(inDec.sport);
    expect(out.ipChecksumOk).toBe(true);
    expect(out.udpChecksumOk).toBe(true);
    if (spec.udpChecksum === false) expect(out.udpChecksum).toBe(0);
    expect(out.ttl).toBe(64);
    const dns = out.dns;
    const flags = dns.readUInt16BE(2);
    expect(dns.readUInt16BE(0)).toBe(0xbeef);
    expect(flags & 0x8000).toBe(0x8000); // QR
    expect(flags & 0x0200).toBe(0x0200); // TC
    expect(flags & 0x0400).toBe(0); // AA
    expect(flags & 0x0020).toBe(0); // AD
    expect(flags & 0x0100).toBe(0x0100); // RD kept
    expect(flags & 0x0010).toBe(0x0010); // CD kept
    expect(flags & 0x000f).toBe(0); // RCODE
    expect([dns.readUInt16BE(4), dns.readUInt16BE(6), dns.readUInt16BE(8), dns.readUInt16BE(10)]).toEqual([1, 0, 0, 0]);
    // The question is kept and the OPT record cut off.
    const question = payload.subarray(12, payload.length - OPT_RR.length);
    expect(dns.subarray(12).equals(question)).toBe(true);
  });

  it('never reads past the end: a query truncated at every byte gets no name match and no reply', () => {
    const full = frame({ payload: q('a.b.evil.example') });
    const dnsStart = 14 + 20 + 8;
    // BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header.
    for (let len = 14; len < full.length; len++) {
      const r = xdp.program.testRun(full.subarray(0, len));
      // Only once name, qtype and qclass are all inside the packet may the name match.
      expect(r.retval).toBe(len >= dnsStart + 12 + 18 + 4 ? Drop : Pass);
    }
    const blocked = frame({ src: '198.51.100.66' });
    for (let len = 14 + 20; len < blocked.length; len++) {
      // Once the IP header is complete, a blocked source is dropped however short the rest.
      expect(xdp.program.testRun(blocked.subarray(0, len)).retval).toBe(Drop);
    }
  });

  it('255- and 256-byte names: the longest valid one is matched, a longer one is not', () => {
    const labels = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)];
    const longest = labels.join('.');
    expect(DNSName.fromString(longest).wirelength()).toBe(255);
    filter.blockQName(longest, 1, MatchAction.Drop);
    try {
      expect(run({ payload: q(longest) }).retval).toBe(Drop);
      const tooLong = Buffer.concat([
        dnsQuery('x', 1).subarray(0, 12),
        Buffer.from([1, 0x78]),
        DNSName.fromString(longest).toWire(),
        Buffer.from([0, 1, 0, 1]),
      ]);
      expect(run({ payload: tooLong }).retval).toBe(Pass);
    } finally {
      filter.unblockQName(longest, 1);
    }
  });

  it('suffix entries list their names, actions and hits', () => {
    const before = suffixes.entries().find((e) => e.name === 'evil.example.')!.counter;
    expect(run({ payload: q('deep.evil.example') }).retval).toBe(Drop);
    expect(suffixes.entries()).toEqual(
      expect.arrayContaining([
        { name: 'evil.example.', action: MatchAction.Drop, counter: before + 1n },
        { name: 'tc.evil.example.', action: MatchAction.Truncate, counter: expect.any(BigInt) },
      ]),
    );
  });

  it('counts hits in the entries (dnsdist layout) and totals per verdict', () => {
    const before = xdp.stats();
    const entry = () => filter.entries().find((e) => e.kind === 'ipv4' && e.address === '198.51.100.66')!.counter;
    const hits = entry();
    xdp.program.testRun(frame({ src: '198.51.100.66' }), 100);
    expect(entry()).toBe(hits + 100n);
    const after = xdp.stats();
    expect(after.DropAddress - before.DropAddress).toBe(100n);
    xdp.program.testRun(frame({ vlans: 3 }));
    expect(xdp.stats().ParseVlan - after.ParseVlan).toBe(1n);
  });

  it('the DNS port set is a load-time setting', () => {
    const other = XdpFilter.load({ pinDir: dir, ports: [5300, 8053] });
    try {
      expect(other.program.testRun(frame({ src: '198.51.100.66', dport: 53 })).retval).toBe(Pass);
      expect(other.program.testRun(frame({ src: '198.51.100.66', dport: 5300 })).retval).toBe(Drop);
      expect(other.program.testRun(frame({ src: '198.51.100.66', dport: 8053 })).retval).toBe(Drop);
    } finally {
      other.close();
    }
    expect(() => XdpFilter.load({ pinDir: dir, ports: [] })).toThrow(/between 1 and 8/);
  });
});
