import { formatAddressWithPort, parseAddressWithPort, parseQType } from '@dnsdist-ts/dns';
import { DownstreamServer, newServerId, type DownstreamServerConfig } from '@dnsdist-ts/dataplane/backend/downstream-server.js';
import { ConsistentHashPolicy } from '@dnsdist-ts/dataplane/backend/policies/consistent-hash.js';
import { FirstAvailablePolicy } from '@dnsdist-ts/dataplane/backend/policies/first-available.js';
import { LeastOutstandingPolicy } from '@dnsdist-ts/dataplane/backend/policies/least-outstanding.js';
import { RoundRobinPolicy } from '@dnsdist-ts/dataplane/backend/policies/round-robin.js';
import type { ServerPolicy } from '@dnsdist-ts/dataplane/backend/policies/server-policy.js';
import { WeightedHashedPolicy, WeightedRandomPolicy } from '@dnsdist-ts/dataplane/backend/policies/weighted-random.js';
import { ServerPool } from '@dnsdist-ts/dataplane/backend/server-pool.js';
import { PacketCache } from '@dnsdist-ts/dataplane/cache/index.js';
import { statisticsOf } from '@dnsdist-ts/dataplane/stats/counter-cells.js';
import { LuaOptions } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';
import { LuaTable } from './lua-table.js';
import { checkFunctionFrom } from './lua-check-function.js';
import { TlsClientContext, defaultTlsClientSettings } from '@dnsdist-ts/dataplane/tls/tls-client-context.js';
import { SERVER_WEIGHT_MAX, ServerWeightError } from './server-weight-error.js';
import type { DohBackendSettings } from '@dnsdist-ts/dataplane/backend/doh-backend-pool.js';

/** A policy as a Lua value: `leastOutstanding`, `roundrobin`, … */
export class LuaServerPolicy {
  readonly policy: ServerPolicy;
  constructor(policy: ServerPolicy) {
    this.policy = policy;
  }
  toString(): string {
    return `ServerPolicy "${this.policy.name}"`;
  }
}

/** newServer's outgoing-TLS options: a TlsClientContext when `tls` is set; TLS options without it are refused. */
function tlsClientFrom(opts: LuaOptions): TlsClientContext | undefined {
  const provider = opts.string('tls');
  const given = ['subjectName', 'subjectAddr', 'caStore', 'validateCertificates', 'ciphers', 'ciphersTLS13'].filter((k) => opts.has(k));
  if (provider === undefined) {
    if (given.length > 0)
      throw new Error(`newServer: ${given.map((k) => `'${k}'`).join(', ')} only apply to TLS backends: add tls="openssl"`);
    return undefined;
  }
  const p = provider.toLowerCase();
  if (p !== 'openssl' && p !== 'gnutls')
    throw new Error(`newServer: unknown TLS provider '${provider}': use "openssl" (or "gnutls", which runs on OpenSSL here)`);
  const s = defaultTlsClientSettings(p);
  s.subjectName = opts.string('subjectName') ?? '';
  s.subjectAddr = opts.string('subjectAddr') ?? '';
  s.caStore = opts.string('caStore') ?? '';
  s.validateCertificates = opts.boolean('validateCertificates') ?? true;
  s.ciphers = opts.string('ciphers') ?? '';
  s.ciphersTLS13 = opts.string('ciphersTLS13') ?? '';
  // Buffer handling of dnsdist's OpenSSL use: nothing to release in Node.
  opts.accept('releaseBuffers');
  if (opts.boolean('enableRenegotiation'))
    throw new Error("newServer: 'enableRenegotiation' is not supported (Node's TLS clients refuse renegotiation)");
  try {
    return new TlsClientContext(s);
  } catch (err) {
    throw new Error(`newServer: ${(err as Error).message}`);
  }
}

/** newServer's DoH options: dohPath makes a DoH backend; addXForwardedHeaders only applies to one. */
function dohBackendFrom(opts: LuaOptions): DohBackendSettings | undefined {
  const path = opts.string('dohPath');
  const xff = opts.boolean('addXForwardedHeaders');
  if (path === undefined) {
    if (xff !== undefined)
      throw new Error('newServer: \'addXForwardedHeaders\' only applies to DNS over HTTPS backends: add dohPath="/dns-query"');
    return undefined;
  }
  if (!path.startsWith('/')) throw new Error(`newServer: dohPath must be an absolute HTTP path such as "/dns-query", got "${path}"`);
  if ([...path].some((ch) => ch.charCodeAt(0) <= 0x20 || ch.charCodeAt(0) === 0x7f))
    throw new Error(`newServer: dohPath must not contain spaces or control characters, got ${JSON.stringify(path)}`);
  return { path, addXForwardedHeaders: xff ?? false };
}

