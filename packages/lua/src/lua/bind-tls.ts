import { formatAddress, parseAddress, parseAddressWithPort } from '@dnsdist-ts/dns';
import { SocketAddress } from '@dnsdist-ts/dataplane/query/client-address.js';
import { SNIRule } from '@dnsdist-ts/dataplane/rules/selectors/sni-rule.js';
import type { TlsFrontendConfig } from '@dnsdist-ts/dataplane/server/tls-frontend.js';
import { generateOcspResponse } from '@dnsdist-ts/dataplane/tls/ocsp-response-generator.js';
import { TlsServerContext } from '@dnsdist-ts/dataplane/tls/tls-server-context.js';
import {
  MIN_TLS_VERSIONS,
  defaultTlsServerSettings,
  type CertificateKeyPair,
  type MinTlsVersion,
  type TlsServerSettings,
} from '@dnsdist-ts/dataplane/tls/tls-server-settings.js';
import { LuaRule } from './bind-rules.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';

/** getTLSFrontend(n): one DoT listener as the console sees it. */
export class LuaTlsFrontend {
  constructor(readonly config: TlsFrontendConfig) {}

  get context(): TlsServerContext {
    return this.config.tls;
  }

  addressAndPort(): string {
    return new SocketAddress(parseAddress(this.config.host).bytes, this.config.port).toStringWithPort();
  }
}

/** Certificates and keys of addTLSLocal / loadNewCertificatesAndKeys: a file or a table of files each, paired in order. */
function certificatePairs(fn: string, args: LuaArgs, certIndex: number): CertificateKeyPair[] {
  const certs = args.stringOrStrings(certIndex);
  const keys = args.stringOrStrings(certIndex + 1);
  if (certs.length !== keys.length) {
    throw new Error(
      `${fn}: ${certs.length} certificate file(s) but ${keys.length} key file(s): give one key per certificate, in the same order`,
    );
  }
  if (certs.length === 0) throw new Error(`${fn}: no certificate given: a TLS frontend needs at least one certificate and its key`);
  return certs.map((certFile, i) => ({ certFile, keyFile: keys[i]! }));
}

function nonNegative(fn: string, opts: LuaOptions, key: string): number | undefined {
  const v = opts.integer(key);
  if (v !== undefined && v < 0) throw new Error(`${fn}: option '${key}' must be 0 or more, got ${v}`);
  return v;
}

/** addTLSLocal's option table: the TLS settings (listener settings are read by tlsFrontendConfigFrom). */
function tlsSettingsFrom(fn: string, pairs: CertificateKeyPair[], opts: LuaOptions): TlsServerSettings {
  const s = defaultTlsServerSettings(pairs);
  const provider = opts.string('provider');
  if (provider !== undefined) {
    const p = provider.toLowerCase();
    if (p !== 'openssl' && p !== 'gnutls')
      throw new Error(`${fn}: unknown TLS provider '${provider}': use "openssl" (or "gnutls", which runs on OpenSSL here)`);
    s.provider = p;
  }
  const min = opts.string('minTLSVersion');
  if (min !== undefined) {
    if (!(min in MIN_TLS_VERSIONS))
      throw new Error(`${fn}: unknown minTLSVersion '${min}': use one of ${Object.keys(MIN_TLS_VERSIONS).join(', ')}`);
    s.minTLSVersion = min as MinTlsVersion;
  }
  s.ciphers = opts.string('ciphers') ?? s.ciphers;
  s.ciphersTLS13 = opts.string('ciphersTLS13') ?? s.ciphersTLS13;
  s.numberOfTicketsKeys = nonNegative(fn, opts, 'numberOfTicketsKeys') ?? s.numberOfTicketsKeys;
  s.ticketKeyFile = opts.string('ticketKeyFile') ?? s.ticketKeyFile;
  s.ticketsKeysRotationDelay = nonNegative(fn, opts, 'ticketsKeysRotationDelay') ?? s.ticketsKeysRotationDelay;
  s.sessionTickets = opts.boolean('sessionTickets') ?? s.sessionTickets;
  s.sessionTimeout = nonNegative(fn, opts, 'sessionTimeout') ?? s.sessionTimeout;
  s.preferServerCiphers = opts.boolean('preferServerCiphers') ?? s.preferServerCiphers;
  s.keyLogFile = opts.string('keyLogFile') ?? s.keyLogFile;
  const ocsp = opts.stringOrStrings('ocspResponses');
  if (ocsp !== undefined) {
    if (ocsp.length > pairs.length)
      throw new Error(
        `${fn}: ${ocsp.length} OCSP response file(s) for ${pairs.length} certificate(s): at most one per certificate, in the same order`,
      );
    s.ocspResponseFiles = ocsp;
  }
  // dnsdist keeps a server-side session cache (TLS <= 1.2 session IDs) of this size; dnsdist-ts resumes through tickets only.
  nonNegative(fn, opts, 'numberOfStoredSessions');
  return s;
}

