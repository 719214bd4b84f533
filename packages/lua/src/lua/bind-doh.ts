import { formatAddress, parseAddressWithPort } from '@dnsdist-ts/dns';
import { loadCertificateFiles, pairCertificateFiles } from '@dnsdist-ts/dataplane/tls/certificate-files.js';
import {
  DEFAULT_DOH_URL,
  DEFAULT_SERVER_TOKENS,
  type DohFrontendConfig,
  type DohTlsSettings,
} from '@dnsdist-ts/dataplane/doh/doh-config.js';
import { formatDohFrontends, formatDohResponseCodes } from '@dnsdist-ts/dataplane/doh/doh-console-texts.js';
import { DohFrontend } from '@dnsdist-ts/dataplane/doh/doh-frontend.js';
import { DohResponseMapEntry } from '@dnsdist-ts/dataplane/doh/doh-response-map.js';
import { HTTPStatusAction } from '@dnsdist-ts/dataplane/rules/actions/http-status-action.js';
import { HTTPHeaderRule } from '@dnsdist-ts/dataplane/rules/selectors/http-header-rule.js';
import { HTTPPathRegexRule } from '@dnsdist-ts/dataplane/rules/selectors/http-path-regex-rule.js';
import { HTTPPathRule } from '@dnsdist-ts/dataplane/rules/selectors/http-path-rule.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import { LuaAction, LuaRule } from './bind-rules.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaTable, type LuaValue } from './lua-table.js';

const MIN_TLS_VERSIONS: Record<string, DohTlsSettings['minVersion']> = {
  'tls1.0': 'TLSv1',
  'tls1.1': 'TLSv1.1',
  'tls1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3',
};

/** `tls:getTLSContext()` of a DoH frontend: its tickets key handling. */
export class DohTlsContext {
  readonly frontend: DohFrontend;
  constructor(frontend: DohFrontend) {
    this.frontend = frontend;
  }
}

function stringList(fn: string, what: string, v: LuaValue): string[] {
  if (v === undefined) return [];
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (v instanceof LuaTable) {
    return v.values().map((x) => {
      if (typeof x !== 'string') throw new Error(`${fn}: ${what} must be a string or a table of strings`);
      return x;
    });
  }
  throw new Error(`${fn}: ${what} must be a string or a table of strings`);
}

/** Header tables ({["x-foo"]="bar"}): names lower-cased as dnsdist sends them. */
function headerTable(fn: string, what: string, v: LuaValue): Array<[string, string]> {
  if (v === undefined) return [];
  if (!(v instanceof LuaTable)) throw new Error(`${fn}: ${what} must be a table of header names to values`);
  const out: Array<[string, string]> = [];
  for (const [k, val] of v.entries) {
    if (typeof k !== 'string' || (typeof val !== 'string' && typeof val !== 'number')) {
      throw new Error(`${fn}: ${what} must be a table of header names to string values`);
    }
    out.push([k.toLowerCase(), String(val)]);
  }
  return out;
}

