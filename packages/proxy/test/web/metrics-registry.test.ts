/**
 * `/metrics` served from prom-client's registry: every sample named
 * `dnsdist_…`, prom-client's default process and Node.js metrics, gzip
 * when the scraper accepts it, the `kernel_entries` bound on the per-entry
 * family, and a scrape of many kernel entries that lets DNS queries be
 * answered while it renders.
 */
import http from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { BPFFilter, MatchAction, pinnedExternalOptions } from '@dnsdist-ts/bpf-filter';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import { udpQuery } from '../support/dns-client.js';
import { bpfFilterKernelCounters } from '@dnsdist-ts/web/metrics/bpf-filter-sources.js';
import { acceptsGzip, parseKernelEntryLimit } from '@dnsdist-ts/web/metrics/metrics-exposition.js';
import { PrometheusFormatError } from '@dnsdist-ts/web/metrics/prometheus-text-writer.js';
import { FamilyRegistry, ScrapedFamilies } from '@dnsdist-ts/web/metrics/registry-families.js';
import { parsePrometheusText, type MetricFamily } from './prometheus-text-parser.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

interface RawResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** GET /metrics with the API key, the body as the bytes sent. */
function getMetrics(port: number, path = '/metrics', headers: Record<string, string> = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { 'X-API-Key': 'key', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Every series (sample name and labels) of a scrape, sorted: what two scrapes a moment apart share. */
function seriesOf(families: Map<string, MetricFamily>): string[] {
  return [...families.values()].flatMap((f) => f.samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`)).sort();
}

const CONFIG = `
  webserver("127.0.0.1:0")
  setWebserverConfig({apiKey="key"})
  addAction(AllRule(), RCodeAction(DNSRCode.REFUSED))
`;

describe('/metrics from the prom-client registry', () => {
  let p: RunningWebProxy;
  beforeAll(async () => {
    p = await startWebProxy(CONFIG);
  });
  afterAll(() => p?.stop());

  it('names every family and every sample dnsdist_…', async () => {
    const r = await getMetrics(p.web);
    expect(r.status).toBe(200);
    const text = r.body.toString('utf8');
    const names = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (l.startsWith('# ') ? l.split(' ')[2]! : l.split(/[{ ]/)[0]!));
    expect(names.length).toBeGreaterThan(200);
    expect(names.filter((n) => !n.startsWith('dnsdist_'))).toEqual([]);
    // The strict parser: one group per family, valid names and values, consistent histograms.
    expect(parsePrometheusText(text).size).toBeGreaterThan(100);
  });

  it('writes every line as dnsdist does: comments, or a sample of exactly "name value" (no blank lines)', async () => {
    // dnsdist's own Prometheus test splits every non-comment line on spaces and wants two tokens.
    const text = (await getMetrics(p.web)).body.toString('utf8');
    const odd = text
      .replace(/\n$/, '')
      .split('\n')
      .filter((l) => !l.startsWith('#') && l.split(' ').length !== 2);
    expect(odd).toEqual([]);
  });

  it('includes prom-client’s default process and Node.js metrics, prefixed dnsdist_ts_', async () => {
    const families = parsePrometheusText((await getMetrics(p.web)).body.toString('utf8'));
    for (const [name, type] of [
      ['dnsdist_ts_nodejs_eventloop_lag_seconds', 'gauge'],
      ['dnsdist_ts_nodejs_eventloop_lag_p99_seconds', 'gauge'],
      ['dnsdist_ts_process_cpu_seconds_total', 'counter'],
      ['dnsdist_ts_process_resident_memory_bytes', 'gauge'],
      ['dnsdist_ts_nodejs_heap_size_used_bytes', 'gauge'],
      ['dnsdist_ts_nodejs_gc_duration_seconds', 'histogram'],
      ['dnsdist_ts_nodejs_active_handles', 'gauge'],
    ] as const) {
      expect({ name, type: families.get(name)?.type }).toEqual({ name, type });
    }
    expect(families.get('dnsdist_ts_process_resident_memory_bytes')!.samples[0]!.value).toBeGreaterThan(1e6);
    // prom-client's three gauges named …_total are left out (promtool and dnsdist's test_Prometheus.py refuse them).
    expect([...families.keys()].filter((n) => /^dnsdist_ts_nodejs_active_\w+_total$/.test(n))).toEqual([]);
  });

  it('compresses with gzip when the scraper accepts it, the same exposition once decompressed', async () => {
    const plain = await getMetrics(p.web);
    const gz = await getMetrics(p.web, '/metrics', { 'Accept-Encoding': 'gzip, deflate' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('Accept-Encoding');
    const unzipped = gunzipSync(gz.body).toString('utf8');
    const a = parsePrometheusText(plain.body.toString('utf8'));
    const b = parsePrometheusText(unzipped);
    // The same series, but for the GC histogram's: a collection between the two scrapes adds a `kind`.
    const stable = (series: string[]): string[] => series.filter((x) => !x.startsWith('dnsdist_ts_nodejs_gc_duration_seconds'));
    expect(stable(seriesOf(b))).toEqual(stable(seriesOf(a)));
    expect(b.get('dnsdist_info')).toEqual(a.get('dnsdist_info'));
    // Refused (q=0) or not offered: plain text.
    for (const header of ['gzip;q=0', 'identity', 'br']) {
      const r = await getMetrics(p.web, '/metrics', { 'Accept-Encoding': header });
      expect({ header, encoding: r.headers['content-encoding'] }).toEqual({ header, encoding: undefined });
    }
  });

  it('refuses an unusable kernel_entries bound with 400 and says what it takes', async () => {
    const r = await getMetrics(p.web, '/metrics?kernel_entries=many');
    expect(r.status).toBe(400);
    expect(r.body.toString('utf8')).toMatch(/kernel_entries must be a whole number of samples .*got "many"/);
  });
});

describe('ScrapedFamilies (the registry side of a scrape)', () => {
  it('refuses what the text format cannot carry, as the hand-written writer does', () => {
    const f = new ScrapedFamilies();
    expect(() => f.sample('dnsdist_x', 1)).toThrow(PrometheusFormatError);
    expect(() => f.family('dnsdist-x', 'gauge', 'h')).toThrow(/not a valid Prometheus metric name/);
    f.family('dnsdist_h', 'histogram', 'h');
    f.sample('dnsdist_h_bucket', 1, [['le', '+Inf']]);
    expect(() => f.sample('dnsdist_other', 1)).toThrow(/outside its family/);
    expect(() => f.sample('dnsdist_h_sum', 1, [['__x', 'y']])).toThrow(/not a valid Prometheus label name/);
    expect(() => f.family('dnsdist_h', 'gauge', 'again')).toThrow(/written twice/);
  });

  it('hands the registry each scrape’s samples, u64 counters as numbers, labels escaped by prom-client', async () => {
    const registry = new FamilyRegistry();
    const first = new ScrapedFamilies();
    first.family('dnsdist_a', 'counter', 'A "first" \\ help');
    first.sample('dnsdist_a', 2n ** 40n, [['k', 'quote " and \n newline']]);
    expect(await registry.render(first)).toBe(
      '# HELP dnsdist_a A "first" \\\\ help\n# TYPE dnsdist_a counter\ndnsdist_a{k="quote \\" and \\n newline"} 1099511627776\n',
    );
    const second = new ScrapedFamilies();
    second.family('dnsdist_a', 'counter', 'A "first" \\ help');
    second.sample('dnsdist_a', 3);
    expect(await registry.render(second)).toMatch(/\ndnsdist_a 3\n$/);
  });
});

describe('metrics options', () => {
  it('reads Accept-Encoding for gzip', () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, GZIP;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('gzip; q=0.000, *')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('*;q=0')).toBe(false);
    expect(acceptsGzip('identity, br')).toBe(false);
  });

  it('reads kernel_entries as a whole number', () => {
    expect(parseKernelEntryLimit(undefined)).toBeUndefined();
    expect(parseKernelEntryLimit('0')).toBe(0);
    expect(parseKernelEntryLimit('1000')).toBe(1000);
    for (const bad of ['', '-1', '1.5', '1e3', '9999999999']) expect(() => parseKernelEntryLimit(bad)).toThrow(/kernel_entries/);
  });
});

describeBpf('a scrape of many kernel entries', () => {
  const ENTRIES = 60_000;
  const dir = `/sys/fs/bpf/${uniqueName('dtsprom')}`;
  let filter: BPFFilter;
  let p: RunningWebProxy;

  beforeAll(async () => {
    mkdirSync(dir);
    filter = new BPFFilter(pinnedExternalOptions(dir, { ipv4: ENTRIES, ipv6: 16, qnames: 16, cidr4: 16, cidr6: 16 }));
    for (let i = 0; i < ENTRIES; i++) filter.block(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, MatchAction.Drop);
    // Three entries with hits, as the XDP program would have counted them.
    const map = filter.map('ipv4')!;
    for (const [i, hits] of [
      [5, 50n],
      [7, 70n],
      [9, 90n],
      [11, 10n],
    ] as const) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(((10 << 24) | i) >>> 0);
      const value = Buffer.from(map.lookup(key)!);
      value.writeBigUInt64LE(hits, 0);
      map.update(key, value);
    }
    p = await startWebProxy(CONFIG);
    p.app.web.providers.kernelCounters.push(bpfFilterKernelCounters(filter));
  });

  afterAll(async () => {
    await p?.stop();
    filter?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a DNS query sent when a scrape begins before the scrape has rendered', async () => {
    const order: string[] = [];
    const rendering = p.app.web.metrics.renderBytes().then((b) => void order.push(`rendered ${b.length > ENTRIES * 60}`));
    const answering = udpQuery(p.port, 'during.scrape.example').then((a) => void order.push(`answered ${a?.rcode}`));
    await Promise.all([rendering, answering]);
    expect(order).toEqual(['answered REFUSED', 'rendered true']);
    expect(p.app.web.metrics.lastLongestSliceSeconds).toBeGreaterThan(0);
  });

  it('writes every entry by default, and only the entries with the most hits under ?kernel_entries=N', async () => {
    const all = parsePrometheusText((await getMetrics(p.web)).body.toString('utf8'));
    expect(all.get('dnsdist_ts_kernel_block_hits_total')!.samples).toHaveLength(ENTRIES);
    const top = parsePrometheusText((await getMetrics(p.web, '/metrics?kernel_entries=3')).body.toString('utf8'));
    expect(top.get('dnsdist_ts_kernel_block_hits_total')!.samples.map((s) => [s.labels.key, s.value])).toEqual([
      ['10.0.0.9', 90],
      ['10.0.0.7', 70],
      ['10.0.0.5', 50],
    ]);
    // The totals still count every entry.
    expect(top.get('dnsdist_ts_kernel_block_entries')!.samples[0]!.value).toBe(ENTRIES);
    expect(top.get('dnsdist_ts_kernel_action_hits_total')!.samples[0]!.value).toBe(220);
    const none = parsePrometheusText((await getMetrics(p.web, '/metrics?kernel_entries=0')).body.toString('utf8'));
    expect(none.get('dnsdist_ts_kernel_block_hits_total')!.samples).toEqual([]);
  });
});
