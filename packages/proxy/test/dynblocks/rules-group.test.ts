import { NetmaskGroup, parseAddress } from '@dnsdist-ts/dns';
import {
  DynBlockRateRule,
  DynBlockRatioRule,
  DynBlockSuffixRule,
  type SuffixVisitorVerdict,
} from '@dnsdist-ts/dynblocks/dynblocks/dyn-block-rule.js';
import type { NewBlockInfo } from '@dnsdist-ts/dynblocks/dynblocks/dyn-block-rules-group.js';
import type { StatNodeStats } from '@dnsdist-ts/dynblocks/dynblocks/stat-node.js';
import { responseStatTree } from '@dnsdist-ts/dynblocks/dynblocks/response-stat-tree.js';
import { DNSAction, type DNSActionCode } from '@dnsdist-ts/dataplane/query/dns-action.js';
import { makeQuery } from '../rings/ring-fixtures.js';
import { TestWorld } from './test-clock-world.js';

const NOW = 100_000;

function rate(
  rateValue: number,
  seconds: number,
  reason: string,
  blockSeconds: number,
  action: DNSActionCode = DNSAction.None,
  warningRate = 0,
) {
  return new DynBlockRateRule({ rate: rateValue, seconds, reason, blockSeconds, action, warningRate });
}

