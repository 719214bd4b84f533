/**
 * addDOHLocal's maxConcurrentTCPConnections is the listener's limit for the
 * process, as in dnsdist (test_DOH.py TestDOHFrontendLimits): with
 * data-plane workers each opens the listener on the same port and the
 * kernel spreads the connections over them, but the count is one
 * (workers/shared-process-counts.ts), so the (N+1)th connection is closed
 * at accept whichever worker takes it, and a connection closing in one
 * worker lets the next one in, in either. The frontend's counters show the
 * connections open and the most at once over the process; a refused
 * connection counts in neither, nor in its HTTP connects.
 * setMaxTCPConnectionsPerClient does not apply to DoH in dnsdist 1.7 (its
 * DoH listener never asks the per-client count): here neither.
 * The workers run the built code (dist/): `make` first.
 */
import * as dnsPacket from 'dns-packet';
import { opensslCli } from '../../../../test/support/requirements.js';
import { describeRequires } from '../../../../test/support/require.js';
import { requireBuiltCli } from '../cli/cli-process.js';
import { waitFor } from '../support/dns-client.js';
import { makeCertificate, type TestCertificate } from '../support/doh-clients.js';
import { dohConnectionOutcome, heldDohSession } from '../support/held-connection.js';
import { startProxy, type RunningProxy } from '../support/proxy-harness.js';
import { answerWithA, startUdpTcpBackend, type TestBackend } from '../support/test-backends.js';

const CONFIG = `
-- Over TCP, with patient health checks: on a busy machine a slow check would fail an answer (a 502).
newServer{address="127.0.0.1:\${BACKEND}", tcpOnly=true, checkTimeout=3000, maxCheckFailures=5}
setLocal("127.0.0.1:\${PORT}")
addDOHLocal("127.0.0.1:0", "\${CERT}", "\${KEY}", "/dns-query", {maxConcurrentTCPConnections=2})
setMaxTCPConnectionsPerClient(1)
`;

/** `attempts` new connections, each from its own source port (the kernel spreads them over the workers' sockets). */
async function outcomes(port: number, attempts = 8): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < attempts; i++) seen.push(await dohConnectionOutcome(port));
  return seen;
}

describeRequires('maxConcurrentTCPConnections on addDOHLocal', [opensslCli], () => {
  let backend: TestBackend;
  let certs: TestCertificate;

  beforeAll(async () => {
    requireBuiltCli();
    certs = await makeCertificate('doh.test');
    backend = await startUdpTcpBackend((q) => answerWithA(dnsPacket.decode(q), '192.0.2.7'));
  });

  afterAll(async () => {
    await backend?.close();
    certs?.cleanup();
  });

  describe('with the worker count the suite runs with', () => {
    let proxy: RunningProxy;

    beforeAll(async () => {
      proxy = await startProxy(CONFIG, { BACKEND: backend.port, CERT: certs.cert, KEY: certs.key });
    }, 60_000);

    afterAll(async () => {
      await proxy?.stop();
    });

    it('refuses every connection past the limit and counts only those it accepted, then serves again once one closes', async () => {
      const doh = proxy.app.proxy.dohFrontends[0]!;
      const port = doh.local.port;
      // Two from one client: setMaxTCPConnectionsPerClient(1) is not for DoH.
      const held = [await heldDohSession(port), await heldDohSession(port)];
      try {
        expect(await outcomes(port)).toEqual(Array(8).fill('refused'));
        // With workers the control plane sums their counters a few times a second.
        await waitFor('the open connections counted', () => doh.counters.currentConnections === 2 && doh.counters.httpConnects === 2);
        expect(doh.counters.maxConcurrentConnections).toBe(2);
        held.pop()!.destroy();
        await waitFor('one connection closed', () => doh.counters.currentConnections === 1);
        held.push(await heldDohSession(port));
        await waitFor('the new connection counted', () => doh.counters.httpConnects === 3);
        expect(doh.counters.maxConcurrentConnections).toBe(2);
      } finally {
        for (const s of held) s.destroy();
      }
    }, 60_000);
  });

  describe('with two workers', () => {
    let proxy: RunningProxy;

    beforeAll(async () => {
      proxy = await startProxy(CONFIG, { BACKEND: backend.port, CERT: certs.cert, KEY: certs.key }, { workers: 2 });
    }, 60_000);

    afterAll(async () => {
      await proxy?.stop();
    });

    it('refuses the third connection whichever worker takes it, and a slot freed in one worker is taken in the other', async () => {
      const doh = proxy.app.proxy.dohFrontends[0]!;
      const port = doh.local.port;
      const pool = proxy.app.workers!;
      const total = (): number => pool.status().reduce((n, s) => n + s.queries, 0);
      /** A held connection and the worker that answered its query (the one whose query count moved). */
      const hold = async (): Promise<{ session: Awaited<ReturnType<typeof heldDohSession>>; worker: number }> => {
        const before = pool.status().map((s) => s.queries);
        const session = await heldDohSession(port);
        await waitFor('the query counted', () => total() === before.reduce((a, b) => a + b, 0) + 1);
        return { session, worker: pool.status().findIndex((s, i) => s.queries > before[i]!) };
      };
      const held = [await hold(), await hold()];
      try {
        // Counted once for the process: per worker, one of the workers would have room for these.
        expect(await outcomes(port)).toEqual(Array(8).fill('refused'));
        await waitFor('both counted', () => doh.counters.currentConnections === 2);
        // The most at once is the process's, not one worker's.
        expect(doh.counters.maxConcurrentConnections).toBe(2);
        const freed = held.shift()!;
        freed.session.destroy();
        await waitFor('one connection closed', () => doh.counters.currentConnections === 1);
        // New connections until one lands in the other worker: it gets the slot freed in the first.
        let other: (typeof held)[number] | undefined;
        for (let i = 0; i < 20 && !other; i++) {
          const next = await hold();
          if (next.worker !== freed.worker) other = next;
          else {
            // Seen open, then seen closed: the worker gave its slot back before it published the 1.
            await waitFor('that connection counted', () => doh.counters.currentConnections === 2);
            next.session.destroy();
            await waitFor('that connection closed', () => doh.counters.currentConnections === 1);
          }
        }
        expect(other).toBeDefined();
        held.push(other!);
        expect(await outcomes(port)).toEqual(Array(8).fill('refused'));
      } finally {
        for (const h of held) h.session.destroy();
      }
    }, 90_000);
  });
});