/** addTLSLocal(addr, certs, keys [, opts]) as a listener configuration (port 853 by default). */
export function tlsFrontendConfigFrom(fn: string, args: LuaArgs): TlsFrontendConfig {
  const address = args.string(0);
  let parsed;
  try {
    parsed = parseAddressWithPort(address, 853);
  } catch (err) {
    throw new Error(`${fn}: ${(err as Error).message}`);
  }
  const pairs = certificatePairs(fn, args, 1);
  const opts = new LuaOptions(fn, args.optTable(3));
  const settings = tlsSettingsFrom(fn, pairs, opts);
  const reusePort = opts.boolean('reusePort') ?? false;
  const config = {
    host: formatAddress(parsed.bytes),
    port: parsed.port,
    reusePort: false,
    tcpListenQueueSize: opts.integer('tcpListenQueueSize') ?? 511,
    maxInFlight: opts.integer('maxInFlight') ?? 0,
    maxConcurrentTCPConnections: opts.integer('maxConcurrentTCPConnections') ?? 0,
    tcpFastOpenQueueSize: opts.integer('tcpFastOpenQueueSize') ?? 0,
    interface: opts.string('interface') ?? '',
    cpus: [],
    fromCommandLine: false,
    requestedBy: `${fn}(${JSON.stringify(address)})`,
  };
  const cpus = opts.raw('cpus');
  opts.rejectUnknown();
  if (reusePort) {
    throw new Error(
      `${fn}: reusePort is not available for TLS listeners (Node 20's TCP listeners cannot share a port); remove the option or run one listener per port`,
    );
  }
  if (cpus !== undefined) throw new Error(`${fn}: pinning listeners to CPUs ('cpus' option) is not supported; remove the option`);
  if (config.interface !== '')
    throw new Error(`${fn}: binding to an interface ('interface' option) is not supported yet; listen on its address instead`);
  // Certificates are read now: a missing or mismatched file stops the configuration with its name.
  let tls: TlsServerContext;
  try {
    tls = new TlsServerContext(settings);
  } catch (err) {
    throw new Error(`${fn}: ${(err as Error).message}`);
  }
  return { ...config, tls };
}

function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const ERROR_COLUMNS = [
  'DH key too small',
  'Inappropriate fallback',
  'No shared cipher',
  'Unknown cipher type',
  'Unknown exchange type',
  'Unknown protocol',
  'Unsupported EC',
  'Unsupported protocol',
];

