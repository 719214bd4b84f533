/**
 * The dashboard end to end in real headless Chromium: the page loads
 * behind the password, updates itself every second, shows a backend up,
 * live rates, a block created through the block API (with its reason,
 * action, enforcement, hits and remaining time, and its client in the top
 * list), and shows it gone once it expired. A screenshot is saved to
 * test-artifacts/dashboard.png.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DemoServer } from '../../src/demo/demo-authoritative-server.js';
import { BLOCK_API_PATH } from '@dnsdist-ts/web/web/block-api.js';
import { udpQuery } from '../support/dns-client.js';
import { startDemo } from '../support/proxy-harness.js';
import { describeBrowser, launchBrowser, type BrowserPage } from './headless-chromium.js';
import { httpRequest } from './http-client.js';
import { MemoryBlockEngine } from './memory-block-engine.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));

describeBrowser('the dashboard in headless Chromium', () => {
  let demo: DemoServer;
  let p: RunningWebProxy;
  let page: BrowserPage;
  let engine: MemoryBlockEngine;
  let traffic: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    demo = await startDemo();
    p = await startWebProxy(
      `webserver("127.0.0.1:0")
       setWebserverConfig({password="dash", apiKey="key"})
       setAPIWritable(true)
       newServer{address="127.0.0.1:\${DEMO}", name="demo", checkName="example.test."}
       getServer(0):setUp()`,
      { DEMO: demo.port },
    );
    engine = new MemoryBlockEngine();
    p.app.web.providers.dynBlocks = engine;
    // Steady traffic, so the rates are not zero.
    traffic = setInterval(() => void udpQuery(p.port, 'www.example.test', { timeoutMs: 500 }), 50);
    page = await launchBrowser({ credentials: { username: 'admin', password: 'dash' } });
  }, 60_000);

  afterAll(async () => {
    if (traffic) clearInterval(traffic);
    await page?.close();
    await p?.stop();
    await demo?.close();
  });

  it('asks for the password', async () => {
    expect((await httpRequest(p.web, '/')).status).toBe(401);
  });

  it('loads, updates every second, and shows live rates and the backend', async () => {
    await page.goto(`http://127.0.0.1:${p.web}/`);
    // Rates need two polls.
    await page.waitFor('Number(document.body.dataset.updates) >= 3', 10_000);
    const tiles = await page.evaluate<Record<string, string>>(
      `Object.fromEntries(['qps', 'answered', 'dropped-user', 'latency'].map((id) => [id, document.getElementById(id).textContent]))`,
    );
    expect(Number(tiles.qps)).toBeGreaterThan(0);
    expect(Number(tiles.answered)).toBeGreaterThan(0);
    expect(tiles.latency).toMatch(/ ms$/);
    const servers = await page.evaluate<string[][]>(
      `[...document.querySelectorAll('#servers tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent))`,
    );
    expect(servers).toHaveLength(1);
    expect(servers[0]!.slice(0, 3)).toEqual(['demo', `127.0.0.1:${demo.port}`, 'UP']);
    expect(await page.evaluate('document.getElementById("status").textContent')).toMatch(/^updated /);
  });

  it('shows a block created through the API, then shows it gone after it expires', async () => {
    const created = await httpRequest(p.web, BLOCK_API_PATH, {
      apiKey: 'key',
      method: 'POST',
      body: JSON.stringify({ kind: 'address', target: '192.0.2.66', action: 'Drop', seconds: 4, reason: 'dashboard test' }),
    });
    expect(created.status).toBe(201);
    engine.hit('address', '192.0.2.66', 12, 30);
    await page.waitFor(`document.querySelector('#blocks tr[data-key="192.0.2.66/32"]')`, 5_000);
    await page.waitFor(`[...document.querySelectorAll('#top-clients li')].some((li) => li.textContent.startsWith('192.0.2.66'))`, 5_000);
    const row = await page.evaluate<string[]>(
      `[...document.querySelector('#blocks tr[data-key="192.0.2.66/32"]').cells].map((c) => c.textContent)`,
    );
    expect(row.slice(0, 5)).toEqual(['192.0.2.66/32', 'dashboard test', 'Drop', 'kernel + userspace', '42']);
    expect(row[5]).toMatch(/^[0-4] s$/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot(`${ARTIFACTS}dashboard.png`);
    // The block expires after 4 s; the page drops it at its next poll.
    await page.waitFor(`!document.querySelector('#blocks tr[data-key="192.0.2.66/32"]')`, 8_000);
    expect(await page.evaluate('document.getElementById("no-blocks").hidden')).toBe(false);
  }, 20_000);
});
