/**
 * Lua globals are one set, as in dnsdist's single Lua state: a global that
 * maintenance() or a console command sets is what a LuaAction reads on the
 * next queries. With data-plane workers (DNSDIST_TS_TEST_WORKERS=2, and the
 * restart test below) each worker has its own Lua state and the control
 * plane copies its changed globals to them (workers/worker-lua-globals.ts).
 * Each check sends from many source ports, which the kernel spreads over
 * the workers' sockets. The workers run the built code (dist/): `make` first.
 */
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { udpAnswers } from '../support/worker-traffic.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
setLocal("127.0.0.1:\${PORT}")
ticks = 0
function maintenance()
  ticks = ticks + 1
  fromMaintenance = { answer = "192.0.2.42", ticks = ticks }
end
addAction("maintenance.example.", LuaAction(function(dq)
  if fromMaintenance then return DNSAction.Spoof, fromMaintenance.answer end
  return DNSAction.None, ""
end))
seen = 0
addAction("counted.example.", LuaAction(function(dq)
  seen = seen + 1
  return DNSAction.Spoof, "192.0.2." .. seen
end))
addAction("console.example.", LuaAction(function(dq)
  if chooser then return DNSAction.Spoof, chooser() end
  if answers and answers[plain] then return DNSAction.Spoof, answers[plain] end
  return DNSAction.None, ""
end))
`;

/** Send bursts until every answer is `expected` (a maintenance tick: no event reaches the test). */
async function untilEvery(port: number, name: string, expected: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Array<string | undefined> = [];
  while (Date.now() < deadline) {
    last = await udpAnswers(port, name);
    if (last.every((a) => a === expected)) return;
  }
  throw new Error(`not every answer for ${name} was ${expected} within ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

async function withProxy(options: { workers?: number }, body: (proxy: RunningProxy) => Promise<void>): Promise<void> {
  const backend: TestBackend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
  let proxy: RunningProxy | undefined;
  try {
    proxy = await startProxy(CONFIG, { BACKEND: backend.port }, options);
    await body(proxy);
  } finally {
    await proxy?.stop();
    await backend.close();
  }
}

describe('Lua globals shared by maintenance(), the console and the rules', () => {
  beforeAll(() => requireBuiltCli());

  it('a global set by maintenance() changes what a LuaAction answers, for every query', async () => {
    await withProxy({}, async (proxy) => {
      await untilEvery(proxy.port, 'maintenance.example.', 'NOERROR 192.0.2.42');
      expect(proxy.output.join('\n')).not.toMatch(/not a copied value|keep their own value/);
    });
  }, 30_000);

  it('a global set at the console (a plain assignment, a table, a function) is what a LuaAction reads once the console replied', async () => {
    await withProxy({}, async (proxy) => {
      const run = (line: string): Promise<string> => proxy.app.runConsoleCommandSliced(line);
      expect(await udpAnswers(proxy.port, 'console.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.7'));
      expect(await run('answers = { first = "192.0.2.61", second = "192.0.2.62" }')).toBe('');
      expect(await run('plain = "first"')).toBe('');
      expect(await udpAnswers(proxy.port, 'console.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.61'));
      // In place: the table is the same, one of its entries is not.
      expect(await run('answers.first = "192.0.2.63"')).toBe('');
      expect(await udpAnswers(proxy.port, 'console.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.63'));
      expect(await run('plain = "second"')).toBe('');
      expect(await udpAnswers(proxy.port, 'console.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.62'));
      // A function cannot be copied: the command that defines it runs in every worker.
      expect(await run('function chooser() return "192.0.2.64" end')).toBe('');
      expect(await udpAnswers(proxy.port, 'console.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.64'));
      expect(await run('chooser = nil answers = nil')).toBe('');
      expect(await udpAnswers(proxy.port, 'console.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.7'));
      expect(proxy.output.join('\n')).not.toMatch(/diverged|not a copied value/);
    });
  }, 30_000);

  it('a data-plane worker started again gets the globals changed since the configuration', async () => {
    await withProxy({ workers: 2 }, async (proxy) => {
      const run = (line: string): Promise<string> => proxy.app.runConsoleCommandSliced(line);
      const pool = proxy.app.workers!;
      expect(await run('answers = { first = "192.0.2.71" } plain = "first"')).toBe('');
      await untilEvery(proxy.port, 'maintenance.example.', 'NOERROR 192.0.2.42');
      const oldThread = pool.status()[1]!.threadId;
      expect(await run('restartWorker(1)')).toBe('');
      await waitFor('the restart', () => pool.status()[1]!.state === 'running' && pool.status()[1]!.threadId !== oldThread, 15_000);
      const answers = [
        ...(await udpAnswers(proxy.port, 'console.example.', 64)),
        ...(await udpAnswers(proxy.port, 'maintenance.example.', 64)),
      ];
      expect(answers).toEqual([...Array(64).fill('NOERROR 192.0.2.71'), ...Array(64).fill('NOERROR 192.0.2.42')]);
      await waitFor('both workers to have answered', () => pool.status().every((w) => w.queries > 0));
    });
  }, 40_000);

  it("a global a LuaAction changes while answering stays in the worker that ran it (each worker's Lua state is its own)", async () => {
    await withProxy({ workers: 2 }, async (proxy) => {
      const pool = proxy.app.workers!;
      // One query at a time from a new source port each: the kernel spreads them over both workers.
      const answers: string[] = [];
      while (answers.length < 64 || !pool.status().every((w) => w.queries > 0)) {
        answers.push((await udpAnswers(proxy.port, 'counted.example.', 1))[0]!);
      }
      // In one Lua state the counter would give every query its own number; here each worker counts its own.
      expect(new Set(answers).size).toBeLessThan(answers.length);
      expect(answers).toContain('NOERROR 192.0.2.1');
      // The control plane answers no query: its copy never moved.
      expect(proxy.app.runConsoleCommand('print(seen)')).toBe('0\n');
    });
  }, 40_000);
});
