/**
 * A health check to a DoH backend, as dnsdist 1.7 makes it: the check query
 * POSTed on a connection of its own (counted in tcpNewConnections), opening
 * with a LOCAL proxy protocol header when the backend expects one, closed
 * once the answer is in. No X-Forwarded-* headers: there is no client.
 */
import { makeLocalProxyProtocolHeader } from '@dnsdist-ts/dns';
import { connectDoh, dohAuthority, dohRequestHeaders } from './doh-backend-pool.js';
import type { DownstreamServer } from './downstream-server.js';
import { checkAnswerIsHealthy } from './health-check.js';
import { settleCheckOnce } from './health-check-outcome.js';

export function checkOverDoh(server: DownstreamServer, query: Buffer): Promise<boolean> {
  const config = server.config;
  const tlsCtx = config.tls;
  return new Promise((resolve) => {
    const preface = config.useProxyProtocol === true ? makeLocalProxyProtocolHeader() : undefined;
    const { session, socket } = connectDoh(config.address, tlsCtx, preface);
    server.counters.tcpNewConnections++;
    let secured = false;
    const finish = settleCheckOnce(config.checkTimeout, () => session.destroy(), resolve);
    socket.once(tlsCtx !== undefined ? 'secureConnect' : 'connect', () => {
      secured = true;
      server.lastCheckFailure = undefined;
    });
    session.on('error', (err: NodeJS.ErrnoException) => {
      // Kept for the log line that marks the backend down: a certificate that fails its check says why.
      if (!secured && tlsCtx !== undefined) server.lastCheckFailure = `TLS connection failed: ${tlsCtx.describeFailure(err)}`;
      else if (!secured) server.lastCheckFailure = `DoH connection failed: ${err.message}`;
      finish(false);
    });
    session.on('close', () => finish(false));
    let stream;
    try {
      stream = session.request(
        dohRequestHeaders(dohAuthority(config), config.doh!.path, query.length, tlsCtx !== undefined ? 'https' : 'http', undefined),
        { endStream: false },
      );
    } catch {
      finish(false);
      return;
    }
    stream.end(query);
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (status !== 200) {
        server.lastCheckFailure = `the DoH health check got HTTP status ${status}`;
        return finish(false);
      }
      finish(checkAnswerIsHealthy(query, Buffer.concat(chunks), config.mustResolve));
    });
    stream.on('error', () => finish(false));
  });
}
