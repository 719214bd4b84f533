/**
 * What dnsdist's test_TLS.py asks of a DoT listener, with two data-plane
 * workers (each opens the listener with SO_REUSEPORT, so the kernel gives a
 * connection to either): a resumed session is still routed by its SNI
 * (SNIRule, dq:getServerNameIndication()) whichever worker resumes it, and a
 * hundred queries pipelined on one connection before any answer is read are
 * all answered, in order, by a backend that closes its connection after each
 * answer (as the regression suite's responder does). Connections are opened
 * until both workers have answered some. The workers run the built code
 * (dist/): `make` first.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';
import * as dnsPacket from 'dns-packet';
import { opensslCli } from '../../../../test/support/requirements.js';
import { describeRequires } from '../../../../test/support/require.js';
import { requireBuiltCli } from '../cli/cli-process.js';
import { makeCertificate, type TestCertificate } from '../support/doh-clients.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, listenUdpAndTcp } from '../support/test-backends.js';

type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

interface Exchange {
  /** The server resumed the session offered. */
  reused: boolean;
  /** A ticket the server sent on this connection. */
  session: Buffer | undefined;
  /** Each answer's ID and first A record, in the order they came. */
  answers: Array<{ id: number; address: string | undefined }>;
}

function frame(message: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(message.length);
  return Buffer.concat([len, message]);
}

function query(id: number, name: string): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
}

/**
 * One DoT connection: every query written at once after the handshake (no
 * answer waited for), then the answers read until all came or the server
 * closed.
 */
function exchange(port: number, servername: string, version: TlsVersion, queries: Buffer[], session?: Buffer): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      minVersion: version,
      maxVersion: version,
      ...(session ? { session } : {}),
    });
    let got = Buffer.alloc(0);
    let ticket: Buffer | undefined;
    let reused = false;
    const answers: Exchange['answers'] = [];
    sock.setTimeout(15_000, () => sock.destroy(new Error(`${answers.length} of ${queries.length} answers in 15 s on port ${port}`)));
    sock.on('session', (s: Buffer) => (ticket = s));
    sock.on('error', reject);
    sock.on('secureConnect', () => {
      reused = sock.isSessionReused();
      sock.write(Buffer.concat(queries.map(frame)));
    });
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      while (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        const msg = dnsPacket.decode(got.subarray(2, 2 + got.readUInt16BE(0)));
        got = got.subarray(2 + got.readUInt16BE(0));
        const a = msg.answers?.find((r) => r.type === 'A');
        answers.push({ id: msg.id ?? -1, address: a && 'data' in a ? String(a.data) : undefined });
      }
      if (answers.length === queries.length) sock.end();
    });
    sock.on('close', () => resolve({ reused, session: ticket, answers }));
  });
}

describeRequires('DoT with two data-plane workers: SNI after resumption, pipelined queries', [opensslCli], () => {
  let proxy: RunningProxy;
  let certs: TestCertificate;
  let dot: number;
  let backendConnections = 0;
  let closeBackend: () => Promise<void>;

  /** Each worker's query count, once both published what they counted so far. */
  async function perWorker(): Promise<number[]> {
    await new Promise((r) => setTimeout(r, 250)); // two publication intervals: no event reaches the test
    return proxy.app.workers!.status().map((w) => w.queries);
  }

  /** `connect()` in batches until both workers answered queries of some; each batch checked by `check`. */
  async function onBothWorkers(connect: () => Promise<Exchange>, check: (e: Exchange) => void, batch = 8): Promise<void> {
    const before = await perWorker();
    for (let round = 0; round < 12; round++) {
      for (const e of await Promise.all(Array.from({ length: batch }, connect))) check(e);
      const now = await perWorker();
      if (now[0]! > before[0]! && now[1]! > before[1]!) return;
    }
    throw new Error(`${12 * batch} connections did not reach both workers: ${JSON.stringify(await perWorker())}`);
  }

  beforeAll(async () => {
    requireBuiltCli();
    certs = await makeCertificate('sni.test');
    // The regression suite's responder: UDP for the health checks; over TCP one query per
    // connection, answered, then the connection closed.
    const open = new Set<Socket>();
    const backend = await listenUdpAndTcp(
      (socket, msg, rinfo) => socket.send(answerWithA(dnsPacket.decode(msg), '192.0.2.7'), rinfo.port, rinfo.address),
      (socket) => {
        backendConnections++;
        open.add(socket);
        socket.once('close', () => open.delete(socket));
        socket.on('error', () => socket.destroy());
        let buf = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
          socket.end(frame(answerWithA(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))), '192.0.2.7')));
          socket.pause();
        });
      },
    );
    closeBackend = async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => backend.udp.close(() => r()));
      await new Promise<void>((r) => backend.tcp.close(() => r()));
    };
    dot = await freePort();
    proxy = await startProxy(
      `setLocal("127.0.0.1:\${PORT}")
newServer{address="127.0.0.1:${backend.port}"}
addTLSLocal("127.0.0.1:${dot}", "${certs.cert}", "${certs.key}")
addAction(SNIRule("sni.test"), SpoofAction("192.0.2.9"))
addAction(AllRule(), LuaAction(function(dq)
  if dq:getServerNameIndication() == "lua.test" then return DNSAction.Spoof, "192.0.2.10" end
  return DNSAction.None
end))
`,
      {},
      { workers: 2 },
    );
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await closeBackend?.();
    certs?.cleanup();
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`a ${version} session resumed on either worker is still routed by its SNI (SNIRule, dq:getServerNameIndication())`, async () => {
      const one = (servername: string, session?: Buffer): Promise<Exchange> =>
        exchange(dot, servername, version, [query(7, 'sni-resumed.example.')], session);
      const first = await one('sni.test');
      expect(first).toMatchObject({ reused: false, answers: [{ id: 7, address: '192.0.2.9' }] });
      const lua = await one('lua.test');
      expect(lua).toMatchObject({ reused: false, answers: [{ id: 7, address: '192.0.2.10' }] });
      // Another name, on a connection of its own: the backend answers.
      expect(await one('other.test')).toMatchObject({ reused: false, answers: [{ id: 7, address: '192.0.2.7' }] });
      expect(first.session).toBeDefined();
      expect(lua.session).toBeDefined();
      await onBothWorkers(
        () => one('sni.test', first.session),
        (e) => expect(e).toMatchObject({ reused: true, answers: [{ id: 7, address: '192.0.2.9' }] }),
      );
      await onBothWorkers(
        () => one('lua.test', lua.session),
        (e) => expect(e).toMatchObject({ reused: true, answers: [{ id: 7, address: '192.0.2.10' }] }),
      );
    });
  }

  it('answers 100 queries pipelined on one DoT connection, every one in order, in both workers, from a backend closing each connection', async () => {
    const queries = Array.from({ length: 100 }, (_, i) => query(i + 1, `p${i}.pipelining.example.`));
    const connectionsBefore = backendConnections;
    let answered = 0;
    await onBothWorkers(
      () => exchange(dot, 'tls.test', 'TLSv1.3', queries),
      (e) => {
        expect(e.answers).toEqual(queries.map((_, i) => ({ id: i + 1, address: '192.0.2.7' })));
        answered += e.answers.length;
      },
      2,
    );
    // Every query went to the backend on a connection of its own (the backend closes each).
    expect(backendConnections - connectionsBefore).toBeGreaterThanOrEqual(answered);
  }, 60_000);
});
