/**
 * The block API over HTTP, the block lists in /jsonstat, and the
 * dynamic-block families of /metrics, with an engine plugged into the
 * providers (see memory-block-engine.ts).
 */
import { BLOCK_API_PATH } from '@dnsdist-ts/web/web/block-api.js';
import { httpRequest, getJson } from './http-client.js';
import { MemoryBlockEngine } from './memory-block-engine.js';
import { parsePrometheusText } from './prometheus-text-parser.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const KEY = { apiKey: 'key' };

/** `seconds` left is truncated, so it reads one less once a millisecond passed: check the range, then drop it. */
function withSecondsIn<T extends Record<string, unknown>>(entry: T | undefined, lo: number, hi: number): Omit<T, 'seconds'> {
  const { seconds, ...rest } = entry ?? ({} as T);
  expect(seconds).toBeGreaterThanOrEqual(lo);
  expect(seconds).toBeLessThanOrEqual(hi);
  return rest;
}
const post = (p: RunningWebProxy, body: unknown) =>
  httpRequest(p.web, BLOCK_API_PATH, { ...KEY, method: 'POST', body: JSON.stringify(body) });

describe('the block API', () => {
  let p: RunningWebProxy;
  let engine: MemoryBlockEngine;
  beforeAll(async () => {
    p = await startWebProxy('webserver("127.0.0.1:0")\nsetWebserverConfig({password="pw", apiKey="key"})\nsetAPIWritable(true)');
  });
  afterAll(() => p.stop());
  beforeEach(() => {
    engine = new MemoryBlockEngine();
    p.app.web.providers.dynBlocks = engine;
  });

  it('adds, lists, refreshes and removes blocks through the engine', async () => {
    const created = await post(p, { kind: 'address', target: '192.0.2.7', action: 'Drop', seconds: 60, reason: 'manual' });
    expect(created.status).toBe(201);
    expect(withSecondsIn(JSON.parse(created.body), 59, 60)).toEqual({
      action: 'Drop',
      blocks: 0,
      ebpf: true,
      kernelHits: 0,
      key: '192.0.2.7/32',
      kind: 'netmask',
      reason: 'manual',
      warning: false,
    });
    expect((await post(p, { kind: 'suffix', target: 'evil.example', action: 'Refused', seconds: 30 })).status).toBe(201);
    expect((await post(p, { kind: 'address', target: '192.0.2.7', seconds: 120 })).status).toBe(201);
    expect(engine.insertions).toBe(2);
    expect(engine.refreshes).toBe(1);
    const list = await getJson<Array<{ key: string; reason: string; seconds: number }>>(p.web, BLOCK_API_PATH, KEY);
    expect(list.map((b) => [b.key, b.reason])).toEqual([
      ['192.0.2.7/32', 'manual'],
      ['evil.example.', 'Blocked through the API'],
    ]);
    expect(list[0]!.seconds).toBeGreaterThanOrEqual(118);
    const del = await httpRequest(p.web, `${BLOCK_API_PATH}?kind=address&target=192.0.2.7`, { ...KEY, method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(JSON.parse(del.body)).toEqual({ removed: true });
    expect((await httpRequest(p.web, `${BLOCK_API_PATH}?kind=address&target=192.0.2.7`, { ...KEY, method: 'DELETE' })).status).toBe(404);
    expect((await getJson<unknown[]>(p.web, BLOCK_API_PATH, KEY)).length).toBe(1);
  });

  it('refuses malformed requests with 400 and a reason', async () => {
    for (const [body, reason] of [
      ['{not json', /JSON object/],
      [JSON.stringify({ kind: 'host', target: '192.0.2.1' }), /"kind" must be one of address, range, name, suffix/],
      [JSON.stringify({ kind: 'address' }), /"target"/],
      [JSON.stringify({ kind: 'address', target: '192.0.2.1', action: 'Allow' }), /"action" must be one of Drop, NoOp/],
      [JSON.stringify({ kind: 'address', target: '192.0.2.1', seconds: 0 }), /"seconds"/],
      [JSON.stringify({ kind: 'address', target: '192.0.2.1', ttl: 5 }), /unknown field\(s\) "ttl"/],
      [JSON.stringify({ kind: 'address', target: 'not-an-ip' }), /is not an IP address/],
    ] as const) {
      const r = await httpRequest(p.web, BLOCK_API_PATH, { ...KEY, method: 'POST', body });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body).error).toMatch(reason);
    }
  });

  it('takes the API key only, and writes only when the API is writable', async () => {
    expect((await httpRequest(p.web, BLOCK_API_PATH, { basic: 'u:pw' })).status).toBe(401);
    p.app.runConsoleCommand('setAPIWritable(false)');
    try {
      expect((await post(p, { kind: 'address', target: '192.0.2.1' })).status).toBe(405);
      expect((await httpRequest(p.web, BLOCK_API_PATH, KEY)).status).toBe(200);
    } finally {
      p.app.runConsoleCommand('setAPIWritable(true)');
    }
  });

  it('answers 503 for changes when no engine is plugged in', async () => {
    p.app.web.providers.dynBlocks = undefined;
    const r = await post(p, { kind: 'address', target: '192.0.2.1' });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).error).toMatch(/no dynamic-block engine/);
    expect(await getJson(p.web, BLOCK_API_PATH, KEY)).toEqual([]);
  });

  it('shows the blocks in /jsonstat, marking kernel ones and counting their kernel hits', async () => {
    await post(p, { kind: 'address', target: '192.0.2.9', reason: 'flood', seconds: 60 });
    await post(p, { kind: 'suffix', target: 'bad.example', action: 'Nxdomain', reason: 'names', seconds: 60 });
    engine.hit('address', '192.0.2.9', 3, 40);
    engine.hit('suffix', 'bad.example', 5);
    const dyn = await getJson<Record<string, Record<string, unknown>>>(p.web, '/jsonstat?command=dynblocklist', KEY);
    expect(withSecondsIn(dyn['192.0.2.9/32'], 58, 60)).toEqual({ action: 'Drop', blocks: 43, ebpf: true, reason: 'flood', warning: false });
    expect(withSecondsIn(dyn['bad.example.'], 58, 60)).toEqual({ action: 'Send NXDomain', blocks: 5, ebpf: false, reason: 'names' });
    const ebpf = await getJson<Record<string, Record<string, unknown>>>(p.web, '/jsonstat?command=ebpfblocklist', KEY);
    expect(Object.keys(ebpf)).toEqual(['192.0.2.9/32']);
    expect(withSecondsIn(ebpf['192.0.2.9/32'], 58, 60)).toEqual({ action: 'Drop', blocks: 43, reason: 'flood', warning: false });
    p.app.web.providers.ebpfBlockList = { registeredFilterBlocks: () => [{ address: '198.51.100.7', blocks: 2, seconds: 30 }] };
    try {
      const withFilter = await getJson<Record<string, unknown>>(p.web, '/jsonstat?command=ebpfblocklist', KEY);
      expect(withFilter['198.51.100.7']).toEqual({ blocks: 2, seconds: 30 });
    } finally {
      p.app.web.providers.ebpfBlockList = undefined;
    }
  });

  it('exports the engine’s counters, active blocks, top offenders and dyn-block-nmg-size to /metrics', async () => {
    await post(p, { kind: 'address', target: '192.0.2.10', reason: 'flood', seconds: 60 });
    await post(p, { kind: 'suffix', target: 'x.example', reason: 'names', seconds: 60, action: 'Refused' });
    // Two top-offender samples 10 s apart (in the future of the timer's own samples) with 50 hits in between: 5 hits/s.
    const t = performance.now() + 3_600_000;
    p.app.web.topOffenders.sample(p.app.web.providers.activeBlocks(), t);
    engine.hit('address', '192.0.2.10', 20, 30);
    engine.hit('suffix', 'x.example', 10);
    p.app.web.topOffenders.sample(p.app.web.providers.activeBlocks(), t + 10_000);
    const m = parsePrometheusText((await httpRequest(p.web, '/metrics', KEY)).body);
    const v = (name: string, labels: Record<string, string> = {}) =>
      m.get(name)!.samples.find((s) => Object.entries(labels).every(([k, val]) => s.labels[k] === val))?.value;
    expect(v('dnsdist_dyn_block_nmg_size')).toBe(1);
    expect(v('dnsdist_dynblocks_nmg_top_offenders_hits_per_second', { reason: 'flood', netmask: '192.0.2.10/32' })).toBe(5);
    expect(v('dnsdist_dynblocks_smt_top_offenders_hits_per_second', { reason: 'names', suffix: 'x.example.' })).toBe(1);
    expect(v('dnsdist_ts_dynblocks_active', { kind: 'netmask', enforcement: 'kernel' })).toBe(1);
    expect(v('dnsdist_ts_dynblocks_active', { kind: 'suffix', enforcement: 'userspace' })).toBe(1);
    expect(v('dnsdist_ts_dynblock_insertions_total')).toBe(2);
    expect(v('dnsdist_ts_dynblock_kernel_insert_failures_total', { reason: 'table-full' })).toBe(2);
    const ttb = m.get('dnsdist_ts_dynblock_time_to_block_seconds')!;
    expect(ttb.type).toBe('histogram');
    expect(ttb.samples.map((s) => [s.name, s.labels.le, s.value])).toEqual([
      ['dnsdist_ts_dynblock_time_to_block_seconds_bucket', '0.1', 3],
      ['dnsdist_ts_dynblock_time_to_block_seconds_bucket', '1', 4],
      ['dnsdist_ts_dynblock_time_to_block_seconds_bucket', '10', 4],
      ['dnsdist_ts_dynblock_time_to_block_seconds_bucket', '+Inf', 5],
      ['dnsdist_ts_dynblock_time_to_block_seconds_sum', undefined, 12.5],
      ['dnsdist_ts_dynblock_time_to_block_seconds_count', undefined, 5],
    ]);
  });
});