/**
 * newServer's argument (string or table) → a complete config with dnsdist's defaults.
 *
 * @throws ServerWeightError for a whole-number weight outside 1..2147483647 (newServer logs it and goes on, as dnsdist).
 * @throws LuaBindingError or Error for any other bad option.
 */
export function serverConfigFrom(arg: string | LuaTable): DownstreamServerConfig {
  const opts = new LuaOptions('newServer', typeof arg === 'string' ? undefined : arg);
  const addressText = typeof arg === 'string' ? arg : opts.string('address');
  if (addressText === undefined) throw new Error('newServer: the table needs an \'address\' ("ip[:port]")');
  let address;
  try {
    address = parseAddressWithPort(addressText, 53);
  } catch (err) {
    throw new Error(`Error creating new server with address ${addressText}: ${(err as Error).message}`);
  }
  const checkTypeText = opts.string('checkType') ?? 'A';
  const checkType = parseQType(checkTypeText);
  if (checkType === undefined) throw new Error(`newServer: unknown checkType '${checkTypeText}'`);
  const weight = opts.integer('weight') ?? 1;
  if (weight < 1 || weight > SERVER_WEIGHT_MAX) throw new ServerWeightError(weight);
  const config: DownstreamServerConfig = {
    address,
    name: opts.string('name') ?? '',
    pools: opts.stringOrStrings('pool') ?? [],
    weight,
    order: opts.integer('order') ?? 1,
    qps: opts.integer('qps') ?? 0,
    checkName: opts.string('checkName') ?? 'a.root-servers.net.',
    checkType,
    checkClass: opts.integer('checkClass') ?? 1,
    checkInterval: opts.integer('checkInterval') ?? 1,
    checkTimeout: opts.integer('checkTimeout') ?? 1000,
    maxCheckFailures: opts.integer('maxCheckFailures') ?? 1,
    rise: opts.integer('rise') ?? 1,
    mustResolve: opts.boolean('mustResolve') ?? false,
    tcpOnly: opts.boolean('tcpOnly') ?? false,
    sockets: opts.integer('sockets') ?? 1,
    maxInFlight: opts.integer('maxInFlight') ?? 0,
    id: opts.string('id') ?? newServerId(),
  };
  const tls = tlsClientFrom(opts);
  if (tls) config.tls = tls;
  const doh = dohBackendFrom(opts);
  if (doh) config.doh = doh;
  if (config.maxInFlight < 0 || config.maxInFlight > 65535) {
    throw new Error(
      `newServer: maxInFlight must be between 0 (one query at a time per TCP connection) and 65535, got ${config.maxInFlight}`,
    );
  }
  const checkFunction = checkFunctionFrom(opts.raw('checkFunction'));
  if (checkFunction) config.checkFunction = checkFunction;
  const healthCheckMode = opts.string('healthCheckMode');
  const useClientSubnet = opts.boolean('useClientSubnet');
  if (useClientSubnet !== undefined) config.useClientSubnet = useClientSubnet;
  const addXPF = opts.integer('addXPF');
  if (addXPF !== undefined && addXPF !== 0) {
    if (addXPF < 1 || addXPF > 65535) {
      throw new Error(`newServer: addXPF must be the RR type of the XPF record, between 1 and 65535 (0 for none), got ${addXPF}`);
    }
    config.addXPF = addXPF;
  }
  const retries = opts.integer('retries');
  if (retries !== undefined) {
    if (retries < 1 || retries > 100) {
      throw new Error(`newServer: retries is the number of TCP attempts per query, between 1 and 100, got ${retries}`);
    }
    config.retries = retries;
  }
  const tcpFastOpen = opts.boolean('tcpFastOpen');
  if (tcpFastOpen === true) {
    if (doh)
      throw new Error(
        'newServer: tcpFastOpen together with dohPath is not supported yet (DoH connections are made by Node); use one or the other',
      );
    config.tcpFastOpen = true;
  }
  const disableZeroScope = opts.boolean('disableZeroScope');
  if (disableZeroScope !== undefined) config.disableZeroScope = disableZeroScope;
  const useProxyProtocol = opts.boolean('useProxyProtocol');
  if (useProxyProtocol !== undefined) config.useProxyProtocol = useProxyProtocol;
  // With tls the header goes inside TLS, as dnsdist sends it: first on a DoT connection, before the HTTP/2 preface on a DoH one.
  if (opts.string('source') !== undefined) throw new Error("newServer: 'source' (binding to a local address) is not supported yet");
  if (opts.boolean('setCD')) throw new Error("newServer: 'setCD' is not supported yet");
  opts.rejectUnknown();
  if (config.name === '') config.name = formatAddressWithPort(address);
  if (healthCheckMode !== undefined && !['auto', 'up', 'down'].includes(healthCheckMode.toLowerCase())) {
    throw new Error(`newServer: healthCheckMode must be "auto", "up" or "down", got "${healthCheckMode}"`);
  }
  return config;
}

