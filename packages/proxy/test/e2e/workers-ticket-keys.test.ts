/**
 * TLS session ticket keys with two data-plane workers: the control plane
 * makes and rotates them (by time, or rotateTicketsKey() at the console) and
 * gives them to both workers (workers/worker-keys.ts), so a session a client
 * got from one worker resumes on the other. Node's TLS client keeps the
 * session of a first connection and offers it on new connections, each with
 * a DNS query (DoT, or DoH over HTTP/1.1), until both workers have answered
 * resumed ones. The workers run the built code (dist/): `make` first.
 */
import tls from 'node:tls';
import { opensslCli } from '../../../../test/support/requirements.js';
import { describeRequires } from '../../../../test/support/require.js';
import { requireBuiltCli } from '../cli/cli-process.js';
import { encodeQuery, waitFor } from '../support/dns-client.js';
import { dnsParam, makeCertificate, type TestCertificate } from '../support/doh-clients.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';

interface Exchange {
  /** The server resumed the session offered. */
  reused: boolean;
  /** A ticket the server sent on this connection, to resume with later. */
  session: Buffer | undefined;
  /** The query got its answer. */
  answered: boolean;
}

/** One TLS connection with one query: DoT (length-prefixed) or DoH (an HTTP/1.1 GET). */
function exchange(port: number, kind: 'dot' | 'doh', session?: Buffer): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      servername: 'doh.test',
      ...(kind === 'doh' ? { ALPNProtocols: ['http/1.1'] } : {}),
      ...(session ? { session } : {}),
    });
    let got = Buffer.alloc(0);
    let ticket: Buffer | undefined;
    let reused = false;
    sock.setTimeout(10_000, () => sock.destroy(new Error(`no answer on ${kind} port ${port}`)));
    sock.on('session', (s: Buffer) => (ticket = s));
    sock.on('error', reject);
    sock.on('secureConnect', () => {
      reused = sock.isSessionReused();
      const q = encodeQuery('resume.example.');
      if (kind === 'dot') {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(q.length);
        sock.write(Buffer.concat([len, q]));
      } else sock.write(`GET /dns-query?dns=${dnsParam(q)} HTTP/1.1\r\nHost: doh.test\r\nConnection: close\r\n\r\n`);
    });
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (kind === 'dot' && got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) sock.end();
    });
    sock.on('close', () =>
      resolve({
        reused,
        session: ticket,
        answered: kind === 'dot' ? got.length > 2 : got.toString('latin1').startsWith('HTTP/1.1 200'),
      }),
    );
  });
}

describeRequires('TLS session ticket keys shared by two data-plane workers', [opensslCli], () => {
  let proxy: RunningProxy;
  let certs: TestCertificate;
  let dot: number;
  let dotRotating: number;
  let doh: number;
  const run = (line: string): Promise<string> => proxy.app.runConsoleCommandSliced(line);

  /** The queries each worker counted, read at once (workers/live-counters.ts). */
  function perWorker(): Promise<number[]> {
    return Promise.resolve(proxy.app.workers!.status().map((w) => w.queries));
  }

  /** A fresh session: a first full handshake, whichever worker takes it. */
  async function freshSession(port: number, kind: 'dot' | 'doh'): Promise<Buffer> {
    const first = await exchange(port, kind);
    expect(first.answered).toBe(true);
    expect(first.session).toBeDefined();
    return first.session!;
  }

  /** New connections offering `session`, in batches, until both workers answered some: every one must resume (or none, `resumes` false). */
  async function resumesOnBothWorkers(port: number, kind: 'dot' | 'doh', session: Buffer, resumes = true): Promise<void> {
    const before = await perWorker();
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(Array.from({ length: 12 }, () => exchange(port, kind, session)));
      expect(results.map((r) => [r.reused, r.answered])).toEqual(Array(12).fill([resumes, true]));
      const now = await perWorker();
      if (now[0]! > before[0]! && now[1]! > before[1]!) return;
    }
    throw new Error(`120 ${kind} connections did not reach both workers: ${JSON.stringify(await perWorker())}`);
  }

  beforeAll(async () => {
    requireBuiltCli();
    certs = await makeCertificate('doh.test');
    [dot, dotRotating, doh] = [await freePort(), await freePort(), await freePort()];
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
addTLSLocal("127.0.0.1:${dot}", "${certs.cert}", "${certs.key}")
-- Rotated every second by the control plane (five keys kept): each worker would otherwise rotate its own.
addTLSLocal("127.0.0.1:${dotRotating}", "${certs.cert}", "${certs.key}", {ticketsKeysRotationDelay=1})
addDOHLocal("127.0.0.1:${doh}", "${certs.cert}", "${certs.key}", "/dns-query")
addAction(AllRule(), SpoofAction("192.0.2.9"))
`,
      {},
      { workers: 2 },
    );
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    certs?.cleanup();
  });

  it('a DoT session from one worker resumes on both', async () => {
    await resumesOnBothWorkers(dot, 'dot', await freshSession(dot, 'dot'));
    const tlsCounters = proxy.app.proxy.tlsFrontends[0]!.tls.counters;
    await waitFor('the resumptions summed', () => tlsCounters.resumptions >= 2);
  });

  it('a DoH session from one worker resumes on both', async () => {
    await resumesOnBothWorkers(doh, 'doh', await freshSession(doh, 'doh'));
  });

  it('after rotateTicketsKey() at the console, new sessions resume on both workers, and DoT sessions of the previous key too', async () => {
    const old = await freshSession(dot, 'dot');
    expect(await run('getTLSContext(0):rotateTicketsKey()')).toBe('');
    expect(await run('getDOHFrontend(0):rotateTicketsKey()')).toBe('');
    await resumesOnBothWorkers(dot, 'dot', await freshSession(dot, 'dot'));
    await resumesOnBothWorkers(dot, 'dot', old);
    await resumesOnBothWorkers(doh, 'doh', await freshSession(doh, 'doh'));
  });

  it('a DoH session resumes on both workers after rotateTicketsKey(), and on neither once five rotations (numberOfTicketsKeys) pushed its key out', async () => {
    const old = await freshSession(doh, 'doh');
    expect(await run('getDOHFrontend(0):rotateTicketsKey()')).toBe('');
    await resumesOnBothWorkers(doh, 'doh', old);
    for (let i = 0; i < 4; i++) expect(await run('getDOHFrontend(0):rotateTicketsKey()')).toBe('');
    expect(await run('getDOHFrontend(0):getTLSContext():getTicketsKeysCount()')).toBe('5\n');
    await resumesOnBothWorkers(doh, 'doh', old, false);
    // The workers' counts of both kinds of ticket, summed in the control plane.
    const ring = proxy.app.proxy.dohFrontends[0]!.ticketKeys;
    await waitFor('the ticket key counters summed', () => ring.inactiveTicketKeys >= 12 && ring.unknownTicketKeys >= 12);
  });

  it('keys rotated by time in the control plane reach both workers, which never rotate on their own', async () => {
    const ring = proxy.app.proxy.tlsFrontendConfigs[1]!.tls.ticketKeys;
    const first = ring.export()[0]!.toString('hex');
    await waitFor('a rotation by time', () => ring.export()[0]!.toString('hex') !== first, 5000);
    await resumesOnBothWorkers(dotRotating, 'dot', await freshSession(dotRotating, 'dot'));
  });
});
