/**
 * The per-entry kernel family rendered on its own thread: byte for byte
 * what the event loop's renderer writes over the same maps (fixed cases
 * and random ones, real BPF maps), no fd left open, and a thread that
 * hangs or dies fails the scrape with a clear error (a 500 with the reason
 * on /metrics) and is replaced by the next scrape.
 */
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Worker } from 'node:worker_threads';
import type { BpfMap } from '@dnsdist-ts/bpf';
import { BPFFilter, MatchAction } from '@dnsdist-ts/bpf-filter';
import { describeBpf } from '../../../../test/support/require-bpf.js';
import { bpfFilterKernelCounters } from '@dnsdist-ts/web/metrics/bpf-filter-sources.js';
import { EventLoopSlicer } from '@dnsdist-ts/web/metrics/event-loop-slicer.js';
import { writeKernelBlockHits } from '@dnsdist-ts/web/metrics/kernel-block-hits.js';
import { KernelEntriesThread, KernelEntriesThreadError, spawnKernelEntriesWorker } from '@dnsdist-ts/web/metrics/kernel-entries-thread.js';
import type { KernelCounterProvider, KernelFilter } from '@dnsdist-ts/web/metrics/observability-providers.js';
import { PrometheusTextWriter } from '@dnsdist-ts/web/metrics/prometheus-text-writer.js';
import { httpRequest } from './http-client.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** Give every entry of a filter map a hit counter, as the XDP program would have counted. */
function setCounters(map: BpfMap | undefined, counter: (i: number) => bigint): void {
  map?.dump().forEach(([k, v], i) => {
    const next = Buffer.from(v);
    next.writeBigUInt64LE(counter(i), 0);
    map.update(k, next);
  });
}

function countAll(filter: BPFFilter, counter: (i: number) => bigint): void {
  for (const kind of ['ipv4', 'ipv6', 'qnames', 'cidr4', 'cidr6'] as const) setCounters(filter.map(kind), counter);
}

/** What the event loop's renderer writes for these providers (each a list of filters). */
async function onTheLoop(
  providers: KernelFilter[][],
  limit: number | undefined,
): Promise<{ text: string; totals: unknown; errors: string[] }> {
  const w = new PrometheusTextWriter();
  const errors: string[] = [];
  const asProviders: KernelCounterProvider[] = providers.map((filters) => ({
    visitKernelCounters: (visit) => filters.forEach((f) => bpfFilterKernelCounters(f).visitKernelCounters(visit)),
  }));
  const totals = await writeKernelBlockHits(w, asProviders, new EventLoopSlicer(), { limit, onError: (n) => void errors.push(n) });
  return { text: w.text(), totals, errors };
}

