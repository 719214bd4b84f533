/**
 * Kernel figures in /metrics and the dashboard data, read from real
 * pinned maps: per-entry hit counters of a BPF filter (batch lookups), and
 * gauges declared with addBPFMapGauge over hash and per-CPU maps.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { BpfMap, MapType } from '@dnsdist-ts/bpf';
import { BPFFilter, encodeCounterAction, MatchAction, pinnedExternalOptions } from '@dnsdist-ts/bpf-filter';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { bpfFilterKernelCounters } from '@dnsdist-ts/web/metrics/bpf-filter-sources.js';
import { splitXdpStats } from '@dnsdist-ts/web/metrics/xdp-stats-split.js';
import { getJson, httpRequest } from './http-client.js';
import { parsePrometheusText, type MetricFamily } from './prometheus-text-parser.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const KEY = { apiKey: 'key' };

function value(families: Map<string, MetricFamily>, name: string, labels: Record<string, string>): number | undefined {
  return families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** Give every entry of a filter map a hit counter, as the XDP program would have counted (value: u64 counter, u8 action). */
function setCounters(map: BpfMap, counter: (i: number) => bigint): void {
  map.dump().forEach(([k, v], i) => {
    const next = Buffer.from(v);
    next.writeBigUInt64LE(counter(i), 0);
    map.update(k, next);
  });
}

describeBpf('kernel figures in /metrics', () => {
  const dir = `/sys/fs/bpf/${uniqueName('dtsweb')}`;
  let filter: BPFFilter;
  let p: RunningWebProxy;
  let hash: BpfMap;
  let perCpu: BpfMap;

  beforeAll(async () => {
    mkdirSync(dir);
    filter = new BPFFilter(pinnedExternalOptions(dir, 16));
    filter.block('192.0.2.1', MatchAction.Drop);
    filter.block('2001:db8::1', MatchAction.Truncate);
    filter.blockQName('Evil.Example', 255, MatchAction.Drop);
    filter.addRangeRule('10.0.0.0/8', MatchAction.Drop);
    setCounters(filter.map('ipv4')!, () => 7n);
    setCounters(filter.map('ipv6')!, () => 11n);
    setCounters(filter.map('qnames')!, () => 2n ** 40n);
    setCounters(filter.map('cidr4')!, () => 5n);
    hash = BpfMap.create({ type: MapType.Hash, keySize: 4, valueSize: 16, maxEntries: 4 });
    hash.pin(`${dir}/custom`);
    const v = Buffer.alloc(16);
    v.writeUInt32LE(0xdeadbeef, 4);
    v.writeUInt16BE(0x1234, 10);
    hash.update(Buffer.from([10, 0, 0, 1]), v);
    perCpu = BpfMap.create({ type: MapType.PerCpuArray, keySize: 4, valueSize: 8, maxEntries: 4 });
    perCpu.pin(`${dir}/percpu`);
    const slots = Buffer.alloc(perCpu.valueBufferSize);
    for (let off = 0; off < slots.length; off += 8) slots.writeBigUInt64LE(3n, off);
    const k2 = Buffer.alloc(4);
    k2.writeUInt32LE(2);
    perCpu.update(k2, slots);
    p = await startWebProxy(
      `
      webserver("127.0.0.1:0")
      setWebserverConfig({password="pw", apiKey="key"})
      addBPFMapGauge{name="custom_u32", help="A u32 at byte 4", path="\${DIR}/custom", key="0a.00.00.01", offset=4, length=4}
      addBPFMapGauge{name="custom_be16", help="A big-endian u16", path="\${DIR}/custom", key="0a000001", offset=10, length=2, byteOrder="big", labels={part="tail"}}
      addBPFMapGauge{name="custom_missing_key", help="Absent key", path="\${DIR}/custom", key="0a000002", offset=0, length=8}
      addBPFMapGauge{name="percpu_total", help="Summed over CPUs", path="\${DIR}/percpu", key=2, type="counter"}
      addBPFMapGauge{name="no_such_map", help="Missing map", path="\${DIR}/nothing", key=0}
    `,
      { DIR: dir },
    );
    p.app.web.providers.kernelCounters.push(bpfFilterKernelCounters(filter));
    p.app.web.providers.xdpStats = {
      xdpStats: () =>
        splitXdpStats({ Pass: 100n, DropAddress: 7n, TruncateAddress: 11n, DropQName: 3n, ParseTruncated: 2n, ParseQName: 1n }),
    };
  });

  afterAll(async () => {
    await p?.stop();
    filter?.close();
    hash?.close();
    perCpu?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports each kernel entry’s hits, the totals per action, and the entry counts', async () => {
    const m = parsePrometheusText((await httpRequest(p.web, '/metrics', KEY)).body);
    const hits = 'dnsdist_ts_kernel_block_hits_total';
    expect(m.get(hits)!.type).toBe('counter');
    expect(value(m, hits, { kind: 'address', key: '192.0.2.1', action: 'drop' })).toBe(7);
    expect(value(m, hits, { kind: 'address', key: '2001:db8::1', action: 'truncate' })).toBe(11);
    expect(value(m, hits, { kind: 'name', key: 'evil.example.', action: 'drop', qtype: '255' })).toBe(2 ** 40);
    expect(value(m, hits, { kind: 'range', key: '10.0.0.0/8', action: 'drop' })).toBe(5);
    expect(value(m, 'dnsdist_ts_kernel_action_hits_total', { action: 'drop' })).toBe(7 + 2 ** 40 + 5);
    expect(value(m, 'dnsdist_ts_kernel_action_hits_total', { action: 'truncate' })).toBe(11);
    expect(value(m, 'dnsdist_ts_kernel_block_entries', { kind: 'address', action: 'drop' })).toBe(1);
    expect(value(m, 'dnsdist_ts_xdp_packets_total', { verdict: 'drop_address' })).toBe(7);
    expect(value(m, 'dnsdist_ts_xdp_parse_failures_total', { reason: 'truncated' })).toBe(2);
  });

  it('reads the declared map gauges at scrape time, and counts the ones it cannot read', async () => {
    let m = parsePrometheusText((await httpRequest(p.web, '/metrics', KEY)).body);
    expect(value(m, 'custom_u32', {})).toBe(0xdeadbeef);
    expect(value(m, 'custom_be16', { part: 'tail' })).toBe(0x1234);
    expect(m.get('custom_missing_key')!.samples).toEqual([]);
    expect(m.get('percpu_total')!.type).toBe('counter');
    expect(value(m, 'percpu_total', {})).toBe(3 * (perCpu.valueBufferSize / 8));
    expect(value(m, 'dnsdist_ts_bpf_map_gauge_read_errors_total', { gauge: 'no_such_map' })).toBeGreaterThanOrEqual(1);
    // A later value is what the next scrape shows.
    const v = Buffer.alloc(16);
    v.writeUInt32LE(42, 4);
    hash.update(Buffer.from([10, 0, 0, 1]), v);
    m = parsePrometheusText((await httpRequest(p.web, '/metrics', KEY)).body);
    expect(value(m, 'custom_u32', {})).toBe(42);
  });

  it('refuses gauge declarations that cannot work', () => {
    const run = (lua: string) => p.app.runConsoleCommand(lua);
    expect(run('addBPFMapGauge{name="dnsdist_x", path="/sys/fs/bpf/x", key=0}')).toMatch(/reserved for built-in metrics/);
    expect(run('addBPFMapGauge{name="bad-name", path="/sys/fs/bpf/x", key=0}')).toMatch(/not a valid Prometheus metric name/);
    expect(run('addBPFMapGauge{name="g", path="/sys/fs/bpf/x", key="0g"}')).toMatch(/must be hex bytes/);
    expect(run('addBPFMapGauge{name="g", path="/sys/fs/bpf/x", key=0, length=9}')).toMatch(/length must be 1 to 8 bytes/);
    expect(run('addBPFMapGauge{name="custom_u32", help="other", path="/sys/fs/bpf/x", key=0}')).toMatch(
      /declared before with another help/,
    );
    expect(run('addBPFMapGauge{name="g", path="relative", key=0}')).toMatch(/absolute path/);
    expect(run('addBPFMapGauge{name="g", path="/sys/fs/bpf/x", key=0, offset=-1}')).toMatch(/offset must be/);
  });

  it('gives the dashboard the kernel totals per action and the top blocked clients and names', async () => {
    const d = await getJson<{
      kernel: { actions: Record<string, number>; entries: number; xdp: { verdicts: Record<string, number> } };
      topBlockedClients: Array<{ key: string; hits: number }>;
      topBlockedNames: Array<{ key: string; hits: number }>;
    }>(p.web, '/dashboard.json', { basic: 'u:pw' });
    expect(d.kernel.actions).toEqual({ drop: 7 + 2 ** 40 + 5, truncate: 11 });
    expect(d.kernel.entries).toBe(4);
    expect(d.kernel.xdp.verdicts.pass).toBe(100);
    expect(d.topBlockedClients).toEqual([
      { key: '2001:db8::1', hits: 11 },
      { key: '192.0.2.1', hits: 7 },
      { key: '10.0.0.0/8', hits: 5 },
    ]);
    expect(d.topBlockedNames).toEqual([{ key: 'evil.example.', hits: 2 ** 40 }]);
  });
});

