/**
 * Console commands that change the configuration, with two data-plane
 * workers: the control plane runs the command (its reply is the console's,
 * printed once), then every worker runs it in its own Lua state, and a
 * worker restarted later replays them after the configuration. The console's
 * reply waits for the workers, so a change is in effect in every worker once
 * the reply is back: each check below sends from many source ports (the
 * kernel spreads them over both workers' sockets) right after the reply.
 * maintenance() stays in the control plane; the changes it makes are sent
 * to the workers (workers-maintenance-changes.test.ts) unless they cannot be
 * made again there (a Lua function).
 * The workers run the built code (dist/): `make` first.
 */
import * as dnsPacket from 'dns-packet';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { makeKey } from '@dnsdist-ts/console/console/index.js';
import { requireBuiltCli } from '../cli/cli-process.js';
import { freePort, runDnsdistClient } from '../console/dnsdist-process.js';
import { waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { udpAnswers, untilProbe } from '../support/worker-traffic.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}"}
setLocal("127.0.0.1:\${PORT}")
blocked = newNMG()
tee = TeeAction("127.0.0.1:\${BACKEND}")
addAction("lua.example.", LuaAction(function(dq)
  if refuseLua or blocked:match(dq.remoteaddr) then return DNSAction.Refused, "" end
  return DNSAction.None, ""
end))
addAction(AndRule({QNameRule("ipqps.example."), MaxQPSIPRule(1, 32, 64, 4)}), RCodeAction(DNSRCode.REFUSED))
function maintenance()
  if changeFromMaintenance then
    changeFromMaintenance = false
    addAction("maintenance.example.", LuaAction(function() return DNSAction.Drop, "" end))
  end
end
`;

describe('console changes with two data-plane workers', () => {
  let backend: TestBackend;
  let second: TestBackend;
  let proxy: RunningProxy;
  const run = (line: string): Promise<string> => proxy.app.runConsoleCommandSliced(line);

  /** Each worker's query count now. */
  async function perWorker(): Promise<number[]> {
    // Read live (workers/live-counters.ts): no publication interval to wait for.
    return proxy.app.workers!.status().map((w) => w.queries);
  }

  /** `check` sent from many ports, and both workers took part. */
  async function inBothWorkers(check: () => Promise<void>): Promise<void> {
    const before = await perWorker();
    await check();
    const after = await perWorker();
    expect(after[0]).toBeGreaterThan(before[0]!);
    expect(after[1]).toBeGreaterThan(before[1]!);
  }

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
    second = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.8'));
    proxy = await startProxy(CONFIG, { BACKEND: backend.port }, { workers: 2 });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
    await second?.close();
  });

  it("applies MaxQPSIPRule's limit to what a client sends in total, the configuration's and one added at the console", async () => {
    // MaxQPSIPRule(1, 32, 64, 4): four at once per client, then one a second. Per worker, two workers would let about eight through.
    const passed = (answers: Array<string | undefined>): number => answers.filter((a) => a?.startsWith('NOERROR')).length;
    let first: Array<string | undefined> = [];
    await inBothWorkers(async () => {
      first = await udpAnswers(proxy.port, 'ipqps.example.', 40);
    });
    expect(passed(first)).toBeGreaterThanOrEqual(4);
    expect(passed(first)).toBeLessThanOrEqual(6);
    expect(await run('addAction(AndRule({QNameRule("ipqps2.example."), MaxQPSIPRule(1, 32, 64, 4)}), RCodeAction(DNSRCode.REFUSED))')).toBe(
      '',
    );
    let second: Array<string | undefined> = [];
    await inBothWorkers(async () => {
      second = await udpAnswers(proxy.port, 'ipqps2.example.', 40);
    });
    expect(passed(second)).toBeGreaterThanOrEqual(4);
    expect(passed(second)).toBeLessThanOrEqual(6);
    expect(await run('rmRule(2)')).toBe('');
  });

  it('applies addAction in every worker, printing nothing more than the control plane does', async () => {
    expect(await udpAnswers(proxy.port, 'refused.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.7'));
    expect(await run('addAction("refused.example.", RCodeAction(DNSRCode.REFUSED))')).toBe('');
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'refused.example.')).toEqual(Array(32).fill('REFUSED ')));
    // The rule's hits in both workers add up in the control plane, as the configuration's rules' do.
    // Read at once: the counters of rules added at the console are live too (workers/run-time-counters.ts).
    expect(proxy.app.rules.query.rules[2]?.hits).toBe(32);
    expect(await run('showRules()')).toMatch(/^2 +32 .*refused\.example\./m);
    // A command's own output is the control plane's, once.
    expect(await run('addAction("printed.example.", DropAction()) print("added")')).toBe('added\n');
    expect(proxy.output.filter((l) => l.includes('added'))).toEqual([]);
  });

  it('removes a rule in every worker (rmRule)', async () => {
    expect(await run('showRules()')).toMatch(/^2 .*refused\.example\./m);
    expect(await run('rmRule(2)')).toBe('');
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'refused.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.7')));
  });

  it("changes an object the configuration's rules share (NetmaskGroup:addMask) and a Lua global a LuaAction reads", async () => {
    // NetmaskGroupRule(nmg) takes a copy, as dnsdist's does; a Lua function reads the object itself.
    expect(await run('blocked:addMask("127.0.0.0/8")')).toBe('');
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'lua.example.')).toEqual(Array(32).fill('REFUSED ')));
    expect(await run('blocked:clear()')).toBe('');
    expect(await udpAnswers(proxy.port, 'lua.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.7'));
    // Setting a global calls no dnsdist function, yet the workers' Lua must see it.
    expect(await run('refuseLua = true')).toBe('');
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'lua.example.')).toEqual(Array(32).fill('REFUSED ')));
  });

  it('adds a backend and changes the policy in every worker (newServer + setServerPolicy)', async () => {
    expect(await run(`newServer{address="127.0.0.1:${second.port}", order=0} setServerPolicy(firstAvailable)`)).toBe('');
    // The new backend is up once the control plane's first health check says so and its next sync tells the workers.
    await untilProbe('both workers to send to the new backend', async () =>
      (await udpAnswers(proxy.port, 'new.example.')).every((a) => a === 'NOERROR 192.0.2.8'),
    );
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'new.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.8')));
    expect(await run('showServers()')).toMatch(new RegExp(`^\\d+ .*127\\.0\\.0\\.1:${second.port} +up`, 'm'));
    // Its queries, counted in the workers, show in the control plane.
    const added = proxy.app.proxy.servers.find((s) => s.addressText === `127.0.0.1:${second.port}`)!;
    expect(added.counters.queries).toBeGreaterThanOrEqual(64);
  });

  it('replays the changes in a restarted worker, whose counters still add up', async () => {
    const pool = proxy.app.workers!;
    const oldThread = pool.status()[1]!.threadId;
    await perWorker();
    const before = proxy.app.proxy.servers.find((s) => s.addressText === `127.0.0.1:${second.port}`)!.counters.queries;
    expect(await run('restartWorker(1)')).toBe('');
    await waitFor('the restart', () => pool.status()[1]!.state === 'running' && pool.status()[1]!.threadId !== oldThread, 15_000);
    await inBothWorkers(async () => {
      expect(await udpAnswers(proxy.port, 'again.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.8'));
      expect(await udpAnswers(proxy.port, 'lua.example.')).toEqual(Array(32).fill('REFUSED '));
      expect(await udpAnswers(proxy.port, 'refused.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.8'));
    });
    expect(proxy.output.join('\n')).not.toMatch(/statistics are left out|diverged/);
    // What the backend added at the console counted in the worker that died stays in its total.
    const added = proxy.app.proxy.servers.find((s) => s.addressText === `127.0.0.1:${second.port}`)!;
    expect(added.counters.queries).toBeGreaterThanOrEqual(before + 64);
  }, 30_000);

  it('prints an error once, and reports a worker that diverges', async () => {
    const lines = proxy.output.length;
    // The first newServer logs its bad weight and goes on (as dnsdist does); the second fails the command.
    const reply = await run('newServer{address="127.0.0.1:53", weight=0} newServer("not an address")');
    expect(reply.split('\n').filter((l) => l.startsWith('Error:'))).toHaveLength(1);
    const logged = proxy.output.slice(lines);
    expect(logged.filter((l) => /weight value/.test(l))).toHaveLength(1);
    expect(logged.join('\n')).not.toMatch(/diverged|not an address/);
    // A command whose outcome depends on the thread: the control plane reads every worker's rings, each worker its own
    // (the statistics counters no longer differ: every thread reads their total, workers-live-counters.test.ts).
    await perWorker();
    const total = Number((await run('print(#getRespRing())')).trim());
    expect(total).toBeGreaterThan(0);
    const diverging = await run(
      `addAction("d.example.", DropAction()) if #getRespRing() ~= ${total} then error("not the control plane's rings") end`,
    );
    expect(diverging).toMatch(
      /^Error: Data-plane worker 0 diverged from the control plane running console command .*: it failed \(.*not the control plane's rings\)/m,
    );
    expect(proxy.output.slice(lines).join('\n')).toMatch(/Data-plane worker 0 diverged/);
  });

  it("reads a TeeAction's statistics at the console as the total over both workers, by its variable and by getAction(n)", async () => {
    // The tee the configuration made goes into a rule in every worker; its copies go to the backend, which answers them.
    expect(await run('addAction("tee.example.", tee)')).toBe('');
    const teeLine = (await run('showRules()')).split('\n').find((l) => l.includes('tee to'));
    const rule = Number(/^\s*(\d+)/.exec(teeLine ?? '')?.[1]);
    await inBothWorkers(async () =>
      expect((await udpAnswers(proxy.port, 'tee.example.')).every((a) => a?.startsWith('NOERROR'))).toBe(true),
    );
    expect(await run('print(tee:getStats()["queries"])')).toBe('32\n');
    await untilProbe('the 32 copies answered', async () => (await run('tee:printStats()')).includes('responses\t32\n'));
    const stats = await run('tee:printStats()');
    expect(stats).toContain('queries\t32\n');
    expect(stats).toContain('noerrors\t32\n');
    expect(await run(`getAction(${rule}):printStats()`)).toBe(stats);
  });

  it('keeps maintenance() in the control plane, where a change it cannot send to the workers is refused with a clear error', async () => {
    expect(await run('changeFromMaintenance = true')).toBe('');
    await waitFor('maintenance() to run', () => proxy.output.some((l) => l.includes('maintenance function')), 5000);
    expect(proxy.output.join('\n')).toMatch(
      /Error during execution of maintenance function: .*addAction: refused in maintenance\(\) with 2 data-plane workers: its argument 2 \(made by LuaAction\(\), whose argument 1 is a Lua function\)/,
    );
    expect(await udpAnswers(proxy.port, 'maintenance.example.', 8)).toEqual(Array(8).fill('NOERROR 192.0.2.8'));
  });
});

