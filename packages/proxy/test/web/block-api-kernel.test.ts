/**
 * The block API's round trip through the proxy's own dynamic-block engine
 * and the default BPF filter: a block added over HTTP is in the pinned
 * kernel map and in force in userspace, shows in /jsonstat and /metrics
 * as kernel-backed, and a DELETE takes it out of both.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { BpfMap } from '@dnsdist-ts/bpf';
import { cidrKey, decodeCounterAction, ipv4Key, MatchAction } from '@dnsdist-ts/bpf-filter';
import { parseAddress } from '@dnsdist-ts/dns';
import { describeBpf, uniqueName } from '../../../../test/support/require-bpf.js';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { BLOCK_API_PATH } from '@dnsdist-ts/web/web/block-api.js';
import { startDemo } from '../support/proxy-harness.js';
import { getJson, httpRequest } from './http-client.js';
import { parsePrometheusText } from './prometheus-text-parser.js';
import { queryFrom } from './source-query.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const KEY = { apiKey: 'key' };

describeBpf('the block API through the dynamic-block engine and the kernel maps', () => {
  const dir = `/sys/fs/bpf/${uniqueName('dtsapi')}`;
  let demo: DemoServer;
  let p: RunningWebProxy;
  let v4: BpfMap;
  let cidr4: BpfMap;

  beforeAll(async () => {
    mkdirSync(dir);
    demo = await startDemo();
    const maps = ['ipv4', 'ipv6', 'qnames', 'cidr4', 'cidr6'];
    const pins: Record<string, string> = { ipv4: 'addr-v4', ipv6: 'addr-v6', qnames: 'qnames', cidr4: 'cidr4', cidr6: 'cidr6' };
    const fields = maps.map((m) => `${m}MaxItems=64, ${m}PinnedPath="${dir}/${pins[m]}"`).join(', ');
    p = await startWebProxy(
      `
      newServer{address="127.0.0.1:\${DEMO}", name="demo"}
      getServer(0):setUp()
      setDefaultBPFFilter(newBPFFilter{${fields}, external=true})
      webserver("127.0.0.1:0")
      setWebserverConfig({apiKey="key"})
      setAPIWritable(true)
    `,
      { DEMO: demo.port },
    );
    v4 = BpfMap.openPinned(`${dir}/addr-v4`);
    cidr4 = BpfMap.openPinned(`${dir}/cidr4`);
  });

  afterAll(async () => {
    v4?.close();
    cidr4?.close();
    await p?.stop();
    await demo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts an address block into the kernel map and userspace, and takes it out of both', async () => {
    expect(await queryFrom('127.0.0.9', p.port, 'www.example.test')).toBe('NOERROR');
    const created = await httpRequest(p.web, BLOCK_API_PATH, {
      ...KEY,
      method: 'POST',
      body: JSON.stringify({ kind: 'address', target: '127.0.0.9', action: 'Drop', seconds: 60, reason: 'api test' }),
    });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.body)).toMatchObject({
      key: '127.0.0.9/32',
      kind: 'netmask',
      ebpf: true,
      action: 'Drop',
      reason: 'api test',
    });
    const value = v4.lookup(ipv4Key(parseAddress('127.0.0.9').bytes));
    expect(value).toBeDefined();
    expect(decodeCounterAction(value!).action).toBe(MatchAction.Drop);
    // No XDP program here: the userspace copy drops the query.
    expect(await queryFrom('127.0.0.9', p.port, 'www.example.test')).toBeUndefined();
    expect(await queryFrom('127.0.0.10', p.port, 'www.example.test')).toBe('NOERROR');
    const dyn = await getJson<Record<string, { ebpf: boolean; reason: string }>>(p.web, '/jsonstat?command=dynblocklist', KEY);
    expect(dyn['127.0.0.9/32']).toMatchObject({ ebpf: true, reason: 'api test' });
    const m = parsePrometheusText((await httpRequest(p.web, '/metrics', KEY)).body);
    expect(m.get('dnsdist_dyn_blocked')!.samples[0]!.value).toBe(1);
    expect(m.get('dnsdist_dyn_block_nmg_size')!.samples[0]!.value).toBe(1);
    const kernelEntry = m.get('dnsdist_ts_kernel_block_hits_total')!.samples.find((s) => s.labels.key === '127.0.0.9');
    expect(kernelEntry?.labels).toEqual({ kind: 'address', key: '127.0.0.9', action: 'drop' });
    expect(
      m.get('dnsdist_ts_dynblocks_active')!.samples.find((s) => s.labels.kind === 'netmask' && s.labels.enforcement === 'kernel')?.value,
    ).toBe(1);

    const removed = await httpRequest(p.web, `${BLOCK_API_PATH}?kind=address&target=127.0.0.9`, { ...KEY, method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect(v4.lookup(ipv4Key(parseAddress('127.0.0.9').bytes))).toBeUndefined();
    expect(await queryFrom('127.0.0.9', p.port, 'www.example.test')).toBe('NOERROR');
    expect(await getJson(p.web, '/jsonstat?command=dynblocklist', KEY)).toEqual({});
  });

  it('blocks a name suffix in userspace with the requested action', async () => {
    const created = await httpRequest(p.web, BLOCK_API_PATH, {
      ...KEY,
      method: 'POST',
      body: JSON.stringify({ kind: 'suffix', target: 'example.test', action: 'Refused', seconds: 60 }),
    });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.body)).toMatchObject({ key: 'example.test.', kind: 'suffix', action: 'Send Refused', ebpf: false });
    expect(await queryFrom('127.0.0.11', p.port, 'www.example.test')).toBe('REFUSED');
    expect((await httpRequest(p.web, `${BLOCK_API_PATH}?kind=suffix&target=example.test`, { ...KEY, method: 'DELETE' })).status).toBe(200);
    expect(await queryFrom('127.0.0.11', p.port, 'www.example.test')).toBe('NOERROR');
  });

  it('refuses exact-name blocks, which the engine does not have, with the reason', async () => {
    const r = await httpRequest(p.web, BLOCK_API_PATH, {
      ...KEY,
      method: 'POST',
      body: JSON.stringify({ kind: 'name', target: 'a.example' }),
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatch(/use kind "suffix"/);
  });

  it('an address blocked inside a blocked range is written to the kernel, and stays there when the range goes', async () => {
    const post = (body: object) => httpRequest(p.web, BLOCK_API_PATH, { ...KEY, method: 'POST', body: JSON.stringify(body) });
    const addressKey = ipv4Key(parseAddress('127.0.5.7').bytes);
    const rangeKey = cidrKey(parseAddress('127.0.5.0').bytes, 24);
    expect((await post({ kind: 'range', target: '127.0.5.0/24', seconds: 60, reason: 'wide' })).status).toBe(201);
    const inside = await post({ kind: 'address', target: '127.0.5.7', action: 'Truncate', seconds: 600, reason: 'narrow' });
    expect(inside.status).toBe(201);
    expect(JSON.parse(inside.body)).toMatchObject({ key: '127.0.5.7/32', ebpf: true, reason: 'narrow' });
    expect(decodeCounterAction(cidr4.lookup(rangeKey)!).action).toBe(MatchAction.Drop);
    expect(decodeCounterAction(v4.lookup(addressKey)!).action).toBe(MatchAction.Truncate);
    expect(p.output).toContain(
      'Inserting eBPF dynamic block for 127.0.5.7/32 for 600 seconds: narrow (inside the dynamic block for 127.0.5.0/24)',
    );

    // Removed: the range leaves the kernel, the address stays.
    expect((await httpRequest(p.web, `${BLOCK_API_PATH}?kind=range&target=127.0.5.0/24`, { ...KEY, method: 'DELETE' })).status).toBe(200);
    expect(cidr4.lookup(rangeKey)).toBeUndefined();
    expect(decodeCounterAction(v4.lookup(addressKey)!).action).toBe(MatchAction.Truncate);

    // Expired: the same with the range ending by itself (the engine's tick, a minute ahead).
    expect((await post({ kind: 'range', target: '127.0.5.0/24', seconds: 60, reason: 'wide again' })).status).toBe(201);
    expect(cidr4.lookup(rangeKey)).toBeDefined();
    const now = performance.now();
    p.app.dynBlocks.tick(now + 61_000);
    expect(cidr4.lookup(rangeKey)).toBeUndefined();
    expect(decodeCounterAction(v4.lookup(addressKey)!).action).toBe(MatchAction.Truncate);
    // Until its own expiry.
    p.app.dynBlocks.tick(now + 601_000);
    expect(v4.lookup(addressKey)).toBeUndefined();
  });
});
