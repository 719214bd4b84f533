import { DNSName, parseAddress } from '@dnsdist-ts/dns';
import { ClientBlockRange } from '@dnsdist-ts/dynblocks/dynblocks/client-block-range.js';
import type { DynBlockSpec } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block.js';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { QueryVerdict } from '@dnsdist-ts/dataplane/query/query-verdict.js';
import { collectionsDuring } from '../rings/gc-watch.js';
import { makeQuery } from '../rings/ring-fixtures.js';
import { FakeKernelSink } from './fake-kernel-sink.js';
import { TestWorld } from './test-clock-world.js';

const NOW = 50_000;
const QR = 0x8000;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;

function blockClient(
  w: TestWorld,
  address: string,
  action: DNSActionCode,
  extra: Partial<DynBlockSpec> = {},
  kernelEligible = false,
): void {
  w.blocks.addOrRefreshClientBlock(
    ClientBlockRange.of(parseAddress(address).bytes, 0),
    { reason: 'test', action, until: NOW + 10_000, warning: false, ...extra },
    { now: NOW, seconds: 10, kernelEligible },
  );
}

function blockSuffix(w: TestWorld, name: string, action: DNSActionCode): void {
  w.blocks.addOrRefreshSuffixBlock(
    DNSName.fromString(name),
    { reason: 'test', action, until: NOW + 10_000, warning: false },
    { now: NOW, seconds: 10, kernelEligible: false },
  );
}

const flags = (p: Buffer) => p.readUInt16BE(2);