describeDnsdist("dnsdist 1.7.3's console client, with two data-plane workers", () => {
  let backend: TestBackend;
  let proxy: RunningProxy;
  let clientConfig: string;

  beforeAll(async () => {
    requireBuiltCli();
    const key = makeKey();
    const consolePort = await freePort();
    clientConfig = `controlSocket("127.0.0.1:${consolePort}")\nsetKey("${key}")\n`;
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
    proxy = await startProxy(
      `newServer{address="127.0.0.1:\${BACKEND}"}\nsetLocal("127.0.0.1:\${PORT}")\n${clientConfig}`,
      { BACKEND: backend.port },
      { workers: 2 },
    );
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
  });

  it("prints a change's output once, and every worker answers with it when the client returns", async () => {
    const added = await runDnsdistClient(clientConfig, 'addAction("client.example.", RCodeAction(DNSRCode.REFUSED)) print("added")');
    expect(added.stdout).toBe('added\n');
    expect(await udpAnswers(proxy.port, 'client.example.')).toEqual(Array(32).fill('REFUSED '));
    const failed = await runDnsdistClient(clientConfig, 'addAction("other.example.", DropAction()) newServer("not an address")');
    expect(`${failed.stdout}${failed.stderr}`.match(/Error creating new server/g)).toHaveLength(1);
    expect(`${failed.stdout}${failed.stderr}`).not.toMatch(/diverged/);
  });
});