/** DNS over TLS: addTLSLocal, the TLS contexts and frontends, reloads, SNIRule, OCSP responses. */
export function registerTlsBindings(env: LuaEnvironment): void {
  const rt = env.runtime;
  const proxy = env.proxy;
  const wrap = <T>(fn: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      return env.fail(`${fn}: ${(err as Error).message}`);
    }
  };

  rt.registerFunction('addTLSLocal', (args) => {
    if (env.clientMode || !env.configOnly('addTLSLocal')) return;
    const cfg = tlsFrontendConfigFrom('addTLSLocal', args);
    if (cfg.tls.settings.provider === 'gnutls') {
      proxy.log.info(`addTLSLocal("${args.string(0)}"): provider "gnutls" runs on OpenSSL (Node's TLS) in dnsdist-ts`);
    }
    proxy.addTlsLocal(cfg);
  });

  rt.registerFunction('getTLSFrontendCount', () => proxy.tlsFrontendConfigs.length);
  rt.registerFunction('getTLSContext', (args) => proxy.tlsFrontendConfigs[args.integer(0)]?.tls ?? null);
  rt.registerFunction('getTLSFrontend', (args) => {
    const c = proxy.tlsFrontendConfigs[args.integer(0)];
    return c ? new LuaTlsFrontend(c) : null;
  });

  rt.defineClass(TlsServerContext, 'TLSContext', {
    rotateTicketsKey: (c) => c.rotateTicketsKey(),
    loadTicketsKeys: (c, a) => wrap('loadTicketsKeys', () => c.loadTicketsKeys(a.string(0))),
  });
  rt.defineClass(LuaTlsFrontend, 'TLSFrontend', {
    getAddressAndPort: (f) => f.addressAndPort(),
    rotateTicketsKey: (f) => f.context.rotateTicketsKey(),
    loadTicketsKeys: (f, a) => wrap('loadTicketsKeys', () => f.context.loadTicketsKeys(a.string(0))),
    reloadCertificates: (f) => wrap('reloadCertificates', () => f.context.reloadCertificates()),
    loadNewCertificatesAndKeys: (f, a) =>
      wrap('loadNewCertificatesAndKeys', () => f.context.loadNewCertificatesAndKeys(certificatePairs('loadNewCertificatesAndKeys', a, 0))),
    toString: (f: LuaTlsFrontend) => f.addressAndPort(),
  });

  rt.registerFunction('reloadAllCertificates', () => {
    // DoT, DoH (both read their files with tls/certificate-files.ts) and DNSCrypt listeners; a failure leaves that listener as it was.
    const reloads: Array<[string, () => void]> = [
      ...proxy.tlsFrontendConfigs.map((c): [string, () => void] => [`${c.host}:${c.port}`, () => c.tls.reloadCertificates()]),
      ...proxy.dohFrontends.map((d): [string, () => void] => [d.local.toStringWithPort(), () => d.reloadCertificates()]),
      ...proxy.dnscryptBinds.map((b): [string, () => void] => [b.local.toStringWithPort(), () => b.context.reloadCertificates()]),
    ];
    for (const [where, reload] of reloads) {
      try {
        reload();
      } catch (err) {
        const line = `Error reloading certificates for frontend ${where}: ${(err as Error).message}`;
        proxy.log.error(line);
        if (env.configurationDone) rt.print(line);
      }
    }
  });

  rt.registerFunction('showTLSContexts', () => {
    rt.print(
      `${'#'.padEnd(4)}${'Address'.padEnd(21)}${'# ticket keys'.padEnd(15)}${'Rotation delay'.padEnd(15)}${'Next rotation'.padEnd(21)}`,
    );
    proxy.tlsFrontendConfigs.forEach((c, i) => {
      const f = new LuaTlsFrontend(c);
      const next = c.tls.nextRotationAt === 0 ? '' : localTime(c.tls.nextRotationAt);
      rt.print(
        `${String(i).padEnd(4)}${f.addressAndPort().padEnd(21)}${String(c.tls.ticketKeys.size).padEnd(15)}${String(c.tls.settings.ticketsKeysRotationDelay).padEnd(15)}${next.padEnd(21)}`,
      );
    });
  });

  rt.registerFunction('showTLSErrorCounters', () => {
    rt.print(`${'#'.padEnd(4)}${'Address'.padEnd(21)}${ERROR_COLUMNS.map((c) => c.padEnd(24)).join('')}`);
    proxy.tlsFrontendConfigs.forEach((c, i) => {
      const running = proxy.tlsFrontends.find((r) => r.config === c);
      const counts = running ? [...running.tls.counters.handshakeFailures.values()] : ERROR_COLUMNS.map(() => 0);
      rt.print(
        `${String(i).padEnd(4)}${new LuaTlsFrontend(c).addressAndPort().padEnd(21)}${counts.map((n) => String(n).padEnd(24)).join('')}`,
      );
    });
  });

  rt.registerFunction('generateOCSPResponse', (args) => {
    wrap('generateOCSPResponse', () =>
      generateOcspResponse({
        certFile: args.string(0),
        caCertFile: args.string(1),
        caKeyFile: args.string(2),
        outFile: args.string(3),
        validityDays: args.integer(4),
        validityMinutes: args.integer(5),
      }),
    );
  });

  rt.registerFunction('SNIRule', (a) => new LuaRule(new SNIRule(a.string(0))));
}
