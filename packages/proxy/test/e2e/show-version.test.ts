/**
 * showVersion() names the dnsdist release followed, then dnsdist-ts's own
 * version: tools (dnsdist's regression tests among them) check that the
 * line starts with "dnsdist ".
 */
import { COMPATIBLE_DNSDIST_VERSION, VERSION } from '@dnsdist-ts/dataplane/version.js';
import { startProxy } from '../support/proxy-harness.js';

describe('showVersion()', () => {
  it('prints "dnsdist <release> (dnsdist-ts <version>)"', async () => {
    const proxy = await startProxy('setLocal("127.0.0.1:${PORT}")');
    try {
      const text = proxy.app.runConsoleCommand('showVersion()');
      expect(text).toBe(`dnsdist ${COMPATIBLE_DNSDIST_VERSION} (dnsdist-ts ${VERSION})\n`);
      expect(text.startsWith('dnsdist ')).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});