describe('DynBlockRulesGroup: query rate', () => {
  it('blocks only when the count is strictly over rate × seconds', () => {
    const w = new TestWorld();
    const g = w.group();
    g.setQueryRate(rate(10, 2, 'Exceeded query rate', 60, DNSAction.Drop));
    w.queries(20, NOW - 1900, NOW, { client: '192.0.2.1' });
    w.queries(21, NOW - 1900, NOW, { client: '192.0.2.2' });
    // Older than the window: never counted.
    w.queries(100, NOW - 5000, NOW - 2100, { client: '192.0.2.1' });
    g.apply(NOW);
    expect(w.clientTable(NOW)).toEqual({ '192.0.2.2/32': `Exceeded query rate|${DNSAction.Drop}|false` });
    expect(w.warnings()).toEqual(['Inserting dynamic block for 192.0.2.2/32 for 60 seconds: Exceeded query rate']);
    const b = w.blocks.clients.get(w.blocks.activeClientBlocks(NOW)[0]!.range!)!;
    expect(b.until).toBe(NOW + 60_000);
  });

  it('never triggers when the ring cannot hold rate × seconds entries of the client', () => {
    const w = new TestWorld(10, 1);
    const g = w.group();
    g.setQueryRate(rate(5, 2, 'r', 60, DNSAction.Drop));
    w.queries(1000, NOW - 1000, NOW, { client: '192.0.2.1' });
    g.apply(NOW);
    expect(w.clientTable(NOW)).toEqual({});
  });

  it('with seconds = 0 the window is the age of the oldest counted entry', () => {
    const w = new TestWorld();
    const g = w.group();
    g.setQueryRate(rate(10, 0, 'whole ring', 60, DNSAction.Drop));
    // 25 queries over the last 2 s: 12.5/s > 10/s. 15 over 2 s: 7.5/s.
    w.queries(25, NOW - 2000, NOW, { client: '192.0.2.1' });
    w.queries(15, NOW - 2000, NOW, { client: '192.0.2.2' });
    g.apply(NOW);
    expect(Object.keys(w.clientTable(NOW))).toEqual(['192.0.2.1/32']);
  });

  it('a warning rate makes a NoOp warning block, which a real block then replaces', () => {
    const w = new TestWorld();
    const g = w.group();
    g.setQueryRate(rate(100, 1, 'qr', 60, DNSAction.Drop, 10));
    w.queries(50, NOW - 900, NOW, { client: '192.0.2.1' });
    g.apply(NOW);
    expect(w.clientTable(NOW)).toEqual({ '192.0.2.1/32': `qr|${DNSAction.NoOp}|true` });
    expect(w.warnings()).toEqual(['Inserting (warning) dynamic block for 192.0.2.1/32 for 60 seconds: qr']);

    w.queries(200, NOW + 100, NOW + 1000, { client: '192.0.2.1' });
    g.apply(NOW + 1000);
    expect(w.clientTable(NOW + 1000)).toEqual({ '192.0.2.1/32': `qr|${DNSAction.Drop}|false` });
    // Over both rates in one pass: the warning line, then the block that replaces it.
    expect(w.warnings().slice(1)).toEqual(['Inserting dynamic block for 192.0.2.1/32 for 60 seconds: qr']);

    // Back under the blocking rate: the warning does not replace the real block.
    w.rings.clear();
    w.queries(50, NOW + 1100, NOW + 2000, { client: '192.0.2.1' });
    g.apply(NOW + 2000);
    expect(w.clientTable(NOW + 2000)).toEqual({ '192.0.2.1/32': `qr|${DNSAction.Drop}|false` });
  });

  it('counts and blocks whole ranges with setMasks, ports included', () => {
    const w = new TestWorld();
    const g = w.group();
    g.setMasks(24, 64, 0);
    g.setQueryRate(rate(10, 1, 'range', 60, DNSAction.Drop));
    for (let i = 1; i <= 5; i++) w.queries(3, NOW - 900, NOW, { client: `192.0.2.${i}` });
    w.queries(3, NOW - 900, NOW, { client: '198.51.100.1' });
    g.apply(NOW);
    expect(Object.keys(w.clientTable(NOW))).toEqual(['192.0.2.0/24']);
    expect(w.check.check(makeQuery({ client: '192.0.2.200', at: NOW }))).toBe(1);

    const p = new TestWorld();
    const pg = p.group();
    pg.setMasks(32, 128, 2);
    pg.setQueryRate(rate(10, 1, 'ports', 60, DNSAction.Drop));
    p.queries(15, NOW - 900, NOW, { client: '192.0.2.1', port: 50000 });
    p.queries(5, NOW - 900, NOW, { client: '192.0.2.1', port: 1000 });
    pg.apply(NOW);
    expect(Object.keys(p.clientTable(NOW))).toEqual(['192.0.2.1:49152/2']);
    expect(p.check.check(makeQuery({ client: '192.0.2.1', port: 60000, at: NOW }))).toBe(1);
    expect(p.check.check(makeQuery({ client: '192.0.2.1', port: 1000, at: NOW }))).toBe(0);
  });

  it('never blocks excluded ranges; includeRange cuts holes; removeRange forgets', () => {
    const w = new TestWorld();
    const g = w.group();
    g.setQueryRate(rate(1, 1, 'r', 60, DNSAction.Drop));
    g.excludeRange(['192.0.2.0/24']);
    g.includeRange(['192.0.2.128/25']);
    for (const c of ['192.0.2.1', '192.0.2.200', '198.51.100.1']) w.queries(5, NOW - 900, NOW, { client: c });
    g.apply(NOW);
    expect(Object.keys(w.clientTable(NOW)).sort()).toEqual(['192.0.2.200/32', '198.51.100.1/32']);

    const n = new TestWorld();
    const ng = n.group();
    ng.setQueryRate(rate(1, 1, 'r', 60, DNSAction.Drop));
    const nmg = new NetmaskGroup().addMask('192.0.2.0/24').addMask('198.51.100.0/24');
    ng.excludeRange(nmg);
    ng.removeRange(['198.51.100.0/24']);
    for (const c of ['192.0.2.1', '198.51.100.1']) n.queries(5, NOW - 900, NOW, { client: c });
    ng.apply(NOW);
    expect(Object.keys(n.clientTable(NOW))).toEqual(['198.51.100.1/32']);
  });

  it('with masks, excluded clients do not count toward their range', () => {
    const w = new TestWorld();
    const g = w.group();
    g.setMasks(24, 64, 0);
    g.setQueryRate(rate(10, 1, 'r', 60, DNSAction.Drop));
    g.excludeRange(['192.0.2.1']);
    w.queries(50, NOW - 900, NOW, { client: '192.0.2.1' });
    w.queries(5, NOW - 900, NOW, { client: '192.0.2.2' });
    g.apply(NOW);
    expect(w.clientTable(NOW)).toEqual({});
  });

  it('holds several rules of one kind, tried from the highest rate down (#6907)', () => {
    const w = new TestWorld();
    const g = w.group();
    g.setQueryRate(rate(50, 1, 'alert', 60, DNSAction.NoOp));
    g.setQueryRate(rate(100, 1, 'block', 60, DNSAction.Drop));
    w.queries(70, NOW - 900, NOW, { client: '192.0.2.1' });
    w.queries(150, NOW - 900, NOW, { client: '192.0.2.2' });
    g.apply(NOW);
    expect(w.clientTable(NOW)).toEqual({
      '192.0.2.1/32': `alert|${DNSAction.NoOp}|false`,
      '192.0.2.2/32': `block|${DNSAction.Drop}|false`,
    });
    // Same action and window: replaces (dnsdist's "the last call wins" for a single rule).
    g.setQueryRate(rate(200, 1, 'block harder', 60, DNSAction.Drop));
    expect(
      g
        .toString()
        .split('\n')
        .filter((l) => l.startsWith('Query rate rule')),
    ).toEqual([
      "Query rate rule: Drop for 60 seconds when over 200 during the last 1 seconds, reason: 'block harder'",
      "Query rate rule: Do nothing for 60 seconds when over 50 during the last 1 seconds, reason: 'alert'",
    ]);
  });

  it('a client blocked for its query rate is not looked at by the other rules', () => {
    const w = new TestWorld();
    const g = w.group();
    g.setQueryRate(rate(10, 1, 'query rate', 60, DNSAction.Drop));
    g.setQTypeRate(255, rate(5, 1, 'any rate', 60, DNSAction.Refused));
    w.queries(20, NOW - 900, NOW, { client: '192.0.2.1', type: 'ANY' });
    w.queries(8, NOW - 900, NOW, { client: '192.0.2.2', type: 'ANY' });
    w.queries(8, NOW - 900, NOW, { client: '192.0.2.3', type: 'A' });
    g.apply(NOW);
    expect(w.clientTable(NOW)).toEqual({
      '192.0.2.1/32': `query rate|${DNSAction.Drop}|false`,
      '192.0.2.2/32': `any rate|${DNSAction.Refused}|false`,
    });
  });
});

