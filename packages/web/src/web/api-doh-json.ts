import type { DohFrontend } from '@dnsdist-ts/dataplane/doh/doh-frontend.js';
import type { JsonValue } from './json11-format.js';

type JsonObject = { [key: string]: JsonValue };

/** The API's `dohFrontends`: each DoH frontend's HTTP counters, as dnsdist 1.7.3 lists them. */
export function dohFrontendsJson(frontends: readonly DohFrontend[]): JsonObject[] {
  return frontends.map((f, id) => {
    const c = f.counters;
    return {
      address: f.local.toStringWithPort(),
      'bad-requests': c.badRequests,
      'error-responses': c.errorResponses,
      'get-queries': c.getQueries,
      'http-connects': c.httpConnects,
      'http1-200-responses': c.http1.status200,
      'http1-400-responses': c.http1.status400,
      'http1-403-responses': c.http1.status403,
      'http1-500-responses': c.http1.status500,
      'http1-502-responses': c.http1.status502,
      'http1-other-responses': c.http1.statusOther,
      'http1-queries': c.http1.queries,
      'http2-200-responses': c.http2.status200,
      'http2-400-responses': c.http2.status400,
      'http2-403-responses': c.http2.status403,
      'http2-500-responses': c.http2.status500,
      'http2-502-responses': c.http2.status502,
      'http2-other-responses': c.http2.statusOther,
      'http2-queries': c.http2.queries,
      id,
      'post-queries': c.postQueries,
      'redirect-responses': c.redirectResponses,
      'valid-responses': c.validResponses,
    };
  });
}

/** The DoH frontends' entries in the API's `frontends` (after the plain ones, numbered from `firstId`). */
export function dohFrontendEntriesJson(frontends: readonly DohFrontend[], firstId: number): JsonObject[] {
  return frontends.map((f, i) => {
    const c = f.counters;
    return {
      address: f.local.toStringWithPort(),
      id: firstId + i,
      queries: c.queries,
      responses: c.responses,
      tcp: true,
      tcpAvgConnectionDuration: 0,
      tcpAvgQueriesPerConnection: 0,
      tcpClientTimeouts: 0,
      tcpCurrentConnections: c.currentConnections,
      tcpDiedReadingQuery: 0,
      tcpDiedSendingResponse: 0,
      tcpDownstreamTimeouts: 0,
      tcpGaveUp: 0,
      tcpMaxConcurrentConnections: c.maxConcurrentConnections,
      tls10Queries: c.tls10Queries,
      tls11Queries: c.tls11Queries,
      tls12Queries: c.tls12Queries,
      tls13Queries: c.tls13Queries,
      tlsHandshakeFailuresDHKeyTooSmall: 0,
      tlsHandshakeFailuresInappropriateFallBack: 0,
      tlsHandshakeFailuresNoSharedCipher: 0,
      tlsHandshakeFailuresUnknownCipher: 0,
      tlsHandshakeFailuresUnknownKeyExchangeType: 0,
      tlsHandshakeFailuresUnknownProtocol: 0,
      tlsHandshakeFailuresUnsupportedEC: 0,
      tlsHandshakeFailuresUnsupportedProtocol: 0,
      tlsInactiveTicketKey: f.ticketKeys.inactiveTicketKeys,
      tlsNewSessions: c.tlsNewSessions,
      tlsResumptions: c.tlsResumptions,
      tlsUnknownQueries: c.tlsUnknownQueries,
      tlsUnknownTicketKey: f.ticketKeys.unknownTicketKeys,
      type: f.protocolName,
      udp: false,
    };
  });
}
