import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describeDnsdist, startDnsdistWithConsole, type DnsdistWithConsole } from '../../../../test/support/dnsdist.js';
import { encodeQuery } from '../support/dns-client.js';
import { curl, dnsParam, makeCertificate, type HttpResult, type TestCertificate } from '../support/doh-clients.js';
import { freePort, startProxy, type RunningProxy } from '../support/proxy-harness.js';

/** The same DoH frontends and rules for both: no backend, every answer comes from a rule. */
function config(cert: TestCertificate, tlsPort: number, plainPort: number): string {
  return `setACL({"127.0.0.0/8"})
addDOHLocal("127.0.0.1:${tlsPort}", "${cert.cert}", "${cert.key}", {"/dns-query", "/coffee"}, {customResponseHeaders={["X-Custom"]="yes"}})
addDOHLocal("127.0.0.1:${plainPort}", nil, nil, "/dns-query", {trustForwardedForHeader=true})
getDOHFrontend(0):setResponsesMap({newDOHResponseMapEntry("^/coffee$", 418, "C0FFEE", {["FoO"]="bar"})})
addAction("drop.test.", DropAction())
addAction("refused.test.", RCodeAction(DNSRCode.REFUSED))
addAction("plain.test.", HTTPStatusAction(200, "Plaintext answer", "text/plain"))
addAction("moved.test.", HTTPStatusAction(307, "https://example.test/"))
addAction("teapot.test.", HTTPStatusAction(418, "short and stout"))
addAction(AllRule(), SpoofAction("192.0.2.1"))
`;
}

function waitForPort(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let attempts = 0;
    const attempt = (): void => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        if (++attempts > 100) reject(new Error(`nothing listens on 127.0.0.1:${port}`));
        else setTimeout(attempt, 50); // spaces the connection attempts
      });
    };
    attempt();
  });
}

/** What both must agree on: status, body, and the headers dnsdist's clients look at. */
function comparable(r: HttpResult): Record<string, unknown> {
  return {
    status: r.status,
    body: r.body.toString('base64'),
    contentType: r.headers.get('content-type'),
    cacheControl: r.headers.get('cache-control'),
    custom: r.headers.get('x-custom'),
    foo: r.headers.get('foo'),
    location: r.headers.get('location'),
  };
}

describeDnsdist('DoH answers side by side with dnsdist 1.7.3', () => {
  let cert: TestCertificate;
  let dnsdist: DnsdistWithConsole;
  let ours: RunningProxy;
  const ports = { theirs: { tls: 0, plain: 0 }, ours: { tls: 0, plain: 0 } };

  beforeAll(async () => {
    cert = await makeCertificate();
    ports.theirs = { tls: await freePort(), plain: await freePort() };
    dnsdist = await startDnsdistWithConsole(config(cert, ports.theirs.tls, ports.theirs.plain));
    await waitForPort(ports.theirs.tls);
    await waitForPort(ports.theirs.plain);
    ports.ours = { tls: await freePort(), plain: await freePort() };
    ours = await startProxy(`setLocal("127.0.0.1:\${PORT}")\n${config(cert, ports.ours.tls, ports.ours.plain)}`);
  });
  afterAll(async () => {
    await ours?.stop();
    await dnsdist?.stop();
    cert?.cleanup();
  });

  const post = (name: string): string[] => {
    const file = join(cert.dir, `${name}.bin`);
    writeFileSync(file, encodeQuery(name, { id: 77 }));
    return ['-X', 'POST', '-H', 'content-type: application/dns-message', '--data-binary', `@${file}`];
  };
  const get = (name: string, transform: (q: Buffer) => Buffer = (q) => q): string =>
    `/dns-query?dns=${dnsParam(transform(encodeQuery(name, { id: 77 })))}`;

  it.each([
    ['a spoofed answer over HTTP/2', get('good.test'), ['--http2']],
    ['a spoofed answer over HTTP/1.1', get('good.test'), ['--http1.1']],
    ['a POSTed query', '/dns-query', ['--http2', 'POST:post.test']],
    ['RCodeAction', get('refused.test'), ['--http2']],
    ['a dropped query', get('drop.test'), ['--http2']],
    ['HTTPStatusAction 200', get('plain.test'), ['--http2']],
    ['HTTPStatusAction 307', get('moved.test'), ['--http2']],
    ['HTTPStatusAction 418', get('teapot.test'), ['--http2']],
    ['the responses map', '/coffee', ['--http2']],
    ['no query string', '/dns-query', ['--http2']],
    ['an empty dns parameter', '/dns-query?dns=', ['--http2']],
    ['no dns parameter', '/dns-query?foo=bar', ['--http2']],
    ['a response (QR set)', get('qr.test', (q) => Buffer.from(q.map((b, i) => (i === 2 ? b | 0x80 : b)))), ['--http2']],
    ['a name running past the end', get('cut.test', (q) => q.subarray(0, 20)), ['--http2']],
    ['an unknown path', '/elsewhere', ['--http2']],
    ['a path below the configured one', `/dns-query/below${get('x.test').slice('/dns-query'.length)}`, ['--http2']],
    ['PUT', get('put.test'), ['--http2', '-X', 'PUT']],
  ])('%s over TLS', async (_what, path, args) => {
    const extra = args.flatMap((a) => (a.startsWith('POST:') ? post(a.slice(5)) : [a]));
    const at = (port: number): string[] => ['--resolve', `doh.test:${port}:127.0.0.1`, '--cacert', cert.cert, ...extra];
    const theirs = await curl(`https://doh.test:${ports.theirs.tls}${path}`, at(ports.theirs.tls));
    const mine = await curl(`https://doh.test:${ports.ours.tls}${path}`, at(ports.ours.tls));
    expect(comparable(mine)).toEqual(comparable(theirs));
  });

  it.each([
    ['an X-Forwarded-For client inside the ACL', ['-H', 'X-Forwarded-For: 192.0.2.1, 127.0.0.2:53']],
    ['an X-Forwarded-For client outside the ACL', ['-H', 'X-Forwarded-For: 127.0.0.2, 192.0.2.1']],
  ])('%s over plain HTTP/1.1', async (_what, headers) => {
    const path = get('fwd.test');
    const theirs = await curl(`http://127.0.0.1:${ports.theirs.plain}${path}`, ['--http1.1', ...headers]);
    const mine = await curl(`http://127.0.0.1:${ports.ours.plain}${path}`, ['--http1.1', ...headers]);
    expect(comparable(mine)).toEqual(comparable(theirs));
  });
});
