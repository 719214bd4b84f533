/**
 * Configuration changes made by maintenance() with two data-plane workers:
 * maintenance() runs in the control plane only; each change it makes is
 * recorded as the Lua text of the call (its objects written as the
 * constructor or getter call that made them, or the global holding them)
 * and run in every worker after the tick, as a console command is; a
 * worker restarted later replays them. A change whose argument cannot be
 * made again in a worker (a Lua function) is refused, naming the function
 * and the argument. Each check sends from many source ports (the kernel
 * spreads them over both workers' sockets) and asserts both workers
 * answered. The workers run the built code (dist/): `make` first.
 */
import * as dnsPacket from 'dns-packet';
import { requireBuiltCli } from '../cli/cli-process.js';
import { waitFor } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { udpAnswers, untilProbe } from '../support/worker-traffic.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const CONFIG = `
newServer{address="127.0.0.1:\${BACKEND}", order=1}
newServer{address="127.0.0.1:\${SECOND}", order=2}
setServerPolicy(roundrobin)
setLocal("127.0.0.1:\${PORT}")
refusing = RCodeAction(DNSRCode.REFUSED)
blocked = newNMG()
addAction("nmg.example.", LuaAction(function(dq)
  if blocked:match(dq.remoteaddr) then return DNSAction.Refused, "" end
  return DNSAction.None, ""
end))
function maintenance()
  local step = nextStep
  nextStep = nil
  if step == "add" then
    addAction(QNameRule("x.example."), RCodeAction(DNSRCode.REFUSED))
  elseif step == "remove" then
    rmRule(1)
  elseif step == "nested" then
    addAction(AndRule({QNameRule("nested.example."), QTypeRule(DNSQType.A)}), SpoofAction({"192.0.2.99"}, {ttl=60}))
    addAction({"global.example.", "global2.example."}, refusing)
  elseif step == "policy" then
    setServerPolicy(firstAvailable)
  elseif step == "down" then
    getServer(0):setDown()
  elseif step == "nmg" then
    blocked:addMask("127.0.0.0/8")
  elseif step == "server" then
    newServer{address="127.0.0.1:\${THIRD}", order=0}
  elseif step == "setRules" then
    setRules({newRuleAction(QNameRule("rules.example."), RCodeAction(DNSRCode.NXDOMAIN), {name="only"})})
  elseif step == "lua" then
    addAction(QNameRule("lua.example."), LuaAction(function() return DNSAction.Refused, "" end))
  end