describe('DynBlockRulesGroup: response rules', () => {
  it('RCODE rates, byte rates and ratios with their minimum', () => {
    const w = new TestWorld();
    const g = w.group();
    g.setRCodeRate(3, rate(5, 1, 'nxdomain', 60, DNSAction.Drop));
    g.setResponseByteRate(rate(2000, 1, 'bytes', 60, DNSAction.Truncate));
    g.setRCodeRatio(
      2,
      new DynBlockRatioRule({
        ratio: 0.5,
        warningRatio: 0,
        seconds: 1,
        reason: 'servfail ratio',
        blockSeconds: 60,
        action: DNSAction.Refused,
        minimumResponses: 10,
      }),
    );
    w.responses(6, NOW - 900, NOW, { client: '192.0.2.1', rcode: 3 });
    w.responses(5, NOW - 900, NOW, { client: '192.0.2.2', rcode: 3 });
    w.responses(10, NOW - 900, NOW, { client: '192.0.2.3', padding: 300 });
    // 6 SERVFAIL of 10 answers: over half.
    w.responses(6, NOW - 900, NOW, { client: '192.0.2.4', rcode: 2 });
    w.responses(4, NOW - 900, NOW, { client: '192.0.2.4' });
    // 6 of 9: over half, but under the minimum of 10 answers.
    w.responses(6, NOW - 900, NOW, { client: '192.0.2.5', rcode: 2 });
    w.responses(3, NOW - 900, NOW, { client: '192.0.2.5' });
    // 5 of 10: not over half.
    w.responses(5, NOW - 900, NOW, { client: '192.0.2.6', rcode: 2 });
    w.responses(5, NOW - 900, NOW, { client: '192.0.2.6' });
    g.apply(NOW);
    expect(w.clientTable(NOW)).toEqual({
      '192.0.2.1/32': `nxdomain|${DNSAction.Drop}|false`,
      '192.0.2.3/32': `bytes|${DNSAction.Truncate}|false`,
      '192.0.2.4/32': `servfail ratio|${DNSAction.Refused}|false`,
    });
  });
});

