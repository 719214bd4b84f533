/**
 * Who gets in, and with which status: the authorization matrix of every
 * endpoint class, 401/404/405, CORS pre-flight, headers, the ACL and the
 * connection limit, on a real listening webserver. The expected matrix is
 * the one observed on dnsdist 1.7.3 (webserver-dnsdist-parity.test.ts
 * checks it against a running dnsdist).
 */
import net from 'node:net';
import { holdConnection, httpRequest, rawProbe } from './http-client.js';
import { AUTH_MATRIX } from './auth-matrix.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const GOOD = { basic: 'admin:secret' };
const WRONG = { basic: 'admin:wrong' };
const KEY = { apiKey: 'apikey1' };
const BADKEY = { apiKey: 'nope' };

describe('webserver authorization', () => {
  let p: RunningWebProxy;
  beforeAll(async () => {
    p = await startWebProxy(`
      webserver("127.0.0.1:0")
      setWebserverConfig({password="secret", apiKey="apikey1", customHeaders={["X-Frame-Options"]="", ["X-Custom"]="yes"}})
    `);
  });
  afterAll(() => p.stop());

  it.each(AUTH_MATRIX)('%s answers %p to none / password / wrong password / key / wrong key', async (path, expected) => {
    const got = [];
    for (const creds of [{}, GOOD, WRONG, KEY, BADKEY]) got.push((await httpRequest(p.web, path, creds)).status);
    expect(got).toEqual(expected);
  });

  it('serves the dashboard and its data with the password only', async () => {
    for (const path of ['/index.html', '/dashboard.js', '/dashboard.css', '/dashboard.json']) {
      expect((await httpRequest(p.web, path, GOOD)).status).toBe(200);
      expect((await httpRequest(p.web, path, KEY)).status).toBe(401);
    }
  });

  it('answers 401 with the basic-auth challenge and logs failed attempts that carried credentials', async () => {
    const r = await httpRequest(p.web, '/', WRONG);
    expect(r.status).toBe(401);
    expect(r.body).toBe('<h1>Unauthorized</h1>');
    expect(r.headers['www-authenticate']).toBe('basic realm="PowerDNS"');
    expect(p.output.some((l) => /^HTTP Request "\/" from 127\.0\.0\.1:\d+: Web Authentication failed$/.test(l))).toBe(true);
  });

  it('never takes an empty user, an empty password, or a password containing ":"', async () => {
    for (const basic of [':secret', 'admin:', 'admin:sec:ret']) expect((await httpRequest(p.web, '/', { basic })).status).toBe(401);
  });

  it('checks authorization before the method (401), then the method (405), then the path (404)', async () => {
    expect((await httpRequest(p.web, '/metrics', { method: 'POST' })).status).toBe(401);
    expect((await httpRequest(p.web, '/metrics', { ...GOOD, method: 'POST' })).status).toBe(405);
    expect((await httpRequest(p.web, '/nothere', { ...GOOD, method: 'DELETE' })).status).toBe(405);
    // PUT on allow-from needs setAPIWritable(true).
    const put = await httpRequest(p.web, '/api/v1/servers/localhost/config/allow-from', { ...KEY, method: 'PUT', body: '{"value": []}' });
    expect(put.status).toBe(405);
  });

  it('answers CORS pre-flights without credentials', async () => {
    const r = await httpRequest(p.web, '/api/v1/servers/localhost', { method: 'OPTIONS', headers: { Origin: 'http://dash.example' } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('http://dash.example');
    expect(r.headers['access-control-allow-methods']).toBe('GET');
    expect(r.headers['access-control-allow-headers']).toBe('Authorization, X-API-Key');
    const get = await httpRequest(p.web, '/jsonstat?command=stats', { ...KEY, headers: { Origin: 'http://dash.example' } });
    expect(get.headers['access-control-allow-origin']).toBe('http://dash.example');
    expect(get.headers['access-control-allow-credentials']).toBe('true');
  });

  it('sends the security headers, custom headers, and Connection: close', async () => {
    const r = await httpRequest(p.web, '/metrics', GOOD);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-xss-protection']).toBe('1; mode=block');
    expect(r.headers['x-permitted-cross-domain-policies']).toBe('none');
    expect(r.headers['content-security-policy']).toBe("default-src 'self'; style-src 'self' 'unsafe-inline'");
    // An empty custom value removes the default header of that name.
    expect(r.headers['x-frame-options']).toBeUndefined();
    expect(r.headers['x-custom']).toBe('yes');
    expect(r.headers.connection).toBe('close');
  });

  it('survives clients that send garbage or hang up halfway through a request', async () => {
    const garbage = await rawProbe(p.web, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toEqual({ answer: expect.stringMatching(/^HTTP\/1\.1 400 /) });
    await new Promise<void>((resolve) => {
      const s = net.connect(p.web, '127.0.0.1', () => {
        s.write(
          'PUT /api/v1/servers/localhost/config/allow-from HTTP/1.1\r\nHost: x\r\nX-API-Key: apikey1\r\nContent-Length: 1000\r\n\r\n{"va',
        );
        setImmediate(() => s.destroy());
      });
      s.on('close', () => resolve());
    });
    expect((await httpRequest(p.web, '/metrics', GOOD)).status).toBe(200);
  });

  it('describes its configuration as dnsdist 1.7.3 does', () => {
    expect(p.app.runConsoleCommand('showWebserverConfig()')).toBe(
      [
        'Current web server configuration:',
        'ACL: 127.0.0.1/32, ::1/128',
        'Custom headers: ',
        ' - X-Custom: yes',
        ' - X-Frame-Options: ',
        'Statistics require authentication: yes',
        'Password: set',
        'API key: set',
        'API writable: no',
        'API configuration directory: ',
        'Maximum concurrent connections: 100',
        '',
      ].join('\n'),
    );
  });
});

describe('webserver credential variants', () => {
  const running: RunningWebProxy[] = [];
  afterEach(async () => {
    while (running.length > 0) await running.pop()!.stop();
  });
  const start = async (config: string): Promise<RunningWebProxy> => {
    const p = await startWebProxy(config);
    running.push(p);
    return p;
  };

  it('accepts any non-empty basic-auth password when none is set, and warns at start-up', async () => {
    const p = await start('webserver("127.0.0.1:0")\nsetWebserverConfig({apiKey="k"})');
    expect((await httpRequest(p.web, '/', { basic: 'x:anything' })).status).toBe(200);
    expect((await httpRequest(p.web, '/', { basic: 'x:' })).status).toBe(401);
    expect((await httpRequest(p.web, '/')).status).toBe(401);
    expect(p.output).toContain(`Webserver launched on 127.0.0.1:${p.web} without a password set!`);
  });

  it('opens the statistics without credentials when statsRequireAuthentication is false', async () => {
    const p = await start('webserver("127.0.0.1:0")\nsetWebserverConfig({password="pw", apiKey="k", statsRequireAuthentication=false})');
    expect((await httpRequest(p.web, '/metrics')).status).toBe(200);
    expect((await httpRequest(p.web, '/jsonstat?command=stats')).status).toBe(200);
    expect((await httpRequest(p.web, '/api/v1/servers/localhost')).status).toBe(401);
    expect((await httpRequest(p.web, '/')).status).toBe(401);
  });

  it('verifies hashed credentials, and hashes plain ones on request, without the plain-text warning for hashes', async () => {
    const p = await start(`
      webserver("127.0.0.1:0")
      setWebserverConfig({password=hashPassword("s3cret", 16), apiKey="plainkey", hashPlaintextCredentials=true})`);
    expect((await httpRequest(p.web, '/', { basic: 'a:s3cret' })).status).toBe(200);
    expect((await httpRequest(p.web, '/', { basic: 'a:s3creT' })).status).toBe(401);
    expect((await httpRequest(p.web, '/api/v1/servers/localhost/config', { apiKey: 'plainkey' })).status).toBe(200);
    expect(p.output.some((l) => l.includes("plain-text password via the 'password' parameter"))).toBe(false);
    expect(p.output).toContain(
      "Passing a plain-text API key via the 'apiKey' parameter to 'setWebserverConfig()' is not advised, please consider generating a hashed one using 'hashPassword()' instead.",
    );
  });

  it('accepts the deprecated positional webserver() form with dnsdist’s warnings', async () => {
    const p = await start('webserver("127.0.0.1:0", "pw", "key", {["X-A"]="b"}, "127.0.0.0/8")');
    expect(p.output).toContain("Passing additional parameters to 'webserver()' is deprecated, please use 'setWebserverConfig()' instead.");
    expect(p.output).toContain(
      "Passing a plain-text password to 'webserver()' is deprecated, please use 'setWebserverConfig()' instead and consider generating a hashed password using 'hashPassword()'.",
    );
    const r = await httpRequest(p.web, '/api/v1/servers/localhost/config', { apiKey: 'key' });
    expect(r.status).toBe(200);
    expect(r.headers['x-a']).toBe('b');
    expect((await httpRequest(p.web, '/', { basic: 'u:pw' })).status).toBe(200);
  });

  it('closes connections from outside its ACL before reading them', async () => {
    const p = await start('webserver("127.0.0.1:0")\nsetWebserverConfig({password="pw", acl="127.0.0.2/32"})');
    const req = 'GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpwdw==\r\n\r\n';
    expect(await rawProbe(p.web, req)).toHaveProperty('closed');
    const allowed = await rawProbe(p.web, req, { localAddress: '127.0.0.2' });
    expect(allowed).toHaveProperty('answer');
    expect((allowed as { answer: string }).answer).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('closes connections over maxConcurrentConnections and takes new ones once a slot is free', async () => {
    const p = await start('webserver("127.0.0.1:0")\nsetWebserverConfig({apiKey="k", maxConcurrentConnections=1})');
    const req = 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\n\r\n';
    const held = await holdConnection(p.web);
    // The server counts the held connection once it accepted it.
    for (let i = 0; i < 200 && p.app.web.server!.connections < 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await rawProbe(p.web, req)).toHaveProperty('closed');
    expect(p.output).toContain('Had an error accepting new webserver connection: Too many concurrent web client connections');
    held.destroy();
    for (let i = 0; i < 200 && p.app.web.server!.connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await rawProbe(p.web, req)).toHaveProperty('answer');
  });
});
