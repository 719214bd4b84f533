import { parseBPFFilterArgs } from '../src/bpf-filter-options.js';
import { BPFFilterConfigError } from '../src/bpf-filter-error.js';

describe("newBPFFilter's three call forms", () => {
  it('(maxV4, maxV6, maxQNames): legacy, unpinned', () => {
    expect(parseBPFFilterArgs([10, 20, 30])).toEqual({
      external: false,
      maps: { ipv4: { maxItems: 10 }, ipv6: { maxItems: 20 }, qnames: { maxItems: 30 } },
    });
  });

  it('(v4Params, v6Params, qnameParams, external) with tables and numbers', () => {
    expect(parseBPFFilterArgs([{ maxItems: 5, pinnedPath: '/sys/fs/bpf/dnsdist/addr-v4' }, 6, { maxItems: 7 }, true])).toEqual({
      external: true,
      maps: { ipv4: { maxItems: 5, pinnedPath: '/sys/fs/bpf/dnsdist/addr-v4' }, ipv6: { maxItems: 6 }, qnames: { maxItems: 7 } },
    });
  });

  it('the 1.8+ options table, cidr maps only with external', () => {
    const o = parseBPFFilterArgs([
      {
        ipv4MaxItems: 1,
        ipv6MaxItems: 2,
        qnamesMaxItems: 3,
        cidr4MaxItems: 4,
        cidr6PinnedPath: '/sys/fs/bpf/x/c6',
        cidr6MaxItems: 5,
        external: true,
      },
    ]);
    expect(o.maps.cidr4).toEqual({ maxItems: 4 });
    expect(o.maps.cidr6).toEqual({ maxItems: 5, pinnedPath: '/sys/fs/bpf/x/c6' });
    expect(() => parseBPFFilterArgs([{ ipv4MaxItems: 1, ipv6MaxItems: 2, qnamesMaxItems: 3, cidr4MaxItems: 4 }])).toThrow(
      /cidr4 maps exist only in the external format/,
    );
  });

  it('errors name the offending key', () => {
    const err = (args: unknown[]) => {
      try {
        parseBPFFilterArgs(args);
      } catch (e) {
        expect(e).toBeInstanceOf(BPFFilterConfigError);
        return (e as BPFFilterConfigError).message;
      }
      throw new Error('no error');
    };
    expect(err([{ ipv4MaxItems: 1, ipv6MaxItems: 2, qnamesMaxItems: 3, ipv4MaxItem: 3 }])).toMatch(/unknown option 'ipv4MaxItem'/);
    expect(err([{ ipv4MaxItems: '1', ipv6MaxItems: 2, qnamesMaxItems: 3 }])).toMatch(
      /'ipv4MaxItems' must be a non-negative integer, got "1"/,
    );
    expect(err([{ ipv4MaxItems: 1, ipv6MaxItems: 2, qnamesMaxItems: 3, external: 'true' }])).toMatch(/'external' must be true or false/);
    expect(err([1, 2, 3, 1])).toMatch(/external \(argument 4\)' must be true or false/);
    expect(err([{ ipv4MaxItems: 1, qnamesMaxItems: 3 }])).toMatch(/ipv6 map needs a size above 0 \(ipv6MaxItems\)/);
    expect(err([0, 1, 1])).toMatch(/ipv4 map needs a size above 0/);
    expect(err([{ maxItems: 1, pinnedPath: 'relative' }, 1, 1])).toMatch(/argument 1 \(ipv4\)\.pinnedPath' must be an absolute path/);
    expect(err([{ maxItems: 1, pinned: '/x' }, 1, 1])).toMatch(/unknown key 'pinned' in argument 1/);
    expect(err([1, 2])).toMatch(/takes \(maxV4, maxV6, maxQNames\)/);
  });
});