describe('DynBlockRulesGroup: suffix match rule', () => {
  it('shows every name of the window to the visitor, children first, and blocks what it picks', () => {
    const w = new TestWorld();
    const g = w.group();
    const seen: Array<[string, number, StatNodeStats, StatNodeStats]> = [];
    g.setSuffixMatchRule(
      new DynBlockSuffixRule({
        seconds: 10,
        reason: 'smt',
        blockSeconds: 30,
        action: DNSAction.Drop,
        visitor: (node, self, children): SuffixVisitorVerdict => {
          seen.push([node.fullname, node.labelsCount, self, children]);
          if (node.fullname === 'good.example.') return { block: true };
          if (node.labelsCount === 2 && children.queries > 10) return { block: true, reason: `busy ${node.fullname}` };
          return { block: false };
        },
      }),
    );
    g.excludeDomains(['good.example']);
    w.responses(8, NOW - 5000, NOW, { name: 'a.bad.example', rcode: 3 });
    w.responses(5, NOW - 5000, NOW, { name: 'b.bad.example', timeout: true });
    w.responses(2, NOW - 5000, NOW, { name: 'good.example' });
    w.responses(50, NOW - 20_000, NOW - 11_000, { name: 'old.example' });
    g.apply(NOW);
    expect(seen.map(([n, l]) => `${n}:${l}`)).toEqual([
      'a.bad.example.:3',
      'b.bad.example.:3',
      'bad.example.:2',
      'good.example.:2',
      'example.:1',
      ':0',
    ]);
    const bad = seen.find(([n]) => n === 'bad.example.')!;
    expect(bad[2].queries).toBe(0);
    expect(bad[3]).toMatchObject({ queries: 13, nxdomains: 8, drops: 5, noerrors: 0 });
    const a = seen.find(([n]) => n === 'a.bad.example.')!;
    expect(a[2].bytes).toBeGreaterThan(8 * 30);
    expect(w.blocks.activeSuffixBlocks(NOW).map((b) => `${b.keyText()}|${b.reason}`)).toEqual(['bad.example.|busy bad.example.']);
    expect(w.warnings()).toEqual(['Inserting dynamic block for bad.example for 30 seconds: busy bad.example.']);
    expect(w.check.check(makeQuery({ name: 'www.a.BAD.example', at: NOW }))).toBe(1);
    expect(w.check.check(makeQuery({ name: 'good.example', at: NOW }))).toBe(0);
  });
});

