/**
 * The Lua names of DNSCrypt (dnsdist 1.7): provider keys, certificates,
 * addDNSCryptBind and the console's view of its certificates.
 */
import { parseAddressWithPort, formatAddress } from '@dnsdist-ts/dns';
import { DNSCryptBind } from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-bind.js';
import {
  DNSCryptExchangeVersion,
  encodeCertificate,
  generateCertificate,
  type DNSCryptCertificate,
  type DNSCryptExchangeVersionCode,
} from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-certificate.js';
import {
  DNSCryptCertificatePair,
  DNSCryptContext,
  loadCertificatePair,
  RESOLVER_PRIVATE_KEY_SIZE,
} from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-context.js';
import {
  generateProviderKeys,
  PROVIDER_PRIVATE_KEY_SIZE,
  PROVIDER_PUBLIC_KEY_SIZE,
  providerFingerprint,
  readExactFile,
  writeKeyFile,
} from '@dnsdist-ts/dataplane/dnscrypt/dnscrypt-provider-keys.js';
import { LuaBytes } from './lua-bytes.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';

/** DNSCryptCert: one certificate as the console reads it. */
export class LuaDNSCryptCert {
  constructor(readonly cert: DNSCryptCertificate) {}
}

/** DNSCryptCertificatePair as the console reads it. */
export class LuaDNSCryptCertPair {
  constructor(readonly pair: DNSCryptCertificatePair) {}
}

function version(fn: string, a: LuaArgs, i: number): DNSCryptExchangeVersionCode {
  if (a.isNil(i)) return 1;
  const v = a.integer(i);
  if (v !== 1 && v !== 2)
    throw new Error(`${fn}: unknown DNSCrypt exchange version ${v}: use DNSCryptExchangeVersion.VERSION1 or VERSION2`);
  return v;
}