describeBpf('the per-entry walk over a large pinned map', () => {
  const dir = `/sys/fs/bpf/${uniqueName('dtswalk')}`;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads 20,000 entries in chunks between steps, never the whole map in one call', () => {
    mkdirSync(dir);
    const filter = new BPFFilter(pinnedExternalOptions(dir, 30_000));
    try {
      const map = filter.map('ipv4')!;
      const n = 20_000;
      const keys = Buffer.alloc(n * 4);
      const values = Buffer.alloc(n * map.valueBufferSize);
      for (let i = 0; i < n; i++) {
        keys.writeUInt32LE(0x0a000000 + i, i * 4);
        encodeCounterAction(MatchAction.Drop, BigInt(i)).copy(values, i * map.valueBufferSize);
      }
      map.updateBatchRaw(keys, values, n);
      // A whole-map dump would hold the event loop for the whole read: the walk must not use it.
      map.dumpRaw = () => {
        throw new Error('dumpRaw called');
      };
      let visited = 0;
      let inStep = 0;
      let largestStep = 0;
      let hits = 0;
      const odd: string[] = [];
      const walk = bpfFilterKernelCounters(filter).walkKernelCounters!((kind, key, action, h) => {
        if (kind !== 'address' || action !== 'drop' || !/^10\.0\.\d+\.\d+$/.test(key)) odd.push(`${kind} ${key} ${action}`);
        visited++;
        inStep++;
        hits += Number(h);
      });
      let steps = 0;
      while (!walk.next().done) {
        largestStep = Math.max(largestStep, inStep);
        inStep = 0;
        steps++;
      }
      expect(visited).toBe(n);
      expect(odd).toEqual([]);
      expect(hits).toBe((n * (n - 1)) / 2);
      expect(largestStep).toBeLessThanOrEqual(512);
      // At least one step per chunk read from the kernel (4,096 entries each), besides the decoding steps.
      expect(steps).toBeGreaterThanOrEqual(n / 512);
    } finally {
      filter.close();
    }
  });
});
