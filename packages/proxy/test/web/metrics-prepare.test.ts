/**
 * prom-client (some ninety modules, one synchronous hold of the event loop
 * of 45–150 ms) is loaded when the webserver starts, not by the first
 * scrape, and not at all by a proxy without a webserver. Module state is
 * per test file, so this file checks it before anything here scrapes.
 */
import { promClientLoaded } from '@dnsdist-ts/web/metrics/registry-families.js';
import { startProxy } from '../support/proxy-harness.js';
import { startWebProxy } from './web-harness.js';

describe('prom-client loading', () => {
  it('is not done by a proxy without a webserver, and is done by the webserver starting, before any scrape', async () => {
    const plain = await startProxy(`setLocal("127.0.0.1:\${PORT}")\n`);
    try {
      expect(promClientLoaded()).toBe(false);
    } finally {
      await plain.stop();
    }
    const web = await startWebProxy(`webserver("127.0.0.1:0")\nsetWebserverConfig({apiKey="key"})\n`);
    try {
      expect(promClientLoaded()).toBe(true);
    } finally {
      await web.stop();
    }
  });
});
