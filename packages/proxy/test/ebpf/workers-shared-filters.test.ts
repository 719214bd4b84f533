/**
 * With two data-plane workers, each worker runs the configuration, so each
 * calls its `newBPFFilter{…}`. Those calls take the control plane's kernel
 * maps (fds are process-wide) instead of creating maps of their own that
 * nothing reads: one set of maps per filter in the process, and a block a
 * worker writes (from a LuaAction) is the one the control plane reads,
 * as in dnsdist's single process. The same for a filter created at the
 * console. The workers run the built code (dist/): `make` first.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { requireBuiltCli } from '../cli/cli-process.js';
import { udpQuery, waitFor } from '../support/dns-client.js';
import { startProxy } from '../support/proxy-harness.js';
import { udpAnswers } from '../support/worker-traffic.js';
import { describeBpf } from '../../../../test/support/require-bpf.js';

/** Distinct kernel maps this process holds with `maxEntries` (a size no other test uses), by map id from fdinfo. */
function mapsOfSize(maxEntries: number): number {
  const ids = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let info: string;
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== 'anon_inode:bpf-map') continue;
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const id = /^map_id:\s*(\d+)/m.exec(info)?.[1];
    if (id !== undefined && new RegExp(`^max_entries:\\s*${maxEntries}$`, 'm').test(info)) ids.add(id);
  }
  return ids.size;
}

describeBpf('BPF filters shared by the data-plane workers', () => {
  it("gives each worker's newBPFFilter the control plane's maps, so a worker's block is the control plane's", async () => {
    requireBuiltCli();
    const config = `
      setLocal("127.0.0.1:\${PORT}")
      f = newBPFFilter{ipv4MaxItems=1237, ipv6MaxItems=1237, qnamesMaxItems=1237}
      addAction(QNameRule("block-me.test."), LuaAction(function(dq) f:block(newCA("192.0.2.77")) return DNSAction.Refused end))
      addAction(AllRule(), SpoofAction("192.0.2.99"))
    `;
    const p = await startProxy(config, {}, { workers: 2 });
    try {
      // One ipv4, one ipv6, one qnames map, with their expiry maps: six maps, not six per Lua state.
      expect(mapsOfSize(1237)).toBe(6);
      expect((await udpQuery(p.port, 'block-me.test'))?.rcode).toBe('REFUSED');
      expect(p.app.runConsoleCommand('f:getStats()')).toContain('192.0.2.77: 0');
    } finally {
      await p.stop();
    }
  }, 60_000);

  it('gives a filter created at the console to every worker the same way', async () => {
    requireBuiltCli();
    const p = await startProxy(`setLocal("127.0.0.1:\${PORT}")\naddAction(AllRule(), SpoofAction("192.0.2.99"))`, {}, { workers: 2 });
    try {
      await p.app.runConsoleCommandSliced('g = newBPFFilter{ipv4MaxItems=1239, ipv6MaxItems=1239, qnamesMaxItems=1239}');
      expect(mapsOfSize(1239)).toBe(6);
      await p.app.runConsoleCommandSliced(
        'addAction(QNameRule("block-me.test."), LuaAction(function(dq) g:block(newCA("192.0.2.88")) return DNSAction.Refused end), {name="b"})',
      );
      await p.app.runConsoleCommandSliced('topRule()');
      expect((await udpQuery(p.port, 'block-me.test'))?.rcode).toBe('REFUSED');
      expect(p.app.runConsoleCommand('g:getStats()')).toContain('192.0.2.88: 0');
      // A restarted worker replays the configuration and the console's changes over the same maps.
      const pool = p.app.workers!;
      const oldThread = pool.status()[1]!.threadId;
      expect(await p.app.runConsoleCommandSliced('restartWorker(1)')).toBe('');
      await waitFor('the restart', () => pool.status()[1]!.state === 'running' && pool.status()[1]!.threadId !== oldThread, 15_000);
      expect(mapsOfSize(1239)).toBe(6);
    } finally {
      await p.stop();
    }
  }, 60_000);

  it('ends a console command whose map write failed in the control plane at the same call in the workers', async () => {
    requireBuiltCli();
    const config = `
      setLocal("127.0.0.1:\${PORT}")
      f = newBPFFilter{ipv4MaxItems=1241, ipv6MaxItems=1241, qnamesMaxItems=1241}
      setServFailWhenNoServer(true)
    `;
    const p = await startProxy(config, {}, { workers: 2 });
    try {
      // Not blocked: the unblock fails in the control plane, after the first rule and before the second.
      const reply = await p.app.runConsoleCommandSliced(
        'addAction(QNameRule("before.test."), RCodeAction(DNSRCode.NXDOMAIN)) f:unblock(newCA("192.0.2.1")) addAction(QNameRule("after.test."), RCodeAction(DNSRCode.REFUSED))',
      );
      expect(reply).toMatch(/Error removing blocked address 192\.0\.2\.1/);
      expect(await p.app.runConsoleCommandSliced('showRules()')).not.toMatch(/after\.test/);
      // The workers skipped the write (the maps are the control plane's) and failed it the same: no rule there either.
      expect(await udpAnswers(p.port, 'before.test.')).toEqual(Array(32).fill('NXDOMAIN '));
      // No backend (setServFailWhenNoServer): a query no rule answers gets SERVFAIL.
      expect(await udpAnswers(p.port, 'after.test.')).toEqual(Array(32).fill('SERVFAIL '));
      expect(p.output.join('\n')).not.toMatch(/diverged/);
    } finally {
      await p.stop();
    }
  }, 60_000);
});