/** GET /metrics, the body as bytes. */
function rawGet(port: number, headers: Record<string, string>): Promise<{ encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** A small deterministic generator, so a failing random case can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

describeBpf('the per-entry kernel family on its own thread', () => {
  const filters: BPFFilter[] = [];
  let thread: KernelEntriesThread;

  beforeAll(() => {
    thread = new KernelEntriesThread();
  });

  afterAll(async () => {
    await thread.close();
    for (const f of filters) f.close();
  });

  function filter(external: boolean, size = 256): BPFFilter {
    const kinds = external ? (['ipv4', 'ipv6', 'qnames', 'cidr4', 'cidr6'] as const) : (['ipv4', 'ipv6', 'qnames'] as const);
    const maps = Object.fromEntries(kinds.map((k) => [k, { maxItems: size }]));
    const f = new BPFFilter({ external, maps });
    filters.push(f);
    return f;
  }

  async function expectSame(providers: KernelFilter[][], limit: number | undefined): Promise<string> {
    const want = await onTheLoop(providers, limit);
    const got = await thread.render(providers, limit);
    expect(got.totals).toEqual(want.totals);
    expect(got.errors.map(([n]) => n)).toEqual(want.errors);
    const head = '# HELP dnsdist_queries q\n# TYPE dnsdist_queries counter\ndnsdist_queries 1\n';
    const plain = await got.finish(head, false);
    expect(plain.body.toString('utf8')).toBe(head + want.text);
    plain.release();
    return want.text;
  }

  it('writes every kind, action, qtype and counter as the event loop does, with and without a limit', async () => {
    const ext = filter(true);
    ext.block('192.0.2.1', MatchAction.Drop);
    ext.block('198.51.100.7', MatchAction.Truncate);
    ext.block('2001:db8::1', MatchAction.Pass);
    ext.blockQName('Evil.Example', 255, MatchAction.Drop);
    ext.blockQName('a\\"b.example', 1, MatchAction.Truncate);
    ext.addRangeRule('10.0.0.0/8', MatchAction.Drop);
    ext.addRangeRule('2001:db8:1::/48', MatchAction.Truncate);
    countAll(ext, (i) => [7n, 2n ** 40n, 0n, 3n][i % 4]!);
    const legacy = filter(false);
    legacy.block('203.0.113.9');
    legacy.blockQName('legacy.example', 28);
    countAll(legacy, (i) => BigInt(i + 1));

    const all = await expectSame([[ext, legacy]], undefined);
    expect(all).toMatch(/^dnsdist_ts_kernel_block_hits_total\{kind="address",key="192.0.2.1",action="drop"\} \d+$/m);
    expect(all).toContain('kind="name",key="evil.example.",action="drop",qtype="255"}');
    expect(all).toContain('kind="range",key="2001:db8:1::/48",action="truncate"}');
    for (const limit of [0, 1, 3, 100]) await expectSame([[ext, legacy]], limit);
    // Two providers listing the same filter: one sample per entry, hits added (the merge path).
    await expectSame([[ext], [ext, legacy]], undefined);
    await expectSame([[ext], [legacy]], 2);
    await expectSame([[]], undefined);
    // A provider without filters beside one with (as the proxy's own provider beside a filter registered
    // by hand): the same text as the merge of the two, and errors named by each provider's own index.
    await expectSame([[], [ext, legacy]], undefined);
    await expectSame([[ext, legacy], []], 3);
    const closed = filter(true);
    closed.block('192.0.2.99');
    closed.close();
    await expectSame([[], [closed], [ext]], undefined);
  });

  it('matches the event loop on random maps (seeded)', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = rng(seed);
      const f = filter(r() < 0.8, 512);
      const n = Math.floor(r() * 300);
      for (let i = 0; i < n; i++) {
        const action = [MatchAction.Drop, MatchAction.Truncate, MatchAction.Pass][Math.floor(r() * 3)]!;
        const x = Math.floor(r() * 2 ** 32);
        const pick = r();
        try {
          if (pick < 0.4) f.block(`${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`, action);
          else if (pick < 0.55) f.block(`2001:db8::${(x & 0xffff).toString(16)}:${(x >>> 16).toString(16)}`, action);
          else if (pick < 0.75) f.blockQName(`n${x.toString(36)}.example`, [1, 28, 255][x % 3]!, action);
          else if (pick < 0.9) f.addRangeRule(`${x >>> 24}.${(x >>> 16) & 255}.0.0/16`, action, true);
          else f.addRangeRule(`2001:db8:${(x & 0xffff).toString(16)}::/48`, action, true);
        } catch {
          // An entry this filter's format does not take (a range on a legacy filter): the maps decide.
        }
      }
      countAll(f, () => BigInt(Math.floor(r() * 1000)));
      const limit = r() < 0.5 ? undefined : Math.floor(r() * 50);
      await expectSame([[f]], limit);
    }
  });

  it('gzips the body on the thread, and reuses the body buffers once released', async () => {
    const f = filter(true);
    for (let i = 0; i < 200; i++) f.block(`198.18.0.${i}`, MatchAction.Drop);
    countAll(f, (i) => BigInt(i));
    const want = await onTheLoop([[f]], undefined);
    const zipped = await (await thread.render([[f]], undefined)).finish('head\n', true);
    expect(zipped.gzip).toBe(true);
    expect(gunzipSync(zipped.body).toString('utf8')).toBe('head\n' + want.text);
    const first = zipped.body.buffer;
    zipped.release();
    zipped.release(); // twice is harmless
    const again = await (await thread.render([[f]], undefined)).finish('', false);
    expect(again.body.buffer).toBe(first);
    // Held (not released): the next scrape gets a buffer of its own.
    const third = await (await thread.render([[f]], undefined)).finish('', false);
    expect(third.body.buffer).not.toBe(first);
    expect(third.body.toString('utf8')).toBe(want.text);
    again.release();
    third.release();
  });

  it('forgets a rendered family that is dropped, and a finish after that fails clearly', async () => {
    const r = await thread.render([[]], undefined);
    r.drop();
    await expect(r.finish('', false)).rejects.toThrow(/could not render the scrape: no rendered family for scrape \d+/);
  });

  it('closes the fd duplicates it lent once the thread has answered', async () => {
    const f = filter(true);
    f.block('192.0.2.200');
    await thread.render([[f]], undefined);
    const before = openFds();
    for (let i = 0; i < 5; i++) await thread.render([[f]], undefined);
    expect(openFds()).toBe(before);
  });

  it('serves /metrics from the thread, the same text as the event loop writes', async () => {
    const p: RunningWebProxy = await startWebProxy(`webserver("127.0.0.1:0")\nsetWebserverConfig({apiKey="key"})\n`);
    try {
      const f = filter(true);
      f.block('192.0.2.33', MatchAction.Drop);
      countAll(f, () => 9n);
      p.app.web.providers.kernelCounters.push(bpfFilterKernelCounters(f));
      const body = (await httpRequest(p.web, '/metrics', { apiKey: 'key' })).body;
      expect(p.app.web.metrics.renderThread.threadsStarted).toBe(1);
      const family = (await onTheLoop([[f]], undefined)).text;
      expect(body).toContain(family);
      // gzip is done on the thread too; several scrapes in turn reuse the released body buffers.
      const made = p.app.web.metrics.renderThread.bodyBuffersMade;
      for (let i = 0; i < 3; i++) {
        const gz = await rawGet(p.web, { 'X-API-Key': 'key', 'Accept-Encoding': 'gzip' });
        expect(gz.encoding).toBe('gzip');
        expect(gunzipSync(gz.body).toString('utf8')).toContain(family);
        expect((await rawGet(p.web, { 'X-API-Key': 'key' })).body.toString('utf8')).toContain(family);
      }
      // Each response gave its buffer back once written: the later scrapes made none.
      expect(p.app.web.metrics.renderThread.bodyBuffersMade).toBe(made);
    } finally {
      await p.stop();
    }
  });
});

