/**
 * The dashboard opened with the credentials in its URL
 * (`http://admin:password@host:port/`), as many people open it: the page
 * must keep updating. Chromium refuses to build a request from a URL that
 * carries credentials, so the page must not derive its request URLs from
 * its own address.
 */
import { describeBrowser, launchBrowser, type BrowserPage } from './headless-chromium.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

describeBrowser('the dashboard opened with credentials in its URL', () => {
  let p: RunningWebProxy;
  let page: BrowserPage;

  beforeAll(async () => {
    p = await startWebProxy(`webserver("127.0.0.1:0")
       setWebserverConfig({password="dash", apiKey="key"})`);
    // No credentials configured in the browser: only the URL carries them.
    page = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await page?.close();
    await p?.stop();
  });

  it('loads and keeps updating', async () => {
    await page.goto(`http://admin:dash@127.0.0.1:${p.web}/`);
    await page.waitFor('Number(document.body.dataset.updates) >= 2', 10_000);
    expect(await page.evaluate('document.getElementById("status").textContent')).toMatch(/^updated /);
  });
});
