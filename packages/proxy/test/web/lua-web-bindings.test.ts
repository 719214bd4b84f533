/**
 * The Lua side of the webserver: registerWebHandler's request and
 * response objects, hashPassword, setAPIWritable, and the errors a bad
 * configuration gets.
 */
import { httpRequest } from './http-client.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';
import { startProxy } from '../support/proxy-harness.js';

describe('registerWebHandler', () => {
  let p: RunningWebProxy;
  beforeAll(async () => {
    p = await startWebProxy(`
      webserver("127.0.0.1:0")
      setWebserverConfig({password="pw", apiKey="key"})
      registerWebHandler('/echo', function(req, resp)
        local g = {}
        for k, v in pairs(req.getvars) do table.insert(g, k .. "=" .. v) end
        table.sort(g)
        resp.body = req.method .. " " .. req.path .. " v" .. req.version .. " get:" .. table.concat(g, ",") ..
          " ua:" .. tostring(req.headers["user-agent"]) .. " default-status:" .. resp.status ..
          " had-nosniff:" .. tostring(resp.headers["X-Content-Type-Options"])
      end)
      registerWebHandler('/teapot', function(req, resp)
        resp.status = 418
        resp.body = "short and stout"
        resp.headers = {["Content-Type"]="text/plain", ["X-Handler"]="lua"}
      end)
      registerWebHandler('/api/v1/custom', function(req, resp) resp.body = "api" end)
      registerWebHandler('/fails', function(req, resp) error("boom") end)
      registerWebHandler('/metrics', function(req, resp) resp.body = "replaced" end)
    `);
  });
  afterAll(() => p.stop());

  it('hands the handler the request (path, method, version, query, lower-case headers) and a 200 response with the default headers', async () => {
    const r = await httpRequest(p.web, '/echo?b=2&a=1&_=cachebuster', { basic: 'u:pw', headers: { 'User-Agent': 'probe/1' } });
    expect(r.status).toBe(200);
    expect(r.body).toBe('GET /echo v11 get:a=1,b=2 ua:probe/1 default-status:200 had-nosniff:nosniff');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('sends what the handler set: status, body, and its header table in place of the defaults', async () => {
    const r = await httpRequest(p.web, '/teapot', { basic: 'u:pw' });
    expect(r.status).toBe(418);
    expect(r.body).toBe('short and stout');
    expect(r.headers['x-handler']).toBe('lua');
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['x-content-type-options']).toBeUndefined();
    expect(r.headers.connection).toBe('close');
  });

  it('applies the path’s authorization (password, or the API key under /api/) and GET only', async () => {
    expect((await httpRequest(p.web, '/teapot')).status).toBe(401);
    expect((await httpRequest(p.web, '/teapot', { apiKey: 'key' })).status).toBe(401);
    expect((await httpRequest(p.web, '/api/v1/custom', { basic: 'u:pw' })).status).toBe(401);
    expect((await httpRequest(p.web, '/api/v1/custom', { apiKey: 'key' })).body).toBe('api');
    expect((await httpRequest(p.web, '/teapot', { basic: 'u:pw', method: 'POST', body: 'x=1' })).status).toBe(405);
  });

  it('replaces a built-in path, as dnsdist lets it', async () => {
    expect((await httpRequest(p.web, '/metrics', { apiKey: 'key' })).body).toBe('replaced');
  });

  it('answers 500 and logs the Lua error of a failing handler', async () => {
    const r = await httpRequest(p.web, '/fails', { basic: 'u:pw' });
    expect(r.status).toBe(500);
    expect(p.output.some((l) => /^Webserver handler for "\/fails" failed on a request from 127\.0\.0\.1:\d+: .*boom/.test(l))).toBe(true);
  });
});

describe('webserver settings from Lua', () => {
  it('hashes passwords in dnsdist’s format and refuses work factors scrypt cannot use', async () => {
    const p = await startProxy('setLocal("127.0.0.1:${PORT}")');
    try {
      expect(p.app.runConsoleCommand('hashPassword("pw")')).toMatch(/^\$scrypt\$ln=10,p=1,r=8\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=\n$/);
      expect(p.app.runConsoleCommand('hashPassword("pw", 64)')).toMatch(/^\$scrypt\$ln=6,/);
      expect(p.app.runConsoleCommand('hashPassword("pw", 1000)')).toMatch(
        /^Error: .*Error setting the work factor to the scrypt context to hash the supplied password: 1000 is not a power of two/,
      );
      expect(p.app.runConsoleCommand('setAPIWritable(true, "/var/lib/dnsdist")')).toBe('');
      const text = p.app.runConsoleCommand('showWebserverConfig()');
      expect(text).toContain('API writable: yes\nAPI configuration directory: /var/lib/dnsdist\n');
      expect(text).toContain('ACL: 127.0.0.1/32, ::1/128\nCustom headers: None\n');
      expect(p.app.runConsoleCommand('webserver("not an address")')).toMatch(
        /^Error: .*Error parsing the bind address for the webserver: /,
      );
      expect(p.app.runConsoleCommand('setWebserverConfig({passwd="x"})')).toMatch(/unknown option 'passwd'/);
      expect(p.app.runConsoleCommand('setWebserverConfig({customHeaders="x"})')).toMatch(/'customHeaders' must be a table/);
      expect(p.app.web.server).toBeUndefined();
    } finally {
      await p.stop();
    }
  });

  it('listens on IPv6 too, where the default ACL lets ::1 in', async () => {
    const p = await startWebProxy('webserver("[::1]:0")\nsetWebserverConfig({apiKey="k"})');
    try {
      expect(p.app.web.server!.address).toBe(`[::1]:${p.web}`);
      expect((await httpRequest(p.web, '/metrics', { apiKey: 'k', host: '::1' })).status).toBe(200);
      expect(p.output).toContain(`Webserver launched on [::1]:${p.web}`);
    } finally {
      await p.stop();
    }
  });

  it('starts a webserver declared from the console at once', async () => {
    const p = await startProxy('setLocal("127.0.0.1:${PORT}")\nsetWebserverConfig({apiKey="k"})');
    try {
      expect(p.app.runConsoleCommand('webserver("127.0.0.1:0")')).toBe('');
      for (let i = 0; i < 200 && !p.app.web.server; i++) await new Promise((r) => setTimeout(r, 10));
      const port = p.app.web.server!.port;
      expect((await httpRequest(port, '/metrics', { apiKey: 'k' })).status).toBe(200);
    } finally {
      await p.stop();
    }
  });
});