describe('a renderer thread that hangs or dies', () => {
  /** A thread that takes jobs and never answers. */
  const hanging = (): Worker => new Worker('require("node:worker_threads").parentPort.on("message", () => {});', { eval: true });
  /** A thread that exits on its first job. */
  const dying = (): Worker => new Worker('require("node:worker_threads").parentPort.on("message", () => process.exit(7));', { eval: true });

  it('fails a render that gets no answer in time, stops that thread and starts another for the next render', async () => {
    const spawned: Worker[] = [];
    const thread = new KernelEntriesThread({ timeoutMs: 300, spawn: () => (spawned.push(hanging()), spawned.at(-1)!) });
    try {
      await expect(thread.render([[]], undefined)).rejects.toThrow(
        new KernelEntriesThreadError(
          'the metrics renderer thread did not answer within 300 ms and was stopped; the next scrape starts a new one',
        ),
      );
      expect(spawned[0]!.threadId).toBe(-1); // terminated
      await expect(thread.render([[]], undefined)).rejects.toThrow(KernelEntriesThreadError);
      expect(thread.threadsStarted).toBe(2);
    } finally {
      await thread.close();
    }
  });

  it('fails a render whose thread dies, and the next render gets a new thread', async () => {
    let n = 0;
    const thread = new KernelEntriesThread({ spawn: () => (n++ === 0 ? dying() : spawnKernelEntriesWorker()) });
    try {
      await expect(thread.render([[]], undefined)).rejects.toThrow(
        new KernelEntriesThreadError('the metrics renderer thread exited with code 7 during the scrape; the next scrape starts a new one'),
      );
      const r = await (await thread.render([[]], undefined)).finish('', false);
      expect(r.body.toString('utf8')).toMatch(
        /^# HELP dnsdist_ts_kernel_block_hits_total .*\n# TYPE dnsdist_ts_kernel_block_hits_total counter\n$/,
      );
      expect(thread.threadsStarted).toBe(2);
    } finally {
      await thread.close();
    }
  });

  it('answers /metrics with 500 and the reason while the thread hangs, then 200 from a new thread', async () => {
    const p: RunningWebProxy = await startWebProxy(`webserver("127.0.0.1:0")\nsetWebserverConfig({apiKey="key"})\n`);
    try {
      // A provider that is all BPF filters (none here) sends the family to the thread.
      p.app.web.providers.kernelCounters.push({ visitKernelCounters: () => undefined, kernelFilters: () => [] });
      let n = 0;
      await p.app.web.metrics.replaceRenderThread(
        // Long enough for a new thread to load its modules on a busy machine.
        new KernelEntriesThread({ timeoutMs: 3000, spawn: () => (n++ === 0 ? hanging() : spawnKernelEntriesWorker()) }),
      );
      const failed = await httpRequest(p.web, '/metrics', { apiKey: 'key' });
      expect(failed.status).toBe(500);
      expect(failed.body).toBe(
        'the metrics renderer thread did not answer within 3000 ms and was stopped; the next scrape starts a new one\n',
      );
      const ok = await httpRequest(p.web, '/metrics', { apiKey: 'key' });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('# TYPE dnsdist_ts_kernel_block_hits_total counter\n');
      expect(ok.body).toContain('dnsdist_queries ');
    } finally {
      await p.stop();
    }
  });
});

