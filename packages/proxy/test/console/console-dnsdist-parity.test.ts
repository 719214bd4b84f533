/**
 * Console replies side by side with Debian's dnsdist 1.7.3: error objects
 * and output over the maximum message size.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { ConsoleClient, makeKey } from '@dnsdist-ts/console/console/index.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { freePort, startDnsdist, type RunningDnsdist } from './dnsdist-process.js';

/** `dnsdist -C <client config> -e <command>`: how many bytes it printed, and the last few of them. */
function dnsdistClientOutput(config: string, command: string): Promise<{ bytes: number; tail: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'dts-console-client-'));
  const file = join(dir, 'client.conf');
  writeFileSync(file, config);
  const child = spawn('dnsdist', ['-C', file, '-e', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0;
  let tail = Buffer.alloc(0);
  const take = (d: Buffer): void => {
    bytes += d.length;
    tail = Buffer.concat([tail, d]).subarray(-300);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return new Promise((resolve) =>
    child.once('close', () => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ bytes, tail: tail.toString() });
    }),
  );
}

describeDnsdist('console replies next to dnsdist', () => {
  const keyText = makeKey();
  let dnsdist: RunningDnsdist;
  let dnsdistConsole: number;
  let proxy: RunningProxy;
  const clients: ConsoleClient[] = [];

  beforeAll(async () => {
    // freePort() checks a port is free, not that it stays so: another test file can take it before
    // dnsdist binds it. dnsdist then exits naming the address; start it again on other ports.
    for (let attempt = 1; ; attempt++) {
      dnsdistConsole = await freePort();
      try {
        dnsdist = await startDnsdist(
          [`setLocal("127.0.0.1:${await freePort()}")`, `controlSocket("127.0.0.1:${dnsdistConsole}")`, `setKey("${keyText}")`].join('\n'),
          dnsdistConsole,
        );
        break;
      } catch (err) {
        if (attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
      }
    }
    proxy = await startProxy(`setLocal("127.0.0.1:\${PORT}")\ncontrolSocket("127.0.0.1:0")\nsetKey("${keyText}")`);
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await proxy?.stop();
    await dnsdist?.stop();
  });

  async function connect(port: number): Promise<ConsoleClient> {
    const c = await ConsoleClient.connect({ host: '127.0.0.1', port, key: keyText });
    clients.push(c);
    return c;
  }

  it("shows string and number errors as dnsdist does, and other error objects as Lua's interpreter does", async () => {
    const ours = await connect(proxy.app.console!.localPort);
    const theirs = await connect(dnsdistConsole);
    // dnsdist follows the message with a LuaJIT traceback; the message line is the same.
    for (const command of ['error("x", 0)', 'error(42)', 'error(1.5)']) {
      const reply = await ours.run(command);
      expect(`${(await theirs.run(command)).split('\n')[0]}\n`).toBe(reply);
    }
    // dnsdist 1.7.3 answers these with its C++ binding's failure to read the error object,
    // naming its Lua type; we say what Lua's interpreter says about the same type.
    for (const type of ['table', 'nil', 'boolean']) {
      const command = type === 'table' ? 'error({})' : type === 'nil' ? 'error(nil)' : 'error(true)';
      expect(await theirs.run(command)).toMatch(
        new RegExp(`^Error: Exception thrown by a callback function: Trying to cast a lua variable from "${type}"`),
      );
      expect(await ours.run(command)).toBe(`Error: (error object is a ${type} value)\n`);
    }
    const custom = 'error(setmetatable({}, {__tostring = function() return "custom" end}))';
    expect(await theirs.run(custom)).toMatch(/^Error: Exception thrown by a callback function: Trying to cast a lua variable from "table"/);
    expect(await ours.run(custom)).toBe('Error: custom\n');
  });

  it("fits an 11 MB reply within dnsdist's client limit, where dnsdist's server sends a frame its own client refuses", async () => {
    const command = 'string.rep("x", 11000000)';
    const fromDnsdist = await dnsdistClientOutput(`controlSocket("127.0.0.1:${dnsdistConsole}")\nsetKey("${keyText}")\n`, command);
    expect(fromDnsdist.tail).toContain('Connection closed by the server.');
    const fromOurs = await dnsdistClientOutput(
      `controlSocket("127.0.0.1:${proxy.app.console!.localPort}")\nsetKey("${keyText}")\n`,
      command,
    );
    expect(fromOurs.bytes).toBeGreaterThan(9_999_000);
    expect(fromOurs.bytes).toBeLessThanOrEqual(9_999_984);
    expect(fromOurs.tail).toMatch(/x\n\[output cut at 9999984 bytes to fit setConsoleOutputMaxMsgSize\(\); \d+ more bytes not sent\]\n$/);
  });
});
