/**
 * Lua functions of the webserver and metrics: webserver(),
 * setWebserverConfig{}, showWebserverConfig(), hashPassword(),
 * setAPIWritable(), registerWebHandler(), and our addBPFMapGauge{}.
 * A thin layer over WebService: argument checks and dnsdist's messages.
 */
import { parseAddressWithPort } from '@dnsdist-ts/dns';
import { parseGaugeKey } from '@dnsdist-ts/web/metrics/bpf-map-gauge.js';
import { CredentialsHolder, DEFAULT_WORK_FACTOR, hashPassword } from '@dnsdist-ts/web/web/credentials.js';
import type { WebRequest, WebResponse } from '@dnsdist-ts/web/web/web-exchange.js';
import type { WebService } from '@dnsdist-ts/web/web/web-service.js';
import { parseWebserverAcl } from '@dnsdist-ts/web/web/webserver-config.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaBindingError } from './lua-errors.js';
import type { LuaFunctionRef } from './lua-runtime.js';
import { LuaTable, type LuaFunctionLike } from './lua-table.js';

/** A Lua table of strings (customHeaders, labels) as a Map; other values are refused. */
function stringTable(fn: string, key: string, table: LuaTable): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of table.entries) {
    if (typeof k !== 'string' || typeof v !== 'string') {
      throw new LuaBindingError(`${fn}: '${key}' must be a table of strings keyed by strings, e.g. {["X-Frame-Options"]=""}`);
    }
    out.set(k, v);
  }
  return out;
}

/** The response table a Lua web handler left, back into a WebResponse. */
function readResponse(table: unknown, res: WebResponse): void {
  if (!(table instanceof LuaTable)) return;
  const status = table.get('status');
  if (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 999) res.status = status;
  const body = table.get('body');
  if (typeof body === 'string' || typeof body === 'number') res.body = String(body);
  const headers = table.get('headers');
  if (headers instanceof LuaTable) {
    // As in dnsdist, the table the handler leaves is the response's whole header set.
    const out: Record<string, string> = {};
    for (const [k, v] of headers.entries) if (typeof k === 'string' && (typeof v === 'string' || typeof v === 'number')) out[k] = String(v);
    res.headers = out;
  }
}

