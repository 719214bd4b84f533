import type { DohFrontend } from '@dnsdist-ts/dataplane/doh/doh-frontend.js';
import type { HttpVersionCounters } from '@dnsdist-ts/dataplane/doh/doh-counters.js';
import type { MetricsSink } from './metrics-sink.js';
import type { PrometheusLabels } from './prometheus-text-writer.js';

/** dnsdist's handshake-failure label values, in its order (Node's TLS does not tell them apart: all 0). */
const HANDSHAKE_ERRORS = [
  'dhKeyTooSmall',
  'inappropriateFallBack',
  'noSharedCipher',
  'unknownCipherType',
  'unknownKeyExchangeType',
  'unknownProtocol',
  'unsupportedEC',
  'unsupportedProtocol',
];

/**
 * A DoH frontend's samples of a dnsdist_frontend_<suffix> family, labelled
 * as dnsdist labels them (proto "TCP (DNS over HTTPS)" or "TCP (DNS over
 * HTTP)"; the TLS families only for a frontend with TLS).
 */
export function writeDohFrontendSamples(w: MetricsSink, name: string, suffix: string, frontends: readonly DohFrontend[]): void {
  for (const f of frontends) {
    const base: PrometheusLabels = [
      ['frontend', f.local.toStringWithPort()],
      ['proto', f.protocolName],
      ['thread', '0'],
    ];
    const c = f.counters;
    if (suffix.startsWith('tls') && !f.overTls) continue;
    switch (suffix) {
      case 'queries':
        w.sample(name, c.queries, base);
        break;
      case 'responses':
        w.sample(name, c.responses, base);
        break;
      case 'tcpcurrentconnections':
        w.sample(name, c.currentConnections, base);
        break;
      case 'tcpmaxconcurrentconnections':
        w.sample(name, c.maxConcurrentConnections, base);
        break;
      case 'tlsnewsessions':
        w.sample(name, c.tlsNewSessions, base);
        break;
      case 'tlsresumptions':
        w.sample(name, c.tlsResumptions, base);
        break;
      case 'tlsqueries':
        for (const [tls, v] of [
          ['tls10', c.tls10Queries],
          ['tls11', c.tls11Queries],
          ['tls12', c.tls12Queries],
          ['tls13', c.tls13Queries],
          ['unknown', c.tlsUnknownQueries],
        ] as const) {
          w.sample(name, v, [...base, ['tls', tls]]);
        }
        break;
      case 'tlshandshakefailures':
        for (const error of HANDSHAKE_ERRORS) w.sample(name, 0, [...base, ['error', error]]);
        break;
      default:
        w.sample(name, 0, base);
    }
  }
}

function statusSamples(v: HttpVersionCounters): Array<[string, number]> {
  return [
    ['200', v.status200],
    ['400', v.status400],
    ['403', v.status403],
    ['500', v.status500],
    ['502', v.status502],
    ['other', v.statusOther],
  ];
}

/** The samples of one of the dnsdist_frontend_{http_connects,doh_*} families. */
export function writeDohFamilySamples(w: MetricsSink, name: string, suffix: string, frontends: readonly DohFrontend[]): void {
  for (const f of frontends) {
    const tail: PrometheusLabels = [
      ['frontend', f.local.toStringWithPort()],
      ['thread', '0'],
    ];
    const c = f.counters;
    switch (suffix) {
      case 'http_connects':
        w.sample(name, c.httpConnects, tail);
        break;
      case 'doh_http_method_queries':
        w.sample(name, c.getQueries, [['method', 'get'], ...tail]);
        w.sample(name, c.postQueries, [['method', 'post'], ...tail]);
        break;
      case 'doh_http_version_queries':
        w.sample(name, c.http1.queries, [['version', '1'], ...tail]);
        w.sample(name, c.http2.queries, [['version', '2'], ...tail]);
        break;
      case 'doh_bad_requests':
        w.sample(name, c.badRequests, tail);
        break;
      case 'doh_responses':
        w.sample(name, c.errorResponses, [['type', 'error'], ...tail]);
        w.sample(name, c.redirectResponses, [['type', 'redirect'], ...tail]);
        w.sample(name, c.validResponses, [['type', 'valid'], ...tail]);
        break;
      case 'doh_version_status_responses':
        for (const [version, counters] of [
          ['1', c.http1],
          ['2', c.http2],
        ] as const) {
          for (const [status, v] of statusSamples(counters)) w.sample(name, v, [['httpversion', version], ['status', status], ...tail]);
        }
        break;
    }
  }
}