describe('the longest slice a scrape reports', () => {
  const FINISH_DELAY_MS = 2000;
  /** A thread that renders an empty family at once and takes FINISH_DELAY_MS to assemble the body. */
  const slowFinish = (): Worker =>
    new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.on('message', (m) => {
         if (m.type === 'render') parentPort.postMessage({ type: 'rendered', id: m.id, length: 0, totals: [], errors: [] });
         if (m.type === 'finish') setTimeout(() => {
           const head = Buffer.from(m.head, 'utf8');
           new Uint8Array(m.target).set(head);
           parentPort.postMessage({ type: 'finished', id: m.id, length: head.length });
         }, ${FINISH_DELAY_MS});
       });`,
      { eval: true },
    );

  it('leaves out the time the event loop was free while the renderer thread worked', async () => {
    const p: RunningWebProxy = await startWebProxy(`webserver("127.0.0.1:0")\nsetWebserverConfig({apiKey="key"})\n`);
    try {
      p.app.web.providers.kernelCounters.push({ visitKernelCounters: () => undefined, kernelFilters: () => [] });
      await p.app.web.metrics.replaceRenderThread(new KernelEntriesThread({ spawn: slowFinish }));
      const s = await p.app.web.metrics.scrape();
      expect(s.body.toString('utf8')).toContain('dnsdist_queries ');
      s.release?.();
      const second = await httpRequest(p.web, '/metrics', { apiKey: 'key' });
      // The first scrape's figures, as the second reports them: it lasted the thread's two seconds,
      // and held the loop for a small part of that (its own families), not for the wait.
      expect(Number(/^dnsdist_ts_scrape_duration_seconds (\S+)$/m.exec(second.body)![1])).toBeGreaterThanOrEqual(FINISH_DELAY_MS / 1000);
      const slice = Number(/^dnsdist_ts_scrape_longest_slice_seconds (\S+)$/m.exec(second.body)![1]);
      expect(slice).toBeGreaterThan(0);
      expect(slice).toBeLessThan(FINISH_DELAY_MS / 1000 / 2);
    } finally {
      await p.stop();
    }
  });
});
