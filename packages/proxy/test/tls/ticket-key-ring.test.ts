/**
 * Session tickets issued through TicketKeyRing, the OpenSSL ticket callback
 * of a TlsServerContext: real handshakes (Node's OpenSSL on both ends, TLS
 * 1.2 so each handshake yields exactly one ticket, whose bytes are
 * key name | IV | encrypted state).
 */
import net from 'node:net';
import tls from 'node:tls';
import { defaultTlsServerSettings } from '@dnsdist-ts/dataplane/tls/tls-server-settings.js';
import { TlsServerContext } from '@dnsdist-ts/dataplane/tls/tls-server-context.js';
import { makeTestPki, type TestPki } from '../../../../test/support/tls-certificates.js';

describe('TicketKeyRing through a TLS server context', () => {
  let pki: TestPki;
  let server: net.Server;
  let port: number;

  beforeAll(async () => {
    pki = makeTestPki();
    const leaf = pki.issue('tickets.test', ['tickets.test']);
    const context = new TlsServerContext(defaultTlsServerSettings([{ certFile: leaf.chain, keyFile: leaf.key }]));
    // As the DoT frontend wraps its accepted sockets (tls.Server would build its own context).
    server = net.createServer((raw) => {
      const s = new tls.TLSSocket(raw, { isServer: true, secureContext: context.secureContext });
      s.on('error', () => s.destroy());
      s.on('secure', () => s.end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    pki?.remove();
  });

  /** One full TLS 1.2 handshake: the ticket it was given and the session to resume. */
  function handshake(): Promise<{ ticket: Buffer; session: Buffer }> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
      s.once('error', reject);
      s.once('session', (session: Buffer) => {
        const ticket = s.getTLSTicket();
        s.destroy();
        if (ticket) resolve({ ticket, session });
        else reject(new Error('no ticket issued'));
      });
    });
  }

  /** Whether a handshake offering `session` resumed it. */
  function resumes(session: Buffer): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2', session });
      s.once('error', reject);
      s.once('secureConnect', () => {
        resolve(s.isSessionReused());
        s.destroy();
      });
    });
  }

  it('gives every new ticket its own IV, past the first batch of random IVs, and each ticket resumes', async () => {
    const ivs = new Set<string>();
    let last: Buffer | undefined;
    // 300 tickets: more than one 256-IV block, so a refill is crossed.
    for (let i = 0; i < 300; i++) {
      const { ticket, session } = await handshake();
      ivs.add(ticket.subarray(16, 32).toString('hex'));
      last = session;
    }
    expect(ivs.size).toBe(300);
    expect(await resumes(last!)).toBe(true);
  }, 60_000);
});