/** Parse addDOHLocal's arguments (dnsdist 1.7's options, and 1.8's keepIncomingHeaders and library). */
export function dohFrontendConfigFrom(args: LuaArgs, warn: (line: string) => void): DohFrontendConfig {
  const fn = 'addDOHLocal';
  const address = args.string(0);
  let parsed;
  try {
    parsed = parseAddressWithPort(address, 443);
  } catch (err) {
    throw new Error(`${fn}: ${(err as Error).message}`);
  }
  const certFiles = stringList(fn, 'the certificate files', args.raw(1));
  const keyFiles = stringList(fn, 'the key files', args.raw(2));
  if (certFiles.length !== keyFiles.length) {
    throw new Error(`${fn}: ${certFiles.length} certificate file(s) but ${keyFiles.length} key file(s): give one key per certificate`);
  }
  const urls = args.isNil(3) ? [DEFAULT_DOH_URL] : stringList(fn, 'the URLs', args.raw(3));
  for (const u of urls) {
    if (!u.startsWith('/')) throw new Error(`${fn}: the URL path '${u}' must start with '/'`);
  }
  const o = new LuaOptions(fn, args.optTable(4));
  const minTLS = o.string('minTLSVersion');
  if (minTLS !== undefined && MIN_TLS_VERSIONS[minTLS] === undefined) {
    throw new Error(`${fn}: unknown minTLSVersion '${minTLS}': use 'tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3'`);
  }
  const tls: DohTlsSettings = {
    ciphers: o.string('ciphers'),
    ciphersTLS13: o.string('ciphersTLS13'),
    minVersion: MIN_TLS_VERSIONS[minTLS ?? 'tls1.0']!,
    sessionTickets: o.boolean('sessionTickets') ?? true,
    numberOfTicketsKeys: o.integer('numberOfTicketsKeys') ?? 5,
    ticketKeyFile: o.string('ticketKeyFile'),
    ticketsKeysRotationDelay: o.integer('ticketsKeysRotationDelay') ?? 43200,
    sessionTimeout: o.integer('sessionTimeout') ?? 7200,
    preferServerCiphers: o.boolean('preferServerCiphers') ?? true,
    keyLogFile: o.string('keyLogFile'),
    ocspResponseFiles: o.stringOrStrings('ocspResponses') ?? [],
    enableRenegotiation: o.boolean('enableRenegotiation') ?? false,
  };
  const config: DohFrontendConfig = {
    host: formatAddress(parsed.bytes),
    port: parsed.port,
    certFiles,
    keyFiles,
    urls,
    reusePort: o.boolean('reusePort') ?? false,
    tcpListenQueueSize: o.integer('tcpListenQueueSize') ?? 511,
    tcpFastOpenQueueSize: o.integer('tcpFastOpenQueueSize') ?? 0,
    maxConcurrentTCPConnections: o.integer('maxConcurrentTCPConnections') ?? 0,
    idleTimeoutSeconds: o.integer('idleTimeout') ?? 30,
    serverTokens: o.string('serverTokens') ?? DEFAULT_SERVER_TOKENS,
    customResponseHeaders: headerTable(fn, "option 'customResponseHeaders'", o.raw('customResponseHeaders')),
    sendCacheControlHeaders: o.boolean('sendCacheControlHeaders') ?? true,
    trustForwardedForHeader: o.boolean('trustForwardedForHeader') ?? false,
    exactPathMatching: o.boolean('exactPathMatching') ?? true,
    tls,
    requestedBy: `addDOHLocal(${JSON.stringify(address)})`,
  };
  // Read for their type; what they tune does not exist here (see docs/transports.md).
  o.integer('internalPipeBufferSize');
  o.integer('numberOfStoredSessions');
  o.boolean('releaseBuffers');
  o.boolean('keepIncomingHeaders');
  const library = o.string('library');
  if (library !== undefined && library !== 'h2o' && library !== 'nghttp2') {
    throw new Error(`${fn}: unknown library '${library}': dnsdist knows 'h2o' and 'nghttp2' (dnsdist-ts uses Node's HTTP/2 either way)`);
  }
  const iface = o.string('interface');
  const cpus = o.raw('cpus');
  const additional = o.raw('additionalAddresses');
  const ignoreTLSErrors = o.boolean('ignoreTLSConfigurationErrors') ?? false;
  o.rejectUnknown();
  if (iface !== undefined && iface !== '') {
    throw new Error(`${fn}: binding to an interface ('interface' option) is not supported yet; listen on its address instead`);
  }
  if (cpus !== undefined) throw new Error(`${fn}: pinning listeners to CPUs ('cpus' option) is not supported; remove the option`);
  if (additional !== undefined && stringList(fn, "option 'additionalAddresses'", additional).length > 0) {
    throw new Error(`${fn}: 'additionalAddresses' is not supported yet; add one addDOHLocal per address`);
  }
  if (certFiles.length > 0) {
    try {
      loadCertificateFiles(pairCertificateFiles(certFiles, keyFiles));
    } catch (err) {
      const msg = `Error setting up TLS context for DoH listener on '${address}': ${(err as Error).message}`;
      if (!ignoreTLSErrors) throw new Error(`${fn}: ${msg}`);
      warn(`${msg} (ignored: ignoreTLSConfigurationErrors is set, the listener is not started)`);
      config.urls = [];
    }
  }
  return config;
}

