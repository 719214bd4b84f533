/**
 * The block API on the proxy's own dynamic-block engine, userspace only
 * (no BPF filter): blocks added over HTTP act on queries at once and stop
 * when removed.
 */
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { BLOCK_API_PATH } from '../../src/web/block-api.js';
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
});
