/**
 * setLocal("…:0") asks for any port: the proxy must not fail because the
 * port its UDP socket got is taken for TCP by someone else. Run in a
 * private network namespace whose ephemeral range has three ports, TCP
 * already held on two of them: UDP's first pick is usually one of those,
 * and every start must still end up listening on the third.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeBpf } from '../../../../test/support/require-bpf.js';
import { CLI, requireBuiltCli } from '../cli/cli-process.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/any-port-in-netns.mjs', import.meta.url));
const STARTS = 4;

describeBpf('a listener on port 0 (root: private network namespace)', () => {
  it('gets a port free for both UDP and TCP, picking again when TCP is taken on UDP’s port', () => {
    requireBuiltCli();
    const r = spawnSync('unshare', ['-n', '--', process.execPath, FIXTURE, CLI, String(STARTS)], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const { starts } = JSON.parse(r.stdout) as { starts: Array<{ ok: boolean; port?: number; output: string }> };
    expect(starts).toHaveLength(STARTS);
    for (const s of starts) {
      if (!s.ok) throw new Error(`a start failed:\n${s.output}`);
      expect(s.port).toBe(40002);
    }
  });
});