/** dnsdist's "DNSCrypt TXT" rendering of a 64-bit time as its console shows it: the number. */
export function registerDNSCryptBindings(env: LuaEnvironment): void {
  const rt = env.runtime;
  const proxy = env.proxy;
  const wrap = <T>(fn: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      return env.fail(`${fn}: ${(err as Error).message}`);
    }
  };
  rt.setGlobal('DNSCryptExchangeVersion', new Map(Object.entries(DNSCryptExchangeVersion)));

  rt.registerFunction('generateDNSCryptProviderKeys', (a) => {
    if (env.clientMode) return;
    wrap('generateDNSCryptProviderKeys', () => generateProviderKeys(a.string(0), a.string(1)));
  });
  rt.registerFunction('printDNSCryptProviderFingerprint', (a) => {
    if (env.clientMode) return;
    const key = wrap('printDNSCryptProviderFingerprint', () => readExactFile(a.string(0), PROVIDER_PUBLIC_KEY_SIZE, 'provider public key'));
    rt.print(`Provider fingerprint is: ${providerFingerprint(key)}`);
  });
  rt.registerFunction('generateDNSCryptCertificate', (a) => {
    if (env.clientMode) return;
    const fn = 'generateDNSCryptCertificate';
    wrap(fn, () => {
      const providerKey = readExactFile(a.string(0), PROVIDER_PRIVATE_KEY_SIZE, 'provider private key');
      const { cert, keys } = generateCertificate(providerKey, a.integer(3), a.integer(4), a.integer(5), version(fn, a, 6));
      writeKeyFile(a.string(1), encodeCertificate(cert), 0o644);
      writeKeyFile(a.string(2), keys.privateKey, 0o600);
    });
  });

  rt.registerFunction('addDNSCryptBind', (a) => {
    const fn = 'addDNSCryptBind';
    if (env.clientMode || !env.configOnly(fn)) return;
    wrap(fn, () => {
      const address = a.string(0);
      const certs = a.stringOrStrings(2);
      const keys = a.stringOrStrings(3);
      if (certs.length !== keys.length)
        throw new Error(
          `${certs.length} certificate file(s) but ${keys.length} key file(s): give one key per certificate, in the same order`,
        );
      const opts = new LuaOptions(fn, a.optTable(4));
      const doTCP = opts.boolean('doTCP') ?? true;
      const reusePort = opts.boolean('reusePort') ?? false;
      // Socket tuning dnsdist applies to every listener; accepted, with no effect here (docs/compatibility.md).
      const nonNegative = (key: string): number | undefined => {
        const v = opts.integer(key);
        if (v !== undefined && v < 0) throw new Error(`option '${key}' must be 0 or more, got ${v}`);
        return v;
      };
      const maxConcurrentTCPConnections = nonNegative('maxConcurrentTCPConnections');
      const tcpListenQueueSize = nonNegative('tcpListenQueueSize');
      opts.accept('tcpFastOpenQueueSize', 'interface', 'cpus', 'maxInFlight');
      opts.rejectUnknown();
      const ap = parseAddressWithPort(address, 443);
      const pairs = certs.map((c, i) => loadCertificatePair(c, keys[i]!));
      const ctx = new DNSCryptContext(
        a.string(1),
        pairs,
        certs.map((certFile, i) => ({ certFile, keyFile: keys[i]! })),
      );
      proxy.dnscryptBinds.push(
        new DNSCryptBind(
          {
            host: formatAddress(ap.bytes),
            port: ap.port,
            doTCP,
            reusePort,
            maxConcurrentTCPConnections,
            tcpListenQueueSize,
            requestedBy: `${fn}(${JSON.stringify(address)})`,
          },
          ctx,
        ),
      );
    });
  });

  rt.registerFunction('getDNSCryptBind', (a) => proxy.dnscryptBinds[a.integer(0)]?.context ?? null);
  rt.registerFunction('getDNSCryptBindCount', () => proxy.dnscryptBinds.length);
  rt.registerFunction('showDNSCryptBinds', () => {
    rt.print(`${'#'.padEnd(3)} ${'Address'.padEnd(20)} ${'Provider Name'.padEnd(20)}`);
    proxy.dnscryptBinds.forEach((b, i) => {
      rt.print(`${String(i).padEnd(3)} ${b.local.toStringWithPort().padEnd(20)} ${b.context.providerName.padEnd(20)}`);
    });
  });

  const pairAt = (ctx: DNSCryptContext, fn: string, i: number): DNSCryptCertificatePair => {
    const p = ctx.pairs[i];
    if (p === undefined) throw new Error(`${fn}: there is no certificate at index ${i} (${ctx.pairs.length} loaded)`);
    return p;
  };
  rt.defineClass(DNSCryptContext, 'DNSCryptContext', {
    getProviderName: (c) => c.providerName,
    getCertificate: (c, a) => wrap('getCertificate', () => new LuaDNSCryptCert(pairAt(c, 'getCertificate', a.integer(0)).cert)),
    getCertificatePair: (c, a) => wrap('getCertificatePair', () => new LuaDNSCryptCertPair(pairAt(c, 'getCertificatePair', a.integer(0)))),
    getCertificatePairs: (c) => c.pairs.map((p) => new LuaDNSCryptCertPair(p)),
    loadNewCertificate: (c, a) =>
      wrap('loadNewCertificate', () => c.loadNewCertificate(a.string(0), a.string(1), a.optBoolean(2, true), a.optBoolean(3, false))),
    addNewCertificate: (c, a) =>
      wrap('addNewCertificate', () => {
        const cert = a.object(0, LuaDNSCryptCert, 'a DNSCryptCert').cert;
        const key = a.string(1);
        if (Buffer.byteLength(key, 'latin1') !== RESOLVER_PRIVATE_KEY_SIZE)
          throw new Error(`the private key must be ${RESOLVER_PRIVATE_KEY_SIZE} bytes`);
        c.addPair(new DNSCryptCertificatePair(cert, Buffer.from(key, 'latin1')), a.optBoolean(2, true));
      }),
    generateAndLoadInMemoryCertificate: (c, a) =>
      wrap('generateAndLoadInMemoryCertificate', () =>
        c.generateAndLoadInMemoryCertificate(
          a.string(0),
          a.integer(1),
          a.integer(2),
          a.integer(3),
          version('generateAndLoadInMemoryCertificate', a, 4),
        ),
      ),
    markActive: (c, a) => wrap('markActive', () => c.markActive(a.integer(0))),
    markInactive: (c, a) => wrap('markInactive', () => c.markInactive(a.integer(0))),
    removeInactiveCertificate: (c, a) => wrap('removeInactiveCertificate', () => c.removeInactiveCertificate(a.integer(0))),
    toString: (c: DNSCryptContext) => `DNSCryptContext(${c.providerName})`,
  });
  rt.defineClass(LuaDNSCryptCertPair, 'DNSCryptCertificatePair', {
    getCertificate: (p) => new LuaDNSCryptCert(p.pair.cert),
    isActive: (p) => p.pair.active,
  });
  rt.defineClass(LuaDNSCryptCert, 'DNSCryptCert', {
    getMagic: () => new LuaBytes(Buffer.from('DNSC', 'latin1')),
    getEsVersion: (c) => new LuaBytes(Buffer.from([0, c.cert.version])),
    getProtocolMinorVersion: (c) => new LuaBytes(Buffer.from([c.cert.minorVersion >> 8, c.cert.minorVersion & 0xff])),
    getSignature: (c) => new LuaBytes(c.cert.signature),
    getResolverPublicKey: (c) => new LuaBytes(c.cert.resolverPublicKey),
    getClientMagic: (c) => new LuaBytes(c.cert.clientMagic),
    getSerial: (c) => c.cert.serial,
    getTSStart: (c) => c.cert.validFrom,
    getTSEnd: (c) => c.cert.validUntil,
  });
}
