/**
 * The block API on the proxy's own dynamic-block engine, userspace only
 * (no BPF filter): blocks added over HTTP act on queries at once and stop
 * when removed.
 */
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { BLOCK_API_PATH } from '@dnsdist-ts/web/web/block-api.js';
import { startDemo } from '../support/proxy-harness.js';
import { getJson, httpRequest } from './http-client.js';
import { queryFrom } from './source-query.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const KEY = { apiKey: 'key' };

describe('the block API on the dynamic-block engine', () => {
  let demo: DemoServer;
  let p: RunningWebProxy;
  beforeAll(async () => {
    demo = await startDemo();
    p = await startWebProxy(
      `newServer{address="127.0.0.1:\${DEMO}", name="demo"}
       getServer(0):setUp()
       webserver("127.0.0.1:0")
       setWebserverConfig({apiKey="key"})
       setAPIWritable(true)`,
      { DEMO: demo.port },
    );
  });
  afterAll(async () => {
    await p?.stop();
    await demo?.close();
  });

  const add = (body: object) => httpRequest(p.web, BLOCK_API_PATH, { ...KEY, method: 'POST', body: JSON.stringify(body) });
  const remove = (kind: string, target: string) =>
    httpRequest(p.web, `${BLOCK_API_PATH}?kind=${kind}&target=${encodeURIComponent(target)}`, { ...KEY, method: 'DELETE' });

  it('drops an address, then lets it through once removed', async () => {
    const r = await add({ kind: 'address', target: '127.0.0.12', seconds: 60, reason: 'engine test' });
    expect(r.status).toBe(201);
    expect(JSON.parse(r.body)).toMatchObject({ key: '127.0.0.12/32', kind: 'netmask', action: 'Drop', ebpf: false, blocks: 0 });
    expect(await queryFrom('127.0.0.12', p.port, 'www.example.test')).toBeUndefined();
    const listed = await getJson<Array<{ key: string; blocks: number }>>(p.web, BLOCK_API_PATH, KEY);
    expect(listed).toEqual([expect.objectContaining({ key: '127.0.0.12/32', blocks: 1 })]);
    expect(p.app.runConsoleCommand('showDynBlocks()')).toContain('127.0.0.12/32');
    expect((await remove('address', '127.0.0.12')).status).toBe(200);
    expect(await queryFrom('127.0.0.12', p.port, 'www.example.test')).toBe('NOERROR');
  });

  it('answers a whole range with the requested action', async () => {
    expect((await add({ kind: 'range', target: '127.0.0.64/26', action: 'Refused', seconds: 60 })).status).toBe(201);
    expect(await queryFrom('127.0.0.70', p.port, 'www.example.test')).toBe('REFUSED');
    expect(await queryFrom('127.0.0.130', p.port, 'www.example.test')).toBe('NOERROR');
    expect((await remove('range', '127.0.0.64/26')).status).toBe(200);
    expect((await remove('range', '127.0.0.64/26')).status).toBe(404);
  });

  it('refuses what the engine cannot parse, with its reason', async () => {
    const r = await add({ kind: 'address', target: '999.1.2.3' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toMatch(/999\.1\.2\.3/);
  });

  it('refuses addresses and ranges ip-num or dnsdist refuse (leading zeros, zone ids, bad prefixes), naming the input, and blocks nothing', async () => {
    const bad: Array<[string, string]> = [
      ['address', '010.0.0.1'],
      ['address', 'fe80::1%eth0'],
      ['range', '127.0.0.0/33'],
      ['range', '127.0.0.01/24'],
      ['range', '127.0.0.0/+8'],
    ];
    for (const [kind, target] of bad) {
      const r = await add({ kind, target, seconds: 60 });
      expect([target, r.status]).toEqual([target, 400]);
      expect(JSON.parse(r.body).error).toContain(`"${target}"`);
    }
    expect(await getJson<unknown[]>(p.web, BLOCK_API_PATH, KEY)).toEqual([]);
  });

  describe('the block scope guard', () => {
    afterEach(() => {
      expect(p.app.runConsoleCommand('setDynBlocksRangeLimits{v4=8, v6=32, allowRootSuffix=false}')).toBe('');
    });

    it('refuses 0.0.0.0/0, ::/0 and "." with 422, naming the input and the setting, and blocks nothing', async () => {
      for (const [kind, target, input] of [
        ['range', '0.0.0.0/0', '0.0.0.0/0'],
        ['range', '::/0', '::/0'],
        ['range', '10.0.0.0/7', '10.0.0.0/7'],
        ['range', '2001:db8::/31', '2001:db8::/31'],
        ['suffix', '.', '.'],
      ] as const) {
        const r = await add({ kind, target, seconds: 60 });
        expect(r.status).toBe(422);
        const body = JSON.parse(r.body) as { error: string; input: string; setting: string };
        expect(body).toMatchObject({ input, setting: 'setDynBlocksRangeLimits' });
        expect(body.error).toContain(input);
        expect(body.error).toContain('setDynBlocksRangeLimits{');
      }
      expect(await getJson(p.web, BLOCK_API_PATH, KEY)).toEqual([]);
      expect(await queryFrom('127.0.0.13', p.port, 'www.example.test')).toBe('NOERROR');
    });

    it('accepts a range at the limit, and a wider one once the operator lowers the limit', async () => {
      expect((await add({ kind: 'range', target: '10.0.0.0/8', seconds: 60 })).status).toBe(201);
      expect((await remove('range', '10.0.0.0/8')).status).toBe(200);
      expect(p.app.runConsoleCommand('setDynBlocksRangeLimits{v4=7}')).toBe('');
      expect((await add({ kind: 'range', target: '10.0.0.0/7', seconds: 60 })).status).toBe(201);
      expect((await remove('range', '10.0.0.0/7')).status).toBe(200);
      expect(p.app.runConsoleCommand('setDynBlocksRangeLimits{allowRootSuffix=true}')).toBe('');
      expect((await add({ kind: 'suffix', target: '.', action: 'Refused', seconds: 60 })).status).toBe(201);
      expect(await queryFrom('127.0.0.13', p.port, 'www.example.test')).toBe('REFUSED');
      expect((await remove('suffix', '.')).status).toBe(200);
    });

    it('guards the console: addDynamicBlock with a wide mask and addDynBlockSMT with "." are errors that block nothing', async () => {
      const wide = p.app.runConsoleCommand('addDynamicBlock("0.0.0.0", "oops", DNSAction.Drop, 60, 0)');
      expect(wide).toMatch(/^Error: .*addDynamicBlock: refusing to block 0\.0\.0\.0\/0.*setDynBlocksRangeLimits\{v4=0\}/);
      const v6 = p.app.runConsoleCommand('addDynamicBlock("2001:db8::1", "oops", DNSAction.Drop, 60, 16)');
      expect(v6).toMatch(
        /^Error: .*refusing to block 2001::\/16: the widest IPv6 range accepted here is \/32.*setDynBlocksRangeLimits\{v6=16\}/,
      );
      // One refused name leaves the others out too.
      const root = p.app.runConsoleCommand('addDynBlockSMT({"bad.example", "."}, "oops")');
      expect(root).toMatch(/^Error: .*addDynBlockSMT: refusing to block the suffix "\.".*allowRootSuffix=true/);
      expect(p.app.dynBlocks.clients.size + p.app.dynBlocks.suffixes.size).toBe(0);
      expect(await queryFrom('127.0.0.13', p.port, 'www.example.test')).toBe('NOERROR');
      // Narrower blocks are untouched by the guard.
      expect(p.app.runConsoleCommand('addDynamicBlock("192.0.2.1", "fine", DNSAction.Drop, 60, 24)')).toBe('');
      expect([...p.app.dynBlocks.clients.values()].map((b) => b.keyText())).toEqual(['192.0.2.0/24']);
      p.app.runConsoleCommand('clearDynBlocks()');
    });

    it('refuses limits out of range and unknown keys', () => {
      expect(p.app.runConsoleCommand('setDynBlocksRangeLimits{v4=33}')).toMatch(
        /^Error: .*v4 must be a prefix length from 0 to 32, got 33/,
      );
      expect(p.app.runConsoleCommand('setDynBlocksRangeLimits{v6=129}')).toMatch(/^Error: .*v6 must be a prefix length from 0 to 128/);
      expect(p.app.runConsoleCommand('setDynBlocksRangeLimits{v5=1}')).toMatch(/^Error: .*v5/);
      expect(p.app.blockScope.limits).toEqual({ v4: 8, v6: 32, allowRootSuffix: false });
    });
  });
});
