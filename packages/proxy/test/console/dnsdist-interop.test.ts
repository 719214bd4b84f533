import {
  ConsoleClient,
  ConsoleConnectionError,
  ConsoleKeyMismatchError,
  ConsoleServer,
  isValidConsoleKey,
  makeKey,
  parseConsoleKey,
  type ConsoleRunner,
} from '@dnsdist-ts/console/console/index.js';
import { describeDnsdist } from '../../../../test/support/dnsdist.js';
import { LogRecorder } from './log-recorder.js';
import { freePort, runDnsdistClient, startDnsdist, type RunningDnsdist } from './dnsdist-process.js';

describeDnsdist('console interoperability', () => {
  describe('our client against dnsdist', () => {
    const keyText = makeKey();
    let dnsdist: RunningDnsdist;
    let consolePort: number;
    const clients: ConsoleClient[] = [];

    beforeAll(async () => {
      const dnsPort = await freePort();
      consolePort = await freePort();
      dnsdist = await startDnsdist(
        [`setLocal("127.0.0.1:${dnsPort}")`, `controlSocket("127.0.0.1:${consolePort}")`, `setKey("${keyText}")`].join('\n'),
        consolePort,
      );
    });
    afterAll(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await dnsdist?.stop();
    });

    async function connect(key = keyText): Promise<ConsoleClient> {
      const c = await ConsoleClient.connect({ host: '127.0.0.1', port: consolePort, key });
      clients.push(c);
      return c;
    }

    it('runs commands the way dnsdist answers them', async () => {
      const c = await connect();
      expect(await c.run('showVersion()')).toMatch(/^dnsdist 1\.7\.\d+\n$/);
      expect(await c.run('1+1')).toBe('2\n');
      expect(await c.run('"é✓"')).toBe('é✓\n');
      // Statements (no value) come back as an empty sealed reply.
      expect(await c.run('x = 41')).toBe('');
      expect(await c.run('x + 1')).toBe('42\n');
    });

    it('returns dnsdist errors as text', async () => {
      const c = await connect();
      const reply = await c.run('nosuchfunction()');
      expect(reply).toMatch(/^Error: .*nosuchfunction/);
      // The session carries on after an error: nonces stayed in step.
      expect(await c.run('2*3')).toBe('6\n');
    });

    it('gets a key from makeKey() that our parser accepts', async () => {
      const c = await connect();
      const line = await c.run('makeKey()');
      const m = /^setKey\("([^"]+)"\)\n$/.exec(line);
      expect(m).not.toBeNull();
      expect(isValidConsoleKey(m![1]!)).toBe(true);
      expect(parseConsoleKey(m![1]!).length).toBe(32);
    });

    it('pings dnsdist with a zero-length frame', async () => {
      const c = await connect();
      await c.ping();
      expect(await c.run('3+4')).toBe('7\n');
    });

    it('runs overlapping commands in order', async () => {
      const c = await connect();
      expect(await Promise.all([1, 2, 3, 4, 5].map((n) => c.run(`${n}*10`)))).toEqual(['10\n', '20\n', '30\n', '40\n', '50\n']);
    });

    it('detects a wrong key', async () => {
      await expect(connect(makeKey())).rejects.toThrow(ConsoleKeyMismatchError);
      // dnsdist is unharmed.
      expect(await (await connect()).run('1')).toBe('1\n');
    });

    it('reports being turned away by the console ACL during the handshake', async () => {
      const c = await connect();
      await c.run('setConsoleACL({"192.0.2.0/24"})');
      try {
        let caught: unknown;
        try {
          await connect();
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(ConsoleConnectionError);
        expect(caught).toMatchObject({ failure: 'handshake' });
      } finally {
        // The established session still works and can undo it.
        await c.run('setConsoleACL({"127.0.0.0/8", "::1/128"})');
      }
      expect(await (await connect()).run('5')).toBe('5\n');
    });
  });

  describe("dnsdist's client against our server", () => {
    const keyText = makeKey();
    const seen: string[] = [];
    const runner: ConsoleRunner = async (line) => {
      seen.push(line);
      if (line === 'showVersion()') return 'dnsdist-ts interop\n';
      if (line === 'silent()') return '';
      if (line === 'boom()') throw new Error('kaboom');
      return `echo: ${line}\n`;
    };
    let server: ConsoleServer;
    const clientConfig = (key: string) => `controlSocket("127.0.0.1:${server.localPort}")\nsetKey("${key}")\n`;

    beforeAll(async () => {
      server = await ConsoleServer.listen({ address: '127.0.0.1:0', key: parseConsoleKey(keyText), runner });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('prints our reply', async () => {
      const r = await runDnsdistClient(clientConfig(keyText), 'showVersion()');
      expect(r.stdout).toBe('dnsdist-ts interop\n');
      expect(r.stderr).toBe('');
      // dnsdist's empty key check was answered without reaching the runner.
      expect(seen).toEqual(['showVersion()']);
    });

    it('passes the command through untouched and prints non-ASCII replies', async () => {
      const r = await runDnsdistClient(clientConfig(keyText), 'addAction(AllRule(), DropAction()) -- é✓');
      expect(r.stdout).toBe('echo: addAction(AllRule(), DropAction()) -- é✓\n');
    });

    it('prints nothing for an empty reply', async () => {
      const r = await runDnsdistClient(clientConfig(keyText), 'silent()');
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('');
    });

    it('prints a runner failure as an error reply', async () => {
      const r = await runDnsdistClient(clientConfig(keyText), 'boom()');
      expect(r.stdout).toBe('Error: kaboom\n');
    });

    it("keeps one session for dnsdist's interactive client", async () => {
      const log = new LogRecorder();
      const logged = await ConsoleServer.listen({ address: '127.0.0.1:0', key: parseConsoleKey(keyText), runner, log: log.log });
      try {
        const config = `controlSocket("127.0.0.1:${logged.localPort}")\nsetKey("${keyText}")\n`;
        const r = await runDnsdistClient(config, undefined, 'first\nsilent()\n\nsecond\nquit\nnever\n');
        expect(r.stdout).toBe('echo: first\necho: second\n');
        expect(log.count(/Got control connection/)).toBe(1);
      } finally {
        await logged.close();
      }
    });

    it('makes dnsdist report a key mismatch when its key differs', async () => {
      const r = await runDnsdistClient(clientConfig(makeKey()), 'showVersion()');
      expect(r.stdout).toContain('Connection closed by the server.');
      expect(r.stderr).toContain('key mismatch');
      expect(server.connectionCount).toBe(0);
    });
  });
});