describe('DynBlockQueryCheck', () => {
  it('applies each action as dnsdist 1.7.3 does, counting the blocks that act', () => {
    const w = new TestWorld();
    const cases: Array<[string, DNSActionCode]> = [
      ['192.0.2.1', DNSAction.Drop],
      ['192.0.2.2', DNSAction.Refused],
      ['192.0.2.3', DNSAction.Nxdomain],
      ['192.0.2.4', DNSAction.Truncate],
      ['192.0.2.5', DNSAction.NoOp],
      ['192.0.2.6', DNSAction.NoRecurse],
      ['192.0.2.7', DNSAction.ServFail],
    ];
    for (const [a, action] of cases) blockClient(w, a, action);
    blockClient(w, '192.0.2.8', DNSAction.SetTag, { tag: { name: 'dyn', value: 'yes' } });

    const q = (client: string, transport: 'udp' | 'tcp' = 'udp') => makeQuery({ client, at: NOW, transport });
    const drop = q('192.0.2.1');
    expect(w.check.check(drop)).toBe(QueryVerdict.Drop);

    const refused = q('192.0.2.2');
    expect(w.check.check(refused)).toBe(QueryVerdict.Respond);
    expect(flags(refused.packet) & 0x800f).toBe(QR | 5);

    const nx = q('192.0.2.3');
    expect(w.check.check(nx)).toBe(QueryVerdict.Respond);
    expect(flags(nx.packet) & 0x800f).toBe(QR | 3);

    const tc = q('192.0.2.4');
    expect(w.check.check(tc)).toBe(QueryVerdict.Respond);
    expect(flags(tc.packet) & (QR | TC | RD | RA)).toBe(QR | TC | RD | RA);
    // Over TCP a Truncate block does nothing and is not counted.
    const tcp = q('192.0.2.4', 'tcp');
    expect(w.check.check(tcp)).toBe(QueryVerdict.Forward);
    expect(flags(tcp.packet) & QR).toBe(0);

    expect(w.check.check(q('192.0.2.5'))).toBe(QueryVerdict.Forward);

    const norec = q('192.0.2.6');
    expect(w.check.check(norec)).toBe(QueryVerdict.ForwardSkippingRules);
    expect(flags(norec.packet) & (QR | RD)).toBe(0);

    // Not a block action (ServFail): dnsdist drops.
    expect(w.check.check(q('192.0.2.7'))).toBe(QueryVerdict.Drop);

    const tagged = q('192.0.2.8');
    expect(w.check.check(tagged)).toBe(QueryVerdict.Forward);
    expect(tagged.getTag('dyn')).toBe('yes');

    expect(w.check.check(q('198.51.100.1'))).toBe(QueryVerdict.Forward);

    // Drop, Refused, Nxdomain, Truncate (UDP), NoRecurse, ServFail→drop, SetTag.
    expect(w.counters.dynBlocked).toBe(7);
    const counts = Object.fromEntries([...w.blocks.clients.values()].map((b) => [b.keyText(), b.blocks]));
    expect(counts).toEqual({
      '192.0.2.1/32': 1,
      '192.0.2.2/32': 1,
      '192.0.2.3/32': 1,
      '192.0.2.4/32': 1,
      '192.0.2.5/32': 0,
      '192.0.2.6/32': 1,
      '192.0.2.7/32': 1,
      '192.0.2.8/32': 1,
    });
  });

  it('a None block takes the setDynBlocksAction default; expired blocks do nothing', () => {
    const w = new TestWorld();
    blockClient(w, '192.0.2.1', DNSAction.None);
    w.blocks.defaultAction = DNSAction.Refused;
    expect(w.check.check(makeQuery({ client: '192.0.2.1', at: NOW }))).toBe(QueryVerdict.Respond);
    expect(w.check.check(makeQuery({ client: '192.0.2.1', at: NOW + 10_000 }))).toBe(QueryVerdict.Forward);
    expect(w.counters.dynBlocked).toBe(1);
  });

  it('checks the name suffixes after the client: a NoOp client block lets a suffix block act', () => {
    const w = new TestWorld();
    blockClient(w, '192.0.2.1', DNSAction.NoOp);
    blockSuffix(w, 'Bad.Example', DNSAction.Refused);
    const sub = makeQuery({ client: '192.0.2.1', name: 'www.BAD.example', at: NOW });
    expect(w.check.check(sub)).toBe(QueryVerdict.Respond);
    expect(w.check.check(makeQuery({ client: '192.0.2.1', name: 'notbad.example', at: NOW }))).toBe(QueryVerdict.Forward);
    expect(w.blocks.suffixes.get(DNSName.fromString('bad.example'))!.blocks).toBe(1);
  });

  it('Allow drops unless allowPass; skipUserspace ignores blocks the kernel holds', () => {
    const w = new TestWorld();
    blockClient(w, '192.0.2.1', DNSAction.Allow);
    expect(w.check.check(makeQuery({ client: '192.0.2.1', at: NOW }))).toBe(QueryVerdict.Drop);
    w.blocks.kernel.options = { ...w.blocks.kernel.options, allowPass: true };
    expect(w.check.check(makeQuery({ client: '192.0.2.1', at: NOW }))).toBe(QueryVerdict.Forward);

    const k = new TestWorld();
    k.blocks.setKernelSink(new FakeKernelSink());
    blockClient(k, '192.0.2.1', DNSAction.Drop, {}, true);
    blockClient(k, '192.0.2.2', DNSAction.Refused, {}, true);
    k.blocks.kernel.options = { ...k.blocks.kernel.options, skipUserspace: true };
    expect(k.check.check(makeQuery({ client: '192.0.2.1', at: NOW }))).toBe(QueryVerdict.Forward);
    // Refused has no kernel copy: userspace still answers.
    expect(k.check.check(makeQuery({ client: '192.0.2.2', at: NOW }))).toBe(QueryVerdict.Respond);
  });

  it('allocates nothing for a miss or a drop', async () => {
    const w = new TestWorld();
    for (let i = 0; i < 256; i++) blockClient(w, `10.0.0.${i}`, DNSAction.Drop);
    blockSuffix(w, 'bad.example', DNSAction.Drop);
    const blocked = makeQuery({ client: '10.0.0.9', at: NOW });
    const passed = makeQuery({ client: '192.0.2.1', name: 'www.good.example', at: NOW });
    // Compiled before the measurement: the optimizing compiler's own heap objects are not the check's.
    for (let i = 0; i < 50_000; i++) w.check.check(i % 2 ? blocked : passed);
    let drops = 0;
    const gcs = await collectionsDuring(() => {
      for (let i = 0; i < 500_000; i++) {
        drops += w.check.check(blocked);
        drops += w.check.check(passed);
      }
    });
    expect(drops).toBe(500_000);
    expect(gcs).toBe(0);
  });
});
