import { NetmaskGroup } from '@dnsdist-ts/dns';
import {
  ConsoleClient,
  ConsoleConnectionError,
  ConsoleKeyMismatchError,
  ConsoleServer,
  CONSOLE_MAC_BYTES,
  encodeConsoleFrame,
  makeKey,
  parseConsoleKey,
  type ConsoleServerOptions,
} from '@dnsdist-ts/console/console/index.js';
import { LogRecorder } from './log-recorder.js';
import { RawConsolePeer } from './raw-console-peer.js';

const keyText = makeKey();
const key = parseConsoleKey(keyText);

/** Replies the way dnsdist's console does for a few commands; anything else echoes. */
const tableRunner = async (line: string): Promise<string> => {
  if (line === 'showVersion()') return 'dnsdist-ts test\n';
  if (line === 'silent()') return '';
  if (line === 'fail()') throw new Error('the runner broke');
  return `you said: ${line}\n`;
};

describe('ConsoleServer with ConsoleClient', () => {
  const servers: ConsoleServer[] = [];
  const clients: ConsoleClient[] = [];
  const peers: RawConsolePeer[] = [];

  async function start(options: Partial<ConsoleServerOptions> = {}): Promise<ConsoleServer> {
    const server = await ConsoleServer.listen({ address: '127.0.0.1:0', key, runner: tableRunner, ...options });
    servers.push(server);
    return server;
  }
  async function client(server: ConsoleServer, over: { key?: Uint8Array | string; host?: string } = {}): Promise<ConsoleClient> {
    const c = await ConsoleClient.connect({ host: over.host ?? '127.0.0.1', port: server.localPort, key: over.key ?? keyText });
    clients.push(c);
    return c;
  }
  async function raw(server: ConsoleServer, host = '127.0.0.1'): Promise<RawConsolePeer> {
    const p = await RawConsolePeer.connect(server.localPort, host);
    peers.push(p);
    return p;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(peers.splice(0).map((p) => p.destroy()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('runs commands and returns the runner replies, in order', async () => {
    const seen: string[] = [];
    const server = await start({
      runner: async (line) => {
        seen.push(line);
        return tableRunner(line);
      },
    });
    const c = await client(server);
    expect(await c.run('showVersion()')).toBe('dnsdist-ts test\n');
    expect(await c.run('1+1')).toBe('you said: 1+1\n');
    // Overlapping calls are answered in the order they were sent.
    const replies = await Promise.all(['a', 'b', 'c', 'd'].map((x) => c.run(x)));
    expect(replies).toEqual(['you said: a\n', 'you said: b\n', 'you said: c\n', 'you said: d\n']);
    expect(seen).toEqual(['showVersion()', '1+1', 'a', 'b', 'c', 'd']);
  });

  it('carries non-ASCII text both ways', async () => {
    const server = await start();
    const c = await client(server);
    expect(await c.run('print("é✓ 😀")')).toBe('you said: print("é✓ 😀")\n');
  });

  it('accepts the key as raw bytes too', async () => {
    const server = await start();
    const c = await client(server, { key });
    expect(await c.run('x')).toBe('you said: x\n');
  });

  it('sends an empty reply as a sealed 16-byte frame, and answers an empty command without the runner', async () => {
    const lines: string[] = [];
    const server = await start({
      runner: async (line) => {
        lines.push(line);
        return tableRunner(line);
      },
    });
    const c = await client(server);
    expect(await c.run('silent()')).toBe('');

    const p = await raw(server);
    const cipher = await p.handshake(key);
    p.write(encodeConsoleFrame(cipher.seal('silent()')));
    const frame = await p.nextFrame();
    expect(frame.length).toBe(CONSOLE_MAC_BYTES);
    expect(cipher.open(frame)).toBe('');
    p.write(encodeConsoleFrame(cipher.seal('')));
    expect(cipher.open(await p.nextFrame())).toBe('');
    // The connection-time key check (an empty command) never reached the runner.
    expect(lines).toEqual(['silent()', 'silent()']);
  });

  it('answers a zero-length ping with a zero-length frame and leaves the nonces alone', async () => {
    const server = await start();
    const c = await client(server);
    await c.ping();
    await c.ping();
    expect(await c.run('after pings')).toBe('you said: after pings\n');

    const p = await raw(server);
    const cipher = await p.handshake(key);
    p.write(Buffer.alloc(4));
    expect((await p.nextFrame()).length).toBe(0);
    expect(p.receivedBytes).toBe(24 + 4);
    p.write(encodeConsoleFrame(cipher.seal('still in step')));
    expect(cipher.open(await p.nextFrame())).toBe('you said: still in step\n');
  });

  it('answers a runner failure with "Error: …" and keeps the connection', async () => {
    const log = new LogRecorder();
    const server = await start({ log: log.log });
    const c = await client(server);
    expect(await c.run('fail()')).toBe('Error: the runner broke\n');
    expect(await c.run('ok')).toBe('you said: ok\n');
    expect(log.count(/failed: the runner broke/)).toBe(1);
  });

  it('rejects a client with another key: the client says so and the server hangs up', async () => {
    const log = new LogRecorder();
    const server = await start({ log: log.log });
    const attempt = ConsoleClient.connect({ host: '127.0.0.1', port: server.localPort, key: makeKey() });
    await expect(attempt).rejects.toThrow(ConsoleKeyMismatchError);
    await expect(attempt).rejects.toThrow("the console key does not match the server's; check setKey/-k");
    await log.waitFor(/Closed control connection/);
    expect(log.count(/did not decrypt/)).toBe(1);
    expect(server.connectionCount).toBe(0);

    // A raw peer with the wrong key sees the connection closed without an answer.
    const p = await raw(server);
    const cipher = await p.handshake(Buffer.alloc(32, 9));
    p.write(encodeConsoleFrame(cipher.seal('showVersion()')));
    await p.closed;
    expect(p.receivedBytes).toBe(24);
  });

  it('refuses peers outside the console ACL, and applies ACL changes to later connections', async () => {
    const log = new LogRecorder();
    const server = await start({ acl: new NetmaskGroup().addMask('192.0.2.0/24'), log: log.log });
    let caught: unknown;
    try {
      await client(server);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConsoleConnectionError);
    expect(caught).toMatchObject({ failure: 'handshake' });
    expect((caught as Error).message).toContain('console ACL');
    expect(log.count(/dropped because of the console ACL/)).toBe(1);

    const p = await raw(server);
    await p.closed;
    expect(p.receivedBytes).toBe(0);

    server.acl = new NetmaskGroup().addMask('127.0.0.1/32');
    expect(await (await client(server)).run('now')).toBe('you said: now\n');
  });

  it('listens on IPv6 with the default ACL allowing ::1', async () => {
    const server = await start({ address: '[::1]:0' });
    expect(server.localAddress).toBe(`[::1]:${server.localPort}`);
    const c = await client(server, { host: '::1' });
    expect(await c.run('v6')).toBe('you said: v6\n');
  });

  it('refuses connections beyond the limit and accepts again once one closes', async () => {
    const log = new LogRecorder();
    const server = await start({ maxConcurrentConnections: 2, log: log.log });
    const first = await client(server);
    await client(server);
    expect(server.connectionCount).toBe(2);
    await expect(client(server)).rejects.toMatchObject({ failure: 'handshake' });
    expect(log.count(/maximum of 2 concurrent console connections/)).toBe(1);

    await first.close();
    await log.waitFor(/Closed control connection/);
    expect(await (await client(server)).run('third')).toBe('you said: third\n');
  });

  it('refuses every connection while no key is configured', async () => {
    const log = new LogRecorder();
    const server = await start({ key: undefined, log: log.log });
    await expect(client(server)).rejects.toMatchObject({ failure: 'handshake' });
    expect(log.count(/no valid console key/)).toBe(1);
    server.key = key;
    expect(await (await client(server)).run('keyed')).toBe('you said: keyed\n');
  });

  it('keeps established sessions on their key when the key changes', async () => {
    const server = await start();
    const before = await client(server);
    const newKey = makeKey();
    server.key = parseConsoleKey(newKey);
    expect(await before.run('old session')).toBe('you said: old session\n');
    await expect(client(server)).rejects.toThrow(ConsoleKeyMismatchError);
    expect(await (await client(server, { key: newKey })).run('new session')).toBe('you said: new session\n');
  });

  it('closes a connection whose frame is over the maximum message size', async () => {
    const log = new LogRecorder();
    const server = await start({ maxMessageSize: 1000, log: log.log });
    const c = await client(server);
    // Sealed size = text + 16: exactly the limit passes, one byte more closes.
    const fits = 'x'.repeat(1000 - CONSOLE_MAC_BYTES);
    // The echo is longer than the limit: the reply is cut to fit, and says so.
    const reply = await c.run(fits);
    expect(Buffer.byteLength(reply) + CONSOLE_MAC_BYTES).toBeLessThanOrEqual(1000);
    expect(reply).toMatch(/^you said: x+\n\[output cut at 984 bytes to fit setConsoleOutputMaxMsgSize\(\); \d+ more bytes not sent\]\n$/);
    await expect(c.run(`${fits}y`)).rejects.toMatchObject({ failure: 'closed' });
    expect(log.count(/announces 1001 bytes, over the maximum of 1000/)).toBe(1);

    // The header alone is enough: the server does not wait for the body.
    const p = await raw(server);
    await p.handshake(key);
    p.write(Buffer.from([0x7f, 0xff, 0xff, 0xff]));
    await p.closed;
  });

  it('cuts a reply longer than the maximum message size so that its frame fits, whatever the runner returns', async () => {
    const server = await start({ maxMessageSize: 5000, runner: async () => 'é'.repeat(10_000) });
    const p = await raw(server);
    const cipher = await p.handshake(key);
    p.write(encodeConsoleFrame(cipher.seal('anything')));
    const frame = await p.nextFrame();
    expect(frame.length).toBeLessThanOrEqual(5000);
    const reply = cipher.open(frame);
    expect(reply).toMatch(/^é+\n\[output cut at 4984 bytes to fit setConsoleOutputMaxMsgSize\(\); \d+ more bytes not sent\]\n$/);
    expect(reply).not.toContain('\uFFFD');
  });

  it('closes connections that do not finish the handshake in time, freeing their slots', async () => {
    const log = new LogRecorder();
    // 2 s: long enough that the slots are still all taken when the extra operator knocks, even on a loaded machine.
    const server = await start({ maxConcurrentConnections: 101, handshakeTimeoutMs: 2000, log: log.log });
    // A session that finished its handshake is never subject to the deadline, however idle.
    const operator = await client(server);
    // 100 connections that never finish: silent, half a nonce, or a whole nonce and nothing sealed (a ping does not count).
    const stuck = await Promise.all(Array.from({ length: 100 }, () => raw(server)));
    stuck.forEach((p, i) => {
      if (i % 3 === 1) p.write(Buffer.alloc(10));
      if (i % 3 === 2) p.write(Buffer.concat([Buffer.alloc(24), Buffer.alloc(4)]));
    });
    await log.waitFor(/Got control connection/, 101);
    // Every slot is taken: another operator is turned away during the handshake.
    await expect(client(server)).rejects.toMatchObject({ failure: 'handshake' });

    await Promise.all(stuck.map((p) => p.closed));
    expect(log.count(/closed: no handshake within 2000 ms/)).toBe(100);
    expect(await operator.run('still here')).toBe('you said: still here\n');
    expect(await (await client(server)).run('got in')).toBe('you said: got in\n');
  });

  it('survives garbage, truncated frames and abrupt disconnects, and keeps serving others', async () => {
    const log = new LogRecorder();
    const server = await start({ log: log.log });
    const steady = await client(server);

    // Random bytes from the first byte on.
    const garbage = await raw(server);
    garbage.write(Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 131 + 7) & 0xff)));
    await garbage.closed;

    // A well-formed frame whose contents are not a sealed message.
    const bogus = await raw(server);
    await bogus.handshake(key);
    bogus.write(encodeConsoleFrame(Buffer.from('this is not sealed at all')));
    await bogus.closed;

    // Half a nonce, then gone.
    const halfNonce = await raw(server);
    halfNonce.write(Buffer.alloc(10));
    await halfNonce.destroy();

    // A frame cut short by the peer shutting its side.
    const truncated = await raw(server);
    await truncated.handshake(key);
    truncated.write(Buffer.from([0, 0, 0, 100, 1, 2, 3]));
    truncated.socket.end();
    await truncated.closed;

    expect(await steady.run('still here')).toBe('you said: still here\n');
    await log.waitFor(/Closed control connection/, 4);
  });

  it('does not crash when the client disappears while its command runs', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const log = new LogRecorder();
    const server = await start({
      log: log.log,
      runner: async (line) => {
        if (line === 'slow()') {
          started();
          await released;
        }
        return tableRunner(line);
      },
    });
    const p = await raw(server);
    const cipher = await p.handshake(key);
    p.write(encodeConsoleFrame(cipher.seal('slow()')));
    await running;
    await p.destroy();
    // The server stops reading while a command runs, so it notices the
    // departure once the command is done and its reply has nowhere to go.
    release();
    await log.waitFor(/Closed control connection/);
    expect(await (await client(server)).run('next')).toBe('you said: next\n');
  });

  it('still answers a command sent just before the client shuts its sending side', async () => {
    const server = await start();
    const p = await raw(server);
    const cipher = await p.handshake(key);
    p.write(encodeConsoleFrame(cipher.seal('last words')));
    p.socket.end();
    expect(cipher.open(await p.nextFrame())).toBe('you said: last words\n');
    await p.closed;
  });

  it('close() drops live sessions, waits for their sockets and is idempotent', async () => {
    const server = await start();
    const a = await client(server);
    const p = await raw(server);
    await p.handshake(key);
    expect(server.connectionCount).toBe(2);
    await Promise.all([server.close(), server.close()]);
    await p.closed;
    await expect(a.run('anyone?')).rejects.toMatchObject({ failure: 'closed' });
    await expect(ConsoleClient.connect({ host: '127.0.0.1', port: server.localPort, key })).rejects.toMatchObject({
      failure: 'connect',
    });
  });

  it('fails to listen on a malformed address or a port in use', async () => {
    await expect(ConsoleServer.listen({ address: '127.0.0.1:99999', key, runner: tableRunner })).rejects.toThrow(
      /controlSocket: .*invalid port/,
    );
    const server = await start();
    await expect(ConsoleServer.listen({ address: server.localAddress, key, runner: tableRunner })).rejects.toThrow(/EADDRINUSE/);
  });
});