describe('DynBlockRulesGroup: hook, quiet, toString', () => {
  it('tells the hook about every insertion, and setQuiet silences the log', () => {
    const w = new TestWorld();
    const g = w.group();
    const infos: NewBlockInfo[] = [];
    g.newBlockHook = (i) => infos.push(i);
    g.quiet = true;
    g.setQueryRate(rate(10, 1, 'qr', 60, DNSAction.Drop, 5));
    w.queries(20, NOW - 900, NOW, { client: '2001:db8::1' });
    g.apply(NOW);
    expect(infos).toEqual([
      { type: 0, key: '2001:db8::1/128', reason: 'qr', action: DNSAction.Drop, seconds: 60, warning: true },
      { type: 0, key: '2001:db8::1/128', reason: 'qr', action: DNSAction.Drop, seconds: 60, warning: false },
    ]);
    expect(w.warnings()).toEqual([]);
  });

  it("prints dnsdist 1.7.3's text", () => {
    const w = new TestWorld();
    const g = w.group();
    g.setQueryRate(rate(5, 2, 'Exceeded query rate', 60, DNSAction.Truncate, 3));
    g.setResponseByteRate(rate(10000, 1, 'Exceeded resp BW rate', 60));
    g.setRCodeRate(2, rate(5, 2, 'servfail', 20, DNSAction.Refused));
    g.setRCodeRatio(
      3,
      new DynBlockRatioRule({
        ratio: 0.2,
        warningRatio: 0,
        seconds: 10,
        reason: 'nx ratio',
        blockSeconds: 20,
        action: DNSAction.Drop,
        minimumResponses: 5,
      }),
    );
    g.setQTypeRate(255, rate(5, 2, 'any', 20, DNSAction.Nxdomain, 1));
    g.setQTypeRate(16, rate(7, 2, 'txt', 20));
    g.setSuffixMatchRule(
      new DynBlockSuffixRule({ seconds: 10, reason: 'smt', blockSeconds: 30, action: DNSAction.Drop, visitor: () => ({ block: false }) }),
    );
    g.excludeRange(['2001:db8::/32', '11.0.0.0/8', '10.0.0.0/8', '::1/128', '10.1.0.0/16', '9.0.0.0/8', '10.0.0.0/24', '10.128.0.0/9']);
    g.includeRange(['10.1.2.0/24']);
    g.excludeDomains(['www.b.example', 'a.example', 'B.example', 'z.', 'c.example', 'x.a.example']);
    // Captured from `dnsdist -e 'dbr:toString()'` (1.7.3) with the same calls.
    expect(g.toString()).toBe(
      [
        "Query rate rule: Truncate over UDP for 60 seconds when over 5 during the last 2 seconds, reason: 'Exceeded query rate'",
        "Response rate rule: Apply the global DynBlock action for 60 seconds when over 10000 during the last 1 seconds, reason: 'Exceeded resp BW rate'",
        "SuffixMatch rule: Drop for 30 seconds when over 0 during the last 10 seconds, reason: 'smt'",
        'RCode rules: ',
        "- Server Failure: Send Refused for 20 seconds when over 5 during the last 2 seconds, reason: 'servfail'",
        "- Non-Existent domain: Drop for 20 seconds when over 0.200000 ratio during the last 10 seconds, reason: 'nx ratio'",
        'QType rules: ',
        "- TXT: Apply the global DynBlock action for 20 seconds when over 7 during the last 2 seconds, reason: 'txt'",
        "- ANY: Send NXDomain for 20 seconds when over 5 during the last 2 seconds, reason: 'any'",
        'Excluded Subnets: 9.0.0.0/8, 10.0.0.0/24, !10.1.2.0/24, 10.1.0.0/16, 10.0.0.0/8, 10.128.0.0/9, 11.0.0.0/8, ::1/128, 2001:db8::/32',
        'Excluded Domains: a.example., x.a.example., B.example., www.b.example., c.example., z.',
        '',
      ].join('\n'),
    );
    expect(w.group().toString()).toBe(
      'Query rate rule: \nResponse rate rule: \nSuffixMatch rule: \nRCode rules: \nQType rules: \nExcluded Subnets: \nExcluded Domains: \n',
    );
  });

  it("rejects bad masks with dnsdist's messages", () => {
    const g = new TestWorld().group();
    expect(() => g.setMasks(24, 64, 1)).toThrow(
      'Setting a non-zero port mask for Dynamic Blocks while only considering parts of IPv4 addresses does not make sense',
    );
    expect(() => g.setMasks(33, 64, 0)).toThrow('Trying to set an invalid IPv4 mask (33) to a Dynamic Block object');
    expect(g.masks).toEqual({ v4: 32, v6: 128, port: 0 });
  });
});

describe('parseAddress sanity for the fixtures', () => {
  it('the fixture clients are what the tests think', () => {
    expect(makeQuery({ client: '192.0.2.9' }).remote.bytes).toEqual(parseAddress('192.0.2.9').bytes);
  });
});

describe('responseStatTree (statNodeRespRing, the suffix match rule)', () => {
  it('counts the answers of the window only: none received before the cut-off nor after now', () => {
    const w = new TestWorld();
    w.responses(3, NOW - 4000, NOW, { name: 'recent.example' });
    w.responses(4, NOW - 9000, NOW - 6000, { name: 'older.example' });
    w.responses(2, NOW + 1000, NOW + 2000, { name: 'future.example' });
    const names = (cutOff: number): string[] => {
      const seen: string[] = [];
      responseStatTree(w.rings, NOW, cutOff).visit((node, self) => seen.push(`${node.fullname}:${self.queries}`));
      return seen;
    };
    expect(names(-Infinity)).toEqual(['older.example.:4', 'recent.example.:3', 'example.:0', ':0']);
    expect(names(NOW - 5000)).toEqual(['recent.example.:3', 'example.:0', ':0']);
    expect(names(NOW)).toEqual([':0']);
  });
});
