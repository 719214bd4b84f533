/**
 * Which configured DoH path serves a request path, and the `dns` parameter
 * of a GET request (RFC 8484 section 4.1), with dnsdist 1.7.3's answers for
 * requests that do not fit.
 */

/** How a request path relates to the configured `urls`. */
export type PathMatch = 'served' | 'not-found' | 'no-endpoint';

/**
 * dnsdist hands paths to its HTTP library, which routes a request to a
 * configured path when the request path is that path, lies below it
 * ("/dns-query/x"), or the configured path ends with "/" and prefixes it.
 * A request routed nowhere gets a plain 404 "not found"; one routed to a
 * path but not served (exact matching, the default) gets 404 "there is no
 * endpoint configured for this path".
 */
export function matchPath(urls: readonly string[], path: string, exactPathMatching: boolean): PathMatch {
  let routed = false;
  let exact = false;
  let prefixed = false;
  for (const u of urls) {
    if (path === u) exact = true;
    if (path.startsWith(u)) {
      prefixed = true;
      if (u.endsWith('/') || path.length === u.length || path[u.length] === '/') routed = true;
    }
  }
  if (exact) return 'served';
  if (!routed) return 'not-found';
  if (exactPathMatching) return 'no-endpoint';
  return prefixed ? 'served' : 'no-endpoint';
}

/** A GET request's DNS message, or why there is none (dnsdist's 400 texts). */
export type DnsParameter =
  | { ok: true; message: Buffer }
  | { ok: false; reason: 'Unable to parse the request' | 'Unable to find the DNS parameter' | 'Unable to decode BASE64-URL' };

const BASE64URL = /^[A-Za-z0-9_\-+/]*={0,2}$/;

/**
 * The `dns` parameter of `queryString` ("?dns=…&…", as it came), base64url
 * decoded. Unlike dnsdist 1.7.3, which reads from "dns=" to the end of the
 * URL, the value ends at the next "&", so parameters after it do not end
 * up in the DNS message.
 */
export function dnsParameter(queryString: string): DnsParameter {
  // dnsdist answers a query string of five characters or fewer ("?dns=") as unparseable.
  if (queryString.length <= 5) return { ok: false, reason: 'Unable to parse the request' };
  let start = -1;
  if (queryString.startsWith('?dns=')) start = 5;
  else {
    const at = queryString.indexOf('&dns=');
    if (at >= 0) start = at + 5;
  }
  if (start < 0) return { ok: false, reason: 'Unable to find the DNS parameter' };
  const end = queryString.indexOf('&', start);
  const value = queryString.slice(start, end < 0 ? queryString.length : end);
  if (!BASE64URL.test(value) || value.length % 4 === 1) return { ok: false, reason: 'Unable to decode BASE64-URL' };
  return { ok: true, message: Buffer.from(value.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url') };
}

/** Split a request target ("/dns-query?dns=…") into path and query string ("?dns=…" or ""). */
export function splitTarget(target: string): { path: string; queryString: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, queryString: '' } : { path: target.slice(0, q), queryString: target.slice(q) };
}