export function registerWebBindings(env: LuaEnvironment, web: WebService): void {
  const rt = env.runtime;
  const log = env.proxy.log;
  const config = web.config;

  const credentials = (text: string, hashPlaintext: boolean, what: string, fn: string): CredentialsHolder => {
    const holder = CredentialsHolder.fromConfig(text, hashPlaintext);
    if (!holder.wasHashed) {
      log.info(
        `Passing a plain-text ${what} via the '${what === 'password' ? 'password' : 'apiKey'}' parameter to '${fn}()' is not advised, please consider generating a hashed one using 'hashPassword()' instead.`,
      );
    }
    return holder;
  };

  rt.registerFunction('webserver', (a: LuaArgs) => {
    const text = a.string(0);
    let address;
    try {
      // As dnsdist, an address without a port means port 0: the kernel picks one (the log line names it).
      address = parseAddressWithPort(text, 0);
    } catch (err) {
      throw new LuaBindingError(`Error parsing the bind address for the webserver: ${(err as Error).message}`);
    }
    if (a.count > 1) log.warn("Passing additional parameters to 'webserver()' is deprecated, please use 'setWebserverConfig()' instead.");
    const password = a.optString(1);
    const apiKey = a.optString(2);
    const headers = a.optTable(3);
    const acl = a.optString(4);
    if (password !== undefined) {
      const holder = CredentialsHolder.fromConfig(password);
      if (!holder.wasHashed) {
        log.warn(
          "Passing a plain-text password to 'webserver()' is deprecated, please use 'setWebserverConfig()' instead and consider generating a hashed password using 'hashPassword()'.",
        );
      }
      config.password = holder;
    }
    if (apiKey !== undefined) config.apiKey = CredentialsHolder.fromConfig(apiKey);
    if (headers) config.customHeaders = stringTable('webserver', 'customHeaders', headers);
    if (acl !== undefined) config.acl = parseWebserverAcl(acl);
    if (env.clientMode) return;
    // At configuration time the webserver starts with the application; from the console, at once.
    if (env.configurationDone) void web.setAddress(address);
    else env.pending.push(web.setAddress(address));
  });

  rt.registerFunction('setWebserverConfig', (a: LuaArgs) => {
    if (a.isNil(0)) return;
    const o = new LuaOptions('setWebserverConfig', a.table(0));
    const hashPlaintext = o.boolean('hashPlaintextCredentials') ?? false;
    const password = o.string('password');
    const apiKey = o.string('apiKey');
    const acl = o.string('acl');
    const rawHeaders = o.raw('customHeaders');
    const stats = o.boolean('statsRequireAuthentication');
    const maxConnections = o.integer('maxConcurrentConnections');
    o.rejectUnknown();
    if (rawHeaders !== undefined && !(rawHeaders instanceof LuaTable)) {
      throw new LuaBindingError("setWebserverConfig: 'customHeaders' must be a table of strings keyed by strings");
    }
    if (maxConnections !== undefined && maxConnections < 0) {
      throw new LuaBindingError(`setWebserverConfig: 'maxConcurrentConnections' must be 0 or more, got ${maxConnections}`);
    }
    const aclGroup = acl !== undefined ? parseWebserverAcl(acl) : undefined;
    if (password !== undefined) config.password = credentials(password, hashPlaintext, 'password', 'setWebserverConfig');
    if (apiKey !== undefined) config.apiKey = credentials(apiKey, hashPlaintext, 'API key', 'setWebserverConfig');
    if (aclGroup) config.acl = aclGroup;
    if (rawHeaders instanceof LuaTable) config.customHeaders = stringTable('setWebserverConfig', 'customHeaders', rawHeaders);
    if (stats !== undefined) config.statsRequireAuthentication = stats;
    if (maxConnections !== undefined) config.maxConcurrentConnections = maxConnections;
  });

  rt.registerFunction('showWebserverConfig', () => config.describe());

  rt.registerFunction('hashPassword', (a: LuaArgs) => {
    const password = a.string(0);
    const workFactor = a.optInteger(1, DEFAULT_WORK_FACTOR);
    return hashPassword(password, workFactor);
  });

  rt.registerFunction('setAPIWritable', (a: LuaArgs) => {
    config.apiWritable = a.boolean(0);
    const dir = a.optString(1);
    if (dir !== undefined) config.apiConfigDir = dir;
  });

  // Calls a handler with two tables and hands back the response table it filled.
  const invoke = rt.runString('return function(fn, req, resp) fn(req, resp) return resp end', 'registerWebHandler')[0] as LuaFunctionRef;
  rt.registerFunction('registerWebHandler', (a: LuaArgs) => {
    const path = a.string(0);
    const fn: LuaFunctionLike = a.function(1);
    if (!path.startsWith('/')) throw new LuaBindingError(`registerWebHandler: the path must start with "/", got "${path}"`);
    web.routes.register(path, (req: WebRequest, res: WebResponse) => {
      const luaReq = {
        path: req.path,
        method: req.method,
        version: req.version,
        body: req.body,
        getvars: new Map(req.getvars),
        postvars: new Map(req.postvars),
        headers: new Map(Object.entries(req.headers)),
      };
      const luaResp = { status: res.status, body: String(res.body), headers: new Map(Object.entries(res.headers)) };
      const [out] = invoke.call(fn, luaReq, luaResp);
      readResponse(out, res);
    });
  });

  rt.registerFunction('addBPFMapGauge', (a: LuaArgs) => {
    const o = new LuaOptions('addBPFMapGauge', a.table(0));
    const name = o.string('name');
    const help = o.string('help') ?? '';
    const path = o.string('path');
    const key = o.raw('key');
    const offset = o.integer('offset') ?? 0;
    const length = o.integer('length') ?? 8;
    const type = o.string('type') ?? 'gauge';
    const byteOrder = o.string('byteOrder') ?? 'little';
    const labels = o.raw('labels');
    o.rejectUnknown();
    if (name === undefined) throw new LuaBindingError("addBPFMapGauge: the table needs a 'name' (the metric name)");
    if (path === undefined)
      throw new LuaBindingError('addBPFMapGauge: the table needs a \'path\' (the pinned map, e.g. "/sys/fs/bpf/dnsdist/xdpstats")');
    if (typeof key !== 'number' && typeof key !== 'string') {
      throw new LuaBindingError("addBPFMapGauge: 'key' must be an integer (array index) or a hex string of the key's bytes");
    }
    if (type !== 'gauge' && type !== 'counter')
      throw new LuaBindingError(`addBPFMapGauge: 'type' must be "gauge" or "counter", got "${type}"`);
    if (byteOrder !== 'little' && byteOrder !== 'big') {
      throw new LuaBindingError(`addBPFMapGauge: 'byteOrder' must be "little" or "big", got "${byteOrder}"`);
    }
    if (labels !== undefined && !(labels instanceof LuaTable))
      throw new LuaBindingError("addBPFMapGauge: 'labels' must be a table of strings");
    web.gauges.add({
      name,
      help: help === '' ? `Bytes ${offset}..${offset + length - 1} of the value of key ${String(key)} in ${path}` : help,
      path,
      key: parseGaugeKey(key),
      offset,
      length,
      type,
      byteOrder,
      labels: labels ? [...stringTable('addBPFMapGauge', 'labels', labels)] : [],
    });
  });
}
