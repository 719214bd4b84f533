import type { DohFrontend } from './doh-frontend.js';

/** A row in dnsdist's DoH tables: "#" in 3 columns, the address in 20, every number in 15, one space apart. */
function row(first: string, address: string, cells: ReadonlyArray<string | number>): string {
  return [first.padEnd(3), address.slice(0, 20).padEnd(20), ...cells.map((c) => String(c).padEnd(15))].join(' ');
}

/** showDOHFrontends(): one line per frontend with its request and response counts. */
export function formatDohFrontends(frontends: readonly DohFrontend[]): string {
  const lines = [
    row('#', 'Address', [
      'HTTP',
      'HTTP/1',
      'HTTP/2',
      'GET',
      'POST',
      'Bad',
      'Errors',
      'Redirects',
      'Valid',
      '# ticket keys',
      'Rotation delay',
      'Next rotation',
    ]),
  ];
  frontends.forEach((f, i) => {
    const c = f.counters;
    lines.push(
      row(String(i), f.local.toStringWithPort(), [
        c.httpConnects,
        c.http1.queries,
        c.http2.queries,
        c.getQueries,
        c.postQueries,
        c.badRequests,
        c.errorResponses,
        c.redirectResponses,
        c.validResponses,
        f.ticketsKeysCount,
        f.config.tls.ticketsKeysRotationDelay,
        f.nextTicketsKeyRotation,
      ]),
    );
  });
  return `${lines.join('\n')}\n`;
}

/** showDOHResponseCodes(): responses by status, an HTTP/1 table then an HTTP/2 table. */
export function formatDohResponseCodes(frontends: readonly DohFrontend[]): string {
  const table = (version: 'http1' | 'http2'): string[] => {
    const lines = [row('#', 'Address', ['200', '400', '403', '500', '502', 'Others'])];
    frontends.forEach((f, i) => {
      const v = f.counters[version];
      lines.push(
        row(String(i), f.local.toStringWithPort(), [v.status200, v.status400, v.status403, v.status500, v.status502, v.statusOther]),
      );
    });
    return lines;
  };
  return ['', '- HTTP/1:', '', ...table('http1'), '', '- HTTP/2:', '', ...table('http2')].join('\n') + '\n';
}