export function registerDohBindings(env: LuaEnvironment): void {
  const rt = env.runtime;
  const proxy = env.proxy;

  rt.registerFunction('addDOHLocal', (args) => {
    if (env.clientMode || !env.configOnly('addDOHLocal')) return;
    const config = dohFrontendConfigFrom(args, (line) => env.warn(line));
    if (config.urls.length === 0) return;
    if (config.certFiles.length === 0) {
      rt.print(
        `No certificate provided for DoH endpoint ${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}, running in DNS over HTTP mode instead of DNS over HTTPS`,
      );
    }
    proxy.dohFrontends.push(new DohFrontend(config, proxy.processor, (line) => proxy.log.warn(line)));
  });

  rt.registerFunction('getDOHFrontendCount', () => proxy.dohFrontends.length);
  rt.registerFunction('getDOHFrontend', (args) => {
    const n = args.integer(0);
    const f = proxy.dohFrontends[n];
    if (f === undefined) {
      rt.print(`Error: trying to get DOH frontend with index ${n} but we only have ${proxy.dohFrontends.length} frontend(s)`);
      return undefined;
    }
    return f;
  });
  rt.registerFunction('showDOHFrontends', () => {
    rt.print(formatDohFrontends(proxy.dohFrontends).replace(/\n$/, ''));
  });
  rt.registerFunction('showDOHResponseCodes', () => {
    rt.print(formatDohResponseCodes(proxy.dohFrontends).replace(/\n$/, ''));
  });

  rt.defineClass(DohResponseMapEntry, 'DOHResponseMapEntry', {});
  rt.registerFunction('newDOHResponseMapEntry', (args) => {
    const headers = args.isNil(3) ? undefined : headerTable('newDOHResponseMapEntry', 'the headers', args.raw(3));
    return new DohResponseMapEntry(args.string(0), args.integer(1), Buffer.from(args.bytes(2)), headers);
  });

  rt.defineClass<DohFrontend>(DohFrontend, 'DOHFrontend', {
    setResponsesMap: (f, a) => {
      const entries = a
        .table(0)
        .values()
        .map((v) =>
          v instanceof DohResponseMapEntry ? v : a.fail(0, 'a table of DOHResponseMapEntry objects (newDOHResponseMapEntry())'),
        );
      f.responsesMap = entries;
    },
    reloadCertificates: (f) => f.reloadCertificates(),
    loadNewCertificatesAndKeys: (f, a) => {
      const certs = stringList('loadNewCertificatesAndKeys', 'the certificate files', a.raw(0));
      const keys = stringList('loadNewCertificatesAndKeys', 'the key files', a.raw(1));
      f.loadNewCertificatesAndKeys(certs, keys);
    },
    rotateTicketsKey: (f) => f.rotateTicketsKey(),
    loadTicketsKeys: (f, a) => f.loadTicketsKeys(a.string(0)),
    getTLSContext: (f) => new DohTlsContext(f),
    getAddressAndPort: (f) => f.local.toStringWithPort(),
  });
  rt.defineClass<DohTlsContext>(DohTlsContext, 'TLSCtx', {
    rotateTicketsKey: (c) => c.frontend.rotateTicketsKey(),
    loadTicketsKeys: (c, a) => c.frontend.loadTicketsKeys(a.string(0)),
    getTicketsKeysCount: (c) => c.frontend.ticketsKeysCount,
    getTicketsKeyRotationDelay: (c) => c.frontend.config.tls.ticketsKeysRotationDelay,
    getNextTicketsKeyRotation: (c) => c.frontend.nextTicketsKeyRotation,
  });

  const sel = (name: string, make: (a: LuaArgs) => HTTPPathRule | HTTPPathRegexRule | HTTPHeaderRule): void =>
    rt.registerFunction(name, (a) => new LuaRule(make(a)));
  sel('HTTPPathRule', (a) => new HTTPPathRule(a.string(0)));
  sel('HTTPPathRegexRule', (a) => new HTTPPathRegexRule(a.string(0)));
  sel('HTTPHeaderRule', (a) => new HTTPHeaderRule(a.string(0), a.string(1)));
  rt.registerFunction('HTTPStatusAction', (a) => {
    const o = new LuaOptions('HTTPStatusAction', a.optTable(3));
    const aa = o.boolean('aa');
    const ad = o.boolean('ad');
    const ra = o.boolean('ra');
    o.rejectUnknown();
    return new LuaAction(
      new HTTPStatusAction(a.integer(0), Buffer.from(a.bytes(1)), a.optString(2, '') ?? '', {
        ...(aa !== undefined ? { aa } : {}),
        ...(ad !== undefined ? { ad } : {}),
        ...(ra !== undefined ? { ra } : {}),
      }),
    );
  });
}