end
`;

describe('maintenance() changes with two data-plane workers', () => {
  let backend: TestBackend;
  let second: TestBackend;
  let third: TestBackend;
  let proxy: RunningProxy;
  const run = (line: string): Promise<string> => proxy.app.runConsoleCommandSliced(line);
  const all = (answers: Array<string | undefined>, expected: string): boolean => answers.every((a) => a === expected);

  /** `check` sent from many ports, and both workers took part. */
  async function inBothWorkers(check: () => Promise<void>): Promise<void> {
    const before = proxy.app.workers!.status().map((w) => w.queries);
    await check();
    const after = proxy.app.workers!.status().map((w) => w.queries);
    expect(after[0]).toBeGreaterThan(before[0]!);
    expect(after[1]).toBeGreaterThan(before[1]!);
  }

  /** Have the next maintenance() run take `step`, and wait until the control plane ran it. */
  async function step(name: string): Promise<void> {
    expect(await run(`nextStep = "${name}"`)).toBe('');
    // maintenance() clears it when it runs; the console reads the control plane's.
    await untilProbe(`maintenance() to take step ${name}`, async () => {
      // A console command that changes nothing resolves in microtasks only: let the timers (the maintenance tick) run.
      await new Promise((resolve) => setImmediate(resolve));
      return (await run('print(nextStep)')) === 'nil\n';
    });
  }

  beforeAll(async () => {
    requireBuiltCli();
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
    second = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.8'));
    third = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.9'));
    proxy = await startProxy(CONFIG, { BACKEND: backend.port, SECOND: second.port, THIRD: third.port }, { workers: 2 });
    // Both backends up in both workers: roundrobin answers from each.
    await untilProbe('both backends to answer', async () => {
      const answers = await udpAnswers(proxy.port, 'start.example.');
      return answers.includes('NOERROR 192.0.2.7') && answers.includes('NOERROR 192.0.2.8');
    });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await backend?.close();
    await second?.close();
    await third?.close();
  });

  it('a rule maintenance() adds (addAction(QNameRule, RCodeAction)) is applied in both workers, once', async () => {
    expect((await udpAnswers(proxy.port, 'x.example.')).every((a) => a?.startsWith('NOERROR'))).toBe(true);
    await step('add');
    await untilProbe('the rule in the workers', async () => all(await udpAnswers(proxy.port, 'x.example.'), 'REFUSED '));
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'x.example.')).toEqual(Array(32).fill('REFUSED ')));
    expect((await run('showRules()')).match(/x\.example\./g)).toHaveLength(1);
    // The rule's hits in both workers add up in the control plane, as a console rule's do.
    await waitFor('the rule to count the hits of both workers', () => (proxy.app.rules.query.rules[1]?.hits ?? 0) >= 64);
    expect(proxy.output.join('\n')).not.toMatch(/diverged|refused in maintenance/);
  });

  it('a rule maintenance() removes (rmRule) is gone in both workers', async () => {
    expect(await run('showRules()')).toMatch(/^1 .*x\.example\./m);
    await step('remove');
    await untilProbe('the rule gone from the workers', async () =>
      (await udpAnswers(proxy.port, 'x.example.')).every((a) => a?.startsWith('NOERROR')),
    );
    await inBothWorkers(async () => expect((await udpAnswers(proxy.port, 'x.example.')).every((a) => a?.startsWith('NOERROR'))).toBe(true));
    expect(await run('showRules()')).not.toMatch(/x\.example\./);
  });

  it('rebuilds nested selectors, tables of options and an action held in a global in both workers', async () => {
    await step('nested');
    await untilProbe('the rules in the workers', async () => all(await udpAnswers(proxy.port, 'global2.example.'), 'REFUSED '));
    await inBothWorkers(async () => {
      expect(await udpAnswers(proxy.port, 'nested.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.99'));
      expect(await udpAnswers(proxy.port, 'global.example.')).toEqual(Array(32).fill('REFUSED '));
    });
  });

  it('setServerPolicy from maintenance() applies in both workers', async () => {
    await step('policy');
    await untilProbe('firstAvailable in the workers', async () =>
      all(await udpAnswers(proxy.port, 'policy.example.'), 'NOERROR 192.0.2.7'),
    );
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'policy.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.7')));
  });

  it('a backend set down through getServer(0):setDown() in maintenance() is down in both workers', async () => {
    await step('down');
    await untilProbe('the backend down in the workers', async () =>
      all(await udpAnswers(proxy.port, 'down.example.'), 'NOERROR 192.0.2.8'),
    );
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'down.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.8')));
  });

  it("changes an object held in a global the configuration's LuaAction reads (NetmaskGroup:addMask) in both workers", async () => {
    expect((await udpAnswers(proxy.port, 'nmg.example.')).every((a) => a?.startsWith('NOERROR'))).toBe(true);
    await step('nmg');
    await untilProbe('the mask in the workers', async () => all(await udpAnswers(proxy.port, 'nmg.example.'), 'REFUSED '));
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'nmg.example.')).toEqual(Array(32).fill('REFUSED ')));
  });

  it('a backend maintenance() adds (newServer{…}) is used by both workers', async () => {
    await step('server');
    // Up once the control plane's first health check says so and the workers follow; a state the control plane sent
    // before the workers ran newServer is not laid over their list (it failed 1 run in 5 under load before).
    await untilProbe('the new backend in the workers', async () => all(await udpAnswers(proxy.port, 'new.example.'), 'NOERROR 192.0.2.9'));
    await inBothWorkers(async () => expect(await udpAnswers(proxy.port, 'new.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.9')));
    expect(await run('showServers()')).toMatch(new RegExp(`^\\d+ .*127\\.0\\.0\\.1:${third.port} +up`, 'm'));
    // The control plane's health check decided, once; the workers ran none of their own (dnsdist prints the line once).
    expect(proxy.output.filter((l) => l.includes(`Marking downstream 127.0.0.1:${third.port} `))).toEqual([
      `Marking downstream 127.0.0.1:${third.port} (127.0.0.1:${third.port}) as 'up'`,
    ]);
  });

  it('refuses a change whose argument is made with a Lua function, naming the function and the argument', async () => {
    const lines = proxy.output.length;
    await step('lua');
    await waitFor('the error', () => proxy.output.slice(lines).some((l) => l.includes('maintenance function')));
    expect(proxy.output.slice(lines).join('\n')).toMatch(
      /Error during execution of maintenance function: .*addAction: refused in maintenance\(\) with 2 data-plane workers: its argument 2 \(made by LuaAction\(\), whose argument 1 is a Lua function\) cannot be made again in the workers, .*keep it in a global/,
    );
    expect(await run('showRules()')).not.toMatch(/lua\.example\./);
  });

  it('a restarted worker replays what maintenance() changed', async () => {
    const pool = proxy.app.workers!;
    const oldThread = pool.status()[1]!.threadId;
    expect(await run('restartWorker(1)')).toBe('');
    await waitFor('the restart', () => pool.status()[1]!.state === 'running' && pool.status()[1]!.threadId !== oldThread, 15_000);
    await inBothWorkers(async () => {
      expect((await udpAnswers(proxy.port, 'x.example.')).every((a) => a === 'NOERROR 192.0.2.9')).toBe(true);
      expect(await udpAnswers(proxy.port, 'nmg.example.')).toEqual(Array(32).fill('REFUSED '));
      expect(await udpAnswers(proxy.port, 'nested.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.99'));
      expect(await udpAnswers(proxy.port, 'global2.example.')).toEqual(Array(32).fill('REFUSED '));
    });
    expect(proxy.output.join('\n')).not.toMatch(/diverged/);
  }, 30_000);

  it('replaces the rules in both workers (setRules with newRuleAction)', async () => {
    await step('setRules');
    await untilProbe('the new rules in the workers', async () => all(await udpAnswers(proxy.port, 'rules.example.'), 'NXDOMAIN '));
    await inBothWorkers(async () => {
      expect(await udpAnswers(proxy.port, 'rules.example.')).toEqual(Array(32).fill('NXDOMAIN '));
      // The rules maintenance() and the configuration added are gone.
      expect(await udpAnswers(proxy.port, 'global2.example.')).toEqual(Array(32).fill('NOERROR 192.0.2.9'));
    });
    expect(proxy.output.join('\n')).not.toMatch(/diverged/);
  });
});