function pad(s: string | number, n: number, right = false): string {
  const t = String(s);
  return right ? t.padStart(n) : t.padEnd(n);
}

/** One showServers() line, in dnsdist 1.7.3's column layout. */
export function showServersLine(
  idx: string,
  name: string,
  address: string,
  state: string,
  qps: string,
  qlim: string,
  order: string,
  weight: string,
  queries: string,
  drops: string,
  drate: string,
  lat: string,
  outstanding: string,
  pools: string,
): string {
  return (
    `${pad(idx, 3)} ${pad(name.slice(0, 20), 20)} ${pad(address, 29)} ${pad(state, 5, true)} ${pad(qps, 7, true)}` +
    ` ${pad(qlim, 7, true)} ${pad(order, 3, true)} ${pad(weight, 2, true)} ${pad(queries, 10, true)} ${pad(drops, 7, true)}` +
    ` ${pad(drate, 5, true)} ${pad(lat, 5, true)} ${pad(outstanding, 11, true)} ${pools}`
  );
}

export function registerServerBindings(env: LuaEnvironment): void {
  const rt = env.runtime;
  const proxy = env.proxy;
  const policies = {
    leastOutstanding: new LuaServerPolicy(new LeastOutstandingPolicy()),
    firstAvailable: new LuaServerPolicy(new FirstAvailablePolicy()),
    roundrobin: new LuaServerPolicy(new RoundRobinPolicy(proxy.processWide.roundRobinPosition)),
    wrandom: new LuaServerPolicy(new WeightedRandomPolicy(proxy.settings.balancingFactors)),
    whashed: new LuaServerPolicy(new WeightedHashedPolicy(proxy.settings.balancingFactors)),
    chashed: new LuaServerPolicy(new ConsistentHashPolicy(proxy.settings.balancingFactors)),
  };
  rt.defineClass(LuaServerPolicy, 'ServerPolicy', {});
  for (const [name, p] of Object.entries(policies)) rt.setGlobal(name, p);

  /** Servers as showServers numbers them: by order, then by insertion. */
  const sorted = (): DownstreamServer[] =>
    [...proxy.servers].sort((a, b) => a.config.order - b.config.order || proxy.servers.indexOf(a) - proxy.servers.indexOf(b));

  rt.defineClass(DownstreamServer, 'Server', {
    setUp: (s) => {
      s.availability = 'up';
    },
    setDown: (s) => {
      s.availability = 'down';
    },
    setAuto: (s, a) => {
      s.availability = 'auto';
      if (!a.isNil(0)) s.upStatus = a.boolean(0);
    },
    isUp: (s) => s.isUp(),
    getName: (s) => s.name,
    getNameWithAddr: (s) => `${s.name} (${s.addressText})`,
    // In a data-plane worker, over every worker (stats/counter-cells.ts).
    getOutstanding: (s) => statisticsOf(s).outstanding,
    getLatency: (s) => statisticsOf(s).latencyUsec / 1000,
    setQPS: (s, a) => s.setQps(a.integer(0)),
    addPool: (s, a) => {
      const name = a.string(0);
      if (!s.config.pools.includes(name)) s.config.pools.push(name);
      proxy.getOrCreatePool(name).add(s);
    },
    rmPool: (s, a) => {
      const name = a.string(0);
      s.config.pools = s.config.pools.filter((p) => p !== name);
      proxy.getPool(name)?.remove(s);
    },
    getPools: (s) => [...s.config.pools],
    getID: (s) => s.id,
  });

  rt.registerFunction('newServer', (args) => {
    if (env.clientMode) return undefined;
    const arg = args.raw(0);
    if (typeof arg !== 'string' && !(arg instanceof LuaTable)) args.fail(0, 'an address string or an options table');
    let config: DownstreamServerConfig;
    try {
      config = serverConfigFrom(arg as string | LuaTable);
    } catch (err) {
      if (!(err instanceof ServerWeightError)) throw err;
      // dnsdist logs the bad weight, makes no server and lets the configuration go on.
      if (env.configurationDone) rt.print(err.message);
      proxy.log.error(err.message);
      return undefined;
    }
    if (config.doh) config.dohTuning = proxy.settings.dohClient;
    const healthMode = arg instanceof LuaTable ? arg.get('healthCheckMode') : undefined;
    const pending = proxy.addServer(config);
    const server = proxy.servers[proxy.servers.length - 1]!;
    if (typeof healthMode === 'string' && healthMode.toLowerCase() !== 'auto') {
      server.availability = healthMode.toLowerCase() as 'up' | 'down';
    }
    env.pending.push(pending);
    if (!env.configurationDone) proxy.log.info(`Added downstream server ${server.addressText}`);
    return server;
  });

  rt.registerFunction('getServer', (args) => {
    const v = args.raw(0);
    if (typeof v === 'string' && !/^\d+$/.test(v)) {
      const s = proxy.servers.find((x) => x.id === v || x.name === v);
      if (!s) return env.fail(`getServer: no server with ID or name '${v}'`);
      return s;
    }
    const n = args.integer(0);
    const list = sorted();
    const s = list[n];
    if (!s)
      return env.fail(
        `getServer: no server #${n} (there ${list.length === 1 ? 'is 1 server' : `are ${list.length} servers`}, numbered from 0)`,
      );
    return s;
  });
  rt.registerFunction('getServers', () => sorted());
  rt.registerFunction('rmServer', (args) => {
    const v = args.raw(0);
    let s: DownstreamServer | undefined;
    if (v instanceof DownstreamServer) s = v;
    else if (typeof v === 'number') s = sorted()[v];
    else if (typeof v === 'string') s = proxy.servers.find((x) => x.id === v || x.name === v);
    if (!s) return env.fail(`rmServer: no such server: ${String(v)}`);
    proxy.removeServer(s);
    return undefined;
  });

  rt.registerFunction('showServers', (args) => {
    const opts = new LuaOptions('showServers', args.optTable(0));
    const showUUIDs = opts.boolean('showUUIDs') ?? false;
    opts.rejectUnknown();
    const uuidCol = (u: string): string => (showUUIDs ? `${u.padEnd(36)} ` : '');
    const header = showServersLine(
      '#',
      'Name',
      'Address',
      'State',
      'Qps',
      'Qlim',
      'Ord',
      'Wt',
      'Queries',
      'Drops',
      'Drate',
      'Lat',
      'Outstanding',
      'Pools',
    );
    rt.print(showUUIDs ? `${header.slice(0, 4)}${uuidCol('UUID')}${header.slice(4)}` : header);
    let totQps = 0;
    let totQueries = 0;
    let totDrops = 0;
    sorted().forEach((s, i) => {
      const line = showServersLine(
        String(i),
        s.name,
        s.addressText,
        s.stateText(),
        s.queryLoad.toFixed(1),
        String(s.config.qps),
        String(s.config.order),
        String(s.config.weight),
        String(s.counters.queries),
        String(s.counters.drops),
        '0.0',
        (s.latencyUsec / 1000).toFixed(1),
        String(s.outstanding),
        s.config.pools.join(' '),
      );
      rt.print(showUUIDs ? `${line.slice(0, 4)}${uuidCol(s.id)}${line.slice(4)}` : line);
      totQps += s.queryLoad;
      totQueries += s.counters.queries;
      totDrops += s.counters.drops;
    });
    rt.print(
      `${'All'.padEnd(61)}${totQps.toFixed(1).padStart(7)}${''.padEnd(16)}${String(totQueries).padStart(10)} ${String(totDrops).padStart(7)}${''.padEnd(25)}`,
    );
  });

  const policyArg = (fn: string, v: unknown): ServerPolicy => {
    if (v instanceof LuaServerPolicy) return v.policy;
    return env.fail(
      `${fn}: argument #1 must be a server policy (leastOutstanding, firstAvailable, roundrobin, wrandom, whashed, chashed, or newServerPolicy(name, function))`,
    );
  };
  rt.registerFunction('setServerPolicy', (args) => {
    proxy.defaultPolicy = policyArg('setServerPolicy', args.raw(0));
  });
  rt.registerFunction('setPoolServerPolicy', (args) => {
    const policy = policyArg('setPoolServerPolicy', args.raw(0));
    proxy.getOrCreatePool(args.string(1)).policy = policy;
  });
  rt.registerFunction('showServerPolicy', () => {
    rt.print(proxy.defaultPolicy.name);
  });
  rt.registerFunction('showPoolServerPolicy', (args) => {
    const pool = proxy.getPool(args.string(0));
    rt.print((pool?.policy ?? proxy.defaultPolicy).name);
  });
  rt.registerFunction('setRoundRobinFailOnNoServer', (args) => {
    (policies.roundrobin.policy as RoundRobinPolicy).failOnNoServer = args.boolean(0);
  });
  rt.registerFunction('setWHashedPertubation', (args) => {
    const v = args.integer(0) >>> 0;
    (policies.whashed.policy as WeightedHashedPolicy).perturbation = v;
    (policies.chashed.policy as ConsistentHashPolicy).perturbation = v;
  });
  rt.registerFunction('setServFailWhenNoServer', (args) => {
    proxy.settings.servFailWhenNoServer = args.boolean(0);
  });
  rt.registerFunction('setDropEmptyQueries', (args) => {
    proxy.settings.dropEmptyQueries = args.boolean(0);
  });
  rt.registerFunction('setUDPTimeout', (args) => {
    proxy.settings.udpTimeoutSeconds = args.integer(0);
  });
  rt.registerFunction('setTCPRecvTimeout', (args) => {
    proxy.settings.tcpRecvTimeoutSeconds = args.integer(0);
  });
  // Ours: dnsdist's receive timeout restarts on every read, so a client trickling bytes is never cut off.
  rt.registerFunction('setTCPQueryReadDeadline', (args) => {
    const seconds = args.number(0);
    if (!Number.isFinite(seconds) || seconds < 0) args.fail(0, 'a number of seconds, 0 (no deadline) or more');
    proxy.settings.tcpQueryReadDeadlineSeconds = seconds;
  });
  rt.registerFunction('setMaxUDPOutstanding', (args) => {
    if (!env.configOnly('setMaxUDPOutstanding')) return;
    proxy.settings.maxUDPOutstanding = args.integer(0);
  });

  rt.defineClass(ServerPool, 'ServerPool', {
    getCache: (p) => p.cache,
    unsetCache: (p) => {
      p.cache = undefined;
    },
    setCache: (p, a) => {
      p.cache = a.object(0, PacketCache, 'a packet cache (newPacketCache(...))');
    },
    getECS: (p) => p.ecs,
    setECS: (p, a) => {
      p.ecs = a.boolean(0);
    },
  });
  rt.registerFunction('getPool', (args) => proxy.getOrCreatePool(args.string(0)));
  rt.registerFunction('getPoolServers', (args) => [...(proxy.getPool(args.string(0))?.servers ?? [])]);
  rt.registerFunction('showPools', () => {
    rt.print(`${'Name'.padEnd(39)} ${'Cache'.padEnd(9)} ${'ServerPolicy'.padStart(16)} Servers`);
    for (const [name, pool] of [...proxy.pools.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      const servers = pool.servers.map((s) => `${s.name} ${s.addressText}`).join(', ');
      const cache = pool.cache ? pool.cache.toString() : '';
      rt.print(`${name.padEnd(39)} ${cache.padEnd(9)} ${(pool.policy ?? proxy.defaultPolicy).name.padStart(16)} ${servers}`);
    }
  });
}
