/**
 * Console commands against a running proxy: they share the event loop
 * with DNS, so they run in slices, are aborted past their limits, and
 * their replies are cut at the maximum message size.
 */
import { lua } from 'fengari';
import { ConsoleClient, makeKey } from '@dnsdist-ts/console/console/index.js';
import { udpQuery } from '../support/dns-client.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';

const keyText = makeKey();

describe('console commands and the query path', () => {
  let proxy: RunningProxy;
  const lines: string[] = [];
  const lineWaiters: { pattern: RegExp; resolve: () => void }[] = [];
  const clients: ConsoleClient[] = [];

  /** Resolves once the proxy has printed (or logged) a line matching `pattern`. */
  function printed(pattern: RegExp): Promise<void> {
    if (lines.some((l) => pattern.test(l))) return Promise.resolve();
    return new Promise((resolve) => lineWaiters.push({ pattern, resolve }));
  }

  beforeAll(async () => {
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
       controlSocket("127.0.0.1:0")
       setKey("${keyText}")
       setConsoleCommandTimeout(1)
       addAction(AllRule(), RCodeAction(DNSRCode.REFUSED))
       function maintenance() ticks = (ticks or 0) + 1 print("maintenance tick " .. ticks) end`,
      {},
      {
        output: (line) => {
          lines.push(line);
          for (const w of [...lineWaiters]) {
            if (w.pattern.test(line)) {
              lineWaiters.splice(lineWaiters.indexOf(w), 1);
              w.resolve();
            }
          }
        },
      },
    );
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await proxy?.stop();
  });

  async function connect(): Promise<ConsoleClient> {
    const c = await ConsoleClient.connect({ host: '127.0.0.1', port: proxy.app.console!.localPort, key: keyText });
    clients.push(c);
    return c;
  }

  it('keeps answering DNS while a command loops, then aborts it at setConsoleCommandTimeout', async () => {
    const c = await connect();
    const events: string[] = [];
    const reply = c.run('infolog("loop one started") while true do end').then((r) => {
      events.push('console reply');
      return r;
    });
    await printed(/loop one started/);
    const answer = await udpQuery(proxy.port, 'during.example');
    events.push('dns answer');
    expect(answer?.rcode).toBe('REFUSED');
    expect(await reply).toMatch(
      /^Error: console command aborted after \d+ ms, over the limit of 1000 ms \(setConsoleCommandTimeout\(seconds\) changes it, 0 removes it\)\n$/,
    );
    expect(events).toEqual(['dns answer', 'console reply']);
    // The session and DNS carry on.
    expect(await c.run('1+1')).toBe('2\n');
    expect((await udpQuery(proxy.port, 'after.example'))?.rcode).toBe('REFUSED');
  });

  it('aborts a command that runs where it cannot pause (a coroutine of its own, a sort comparator)', async () => {
    const c = await connect();
    expect(await c.run('coroutine.wrap(function() while true do end end)()')).toMatch(
      /^Error: .*console command aborted: it ran \d+ ms without a pause .* over 250 ms it is stopped\n$/,
    );
    expect(await c.run('table.sort({3, 2, 1, 4, 5, 6}, function(a, b) while true do end end)')).toMatch(/without a pause/);
    expect((await udpQuery(proxy.port, 'after.example'))?.rcode).toBe('REFUSED');
  });

  it('aborts a command that keeps allocating once the process has grown by 128 MiB, before its time limit', async () => {
    const c = await connect();
    // The suite's 1 s time limit is a race on a loaded machine (allocating 128 MiB can take longer): give this one room.
    await c.run('setConsoleCommandTimeout(30)');
    let reply: string;
    try {
      reply = await c.run('local t = {} while true do t[#t + 1] = string.rep("x", 65536) .. #t end');
    } finally {
      await c.run('setConsoleCommandTimeout(1)');
    }
    expect(reply).toMatch(/^Error: .*console command aborted: it made the process grow by \d+ MiB, over the limit of 128 MiB\n$/);
    expect((await udpQuery(proxy.port, 'after.example'))?.rcode).toBe('REFUSED');
  });

  it('does not let pcall swallow the abort or switch the limits off', async () => {
    const c = await connect();
    expect(await c.run('while true do pcall(function() while true do end end) end')).toMatch(/^Error: console command aborted after/);
    // An error caught by pcall inside a coroutine used to switch hooks off in fengari (patched: patches/fengari@0.1.5.patch).
    expect(await c.run('pcall(error, "caught") while true do end')).toMatch(/^Error: console command aborted after/);
  });

  it('lets maintenance() run between slices, its prints going to the log and not into the reply, and never hooks it', async () => {
    const c = await connect();
    await c.run('setConsoleCommandTimeout(10)');
    try {
      // Ends only once maintenance() has run while the command was going.
      const reply = await c.run('local seen = ticks or 0 while (ticks or 0) == seen do end return "maintenance ran"');
      expect(reply).toBe('maintenance ran\n');
    } finally {
      await c.run('setConsoleCommandTimeout(1)');
    }
    expect(lines.some((l) => /maintenance tick/.test(l))).toBe(true);
    // The time limit lives on the command's coroutine only: the main thread (configuration, rules, maintenance) has no hook.
    expect((lua as unknown as { lua_gethook(L: unknown): unknown }).lua_gethook(proxy.app.runtime.L)).toBeNull();
  });

  it('runs console commands one at a time, across connections', async () => {
    const a = await connect();
    const b = await connect();
    const order: string[] = [];
    const first = a.run('infolog("loop two started") while true do end').then(() => order.push('first'));
    await printed(/loop two started/);
    const second = b.run('"second"').then((r) => {
      order.push('second');
      return r;
    });
    await Promise.all([first, second]);
    expect(await second).toBe('second\n');
    expect(order).toEqual(['first', 'second']);
  });

  it('cuts replies at setConsoleOutputMaxMsgSize, printed or returned, on a character boundary', async () => {
    const c = await connect();
    await c.run('setConsoleOutputMaxMsgSize(2000)');
    try {
      const returned = await c.run('string.rep("é", 5000)');
      expect(Buffer.byteLength(returned)).toBeLessThanOrEqual(2000 - 16);
      expect(returned).toMatch(/^é+\n\[output cut at 1984 bytes to fit setConsoleOutputMaxMsgSize\(\); \d+ more bytes not sent\]\n$/);
      const printedReply = await c.run('for i = 1, 1000 do print("line " .. i) end');
      expect(Buffer.byteLength(printedReply)).toBeLessThanOrEqual(1984);
      expect(printedReply.startsWith('line 1\nline 2\n')).toBe(true);
      expect(printedReply).not.toContain('line 1000\n');
      expect(printedReply).toMatch(/\[output cut at 1984 bytes/);
    } finally {
      await c.run('setConsoleOutputMaxMsgSize(10000000)');
    }
    // dnsdist's default: 10,000,000 bytes a frame, so 9,999,984 bytes of text.
    const big = await c.run('string.rep("x", 11000000)');
    expect(Buffer.byteLength(big)).toBeLessThanOrEqual(9_999_984);
    const cut = big.lastIndexOf('\n[');
    expect(big.slice(cut + 1)).toMatch(
      /^\[output cut at 9999984 bytes to fit setConsoleOutputMaxMsgSize\(\); \d+ more bytes not sent\]\n$/,
    );
    expect(cut).toBeGreaterThan(9_999_000);
    expect(big.slice(0, cut).replaceAll('x', '')).toBe('');
    expect(await c.run('"fits"')).toBe('fits\n');
  });

  it('prints error objects as Lua does', async () => {
    const c = await connect();
    expect(await c.run('error({})')).toBe('Error: (error object is a table value)\n');
    expect(await c.run('error(nil)')).toBe('Error: (error object is a nil value)\n');
    expect(await c.run('error(true)')).toBe('Error: (error object is a boolean value)\n');
    expect(await c.run('error(42)')).toBe('Error: 42\n');
    expect(await c.run('error(1.5)')).toBe('Error: 1.5\n');
    expect(await c.run('error("x", 0)')).toBe('Error: x\n');
    expect(await c.run('error("x")')).toBe('Error: console:1: x\n');
    expect(await c.run('error(setmetatable({}, {__tostring = function() return "custom" end}))')).toBe('Error: custom\n');
    expect(await c.run('error(setmetatable({}, {__tostring = function() error("worse") end}))')).toBe(
      'Error: (error object is a table value)\n',
    );
    expect(await c.run('coroutine.yield(1)')).toBe('Error: attempt to yield from outside a coroutine\n');
    // The same texts where the configuration or the terminal runs Lua.
    expect(proxy.app.runConsoleCommand('error({})')).toBe('Error: (error object is a table value)\n');
  });

  it('passes values between a binding and a coroutine the command creates', async () => {
    const c = await connect();
    expect(await c.run('local co = coroutine.wrap(function(a) print("in", a) coroutine.yield() print("out") end) co(5) co()')).toBe(
      'in\t5\nout\n',
    );
  });
});
