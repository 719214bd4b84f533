import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import {
  ConsoleClient,
  ConsoleConnectionError,
  ConsoleFrameTooLargeError,
  ConsoleKeyError,
  ConsoleServer,
  makeKey,
  parseConsoleKey,
  type ConsoleRunner,
} from '@dnsdist-ts/console/console/index.js';

const keyText = makeKey();
const key = parseConsoleKey(keyText);
const echo: ConsoleRunner = async (line) => (line === 'big()' ? 'z'.repeat(2000) : `you said: ${line}\n`);

/** Everything written to a stream, with a way to wait until some text has shown up. */
class Collector extends PassThrough {
  text = '';
  readonly #waiters: { needle: string; resolve: () => void }[] = [];

  constructor() {
    super();
    this.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('utf8');
      for (const w of [...this.#waiters]) {
        if (this.text.includes(w.needle)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  }

  waitFor(needle: string): Promise<void> {
    if (this.text.includes(needle)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ needle, resolve }));
  }
}

describe('ConsoleClient', () => {
  let server: ConsoleServer;
  const clients: ConsoleClient[] = [];
  const options = () => ({ host: '127.0.0.1', port: server.localPort, key: keyText });

  beforeEach(async () => {
    server = await ConsoleServer.listen({ address: '127.0.0.1:0', key, runner: echo });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });
  async function connect(): Promise<ConsoleClient> {
    const c = await ConsoleClient.connect(options());
    clients.push(c);
    return c;
  }

  it('runOnce writes the reply as it is and disconnects', async () => {
    const out = new Collector();
    const reply = await ConsoleClient.runOnce(options(), 'showServers()', out);
    expect(reply).toBe('you said: showServers()\n');
    expect(out.text).toBe('you said: showServers()\n');
  });

  it('runInteractive sends each line, skips empty ones, maps help, stops at quit', async () => {
    const c = await connect();
    const input = new PassThrough();
    const out = new Collector();
    input.end('first\n\nhelp\n?\nsecond\nquit\nnever sent\n');
    expect(await c.runInteractive(input, out)).toBe('quit');
    expect(out.text).toBe('you said: first\nyou said: help()\nyou said: help()\nyou said: second\n');
    // The session stays usable after quit: the caller owns the connection.
    expect(await c.run('after')).toBe('you said: after\n');
  });

  it('runInteractive prompts when asked and returns on end of input', async () => {
    const c = await connect();
    const input = new PassThrough();
    const out = new Collector();
    input.end('a\r\nb');
    expect(await c.runInteractive(input, out, { prompt: '> ' })).toBe('eof');
    expect(out.text).toBe('> you said: a\n> you said: b\n> ');
  });

  it('runInteractive reports the server hanging up', async () => {
    const c = await connect();
    const input = new PassThrough();
    const out = new Collector();
    const session = c.runInteractive(input, out);
    input.write('one\n');
    await out.waitFor('you said: one\n');
    await server.close();
    input.write('two\n');
    expect(await session).toBe('closed');
    expect(out.text).toBe('you said: one\nConnection closed by the server.\n');
    input.end();
  });

  it('refuses replies over its maximum message size', async () => {
    const c = await ConsoleClient.connect({ ...options(), maxMessageSize: 1000 });
    clients.push(c);
    expect(await c.run('small')).toBe('you said: small\n');
    await expect(c.run('big()')).rejects.toThrow(ConsoleFrameTooLargeError);
    await expect(c.run('small')).rejects.toThrow(ConsoleFrameTooLargeError);
  });

  it('rejects a malformed key before connecting', async () => {
    await expect(ConsoleClient.connect({ ...options(), key: 'c2hvcnQ=' })).rejects.toThrow(ConsoleKeyError);
  });

  it('says when nothing listens', async () => {
    const port = server.localPort;
    await server.close();
    let caught: unknown;
    try {
      await ConsoleClient.connect({ host: '127.0.0.1', port, key: keyText });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConsoleConnectionError);
    expect(caught).toMatchObject({ failure: 'connect', address: `127.0.0.1:${port}` });
    expect((caught as Error).message).toContain('ECONNREFUSED');
  });

  it('gives up on a server that never answers the nonce', async () => {
    const sockets: Socket[] = [];
    const mute: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    try {
      const port = (mute.address() as { port: number }).port;
      await expect(ConsoleClient.connect({ host: '127.0.0.1', port, key: keyText, connectTimeoutMs: 200 })).rejects.toMatchObject({
        failure: 'handshake',
      });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
    }
  });

  it('fails calls made after close()', async () => {
    const c = await connect();
    await c.close();
    await expect(c.run('x')).rejects.toMatchObject({ failure: 'closed' });
    await expect(c.ping()).rejects.toMatchObject({ failure: 'closed' });
  });
});
