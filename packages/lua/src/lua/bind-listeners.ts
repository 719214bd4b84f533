import { readFileSync } from 'node:fs';
import { parseAddressWithPort, Netmask, formatAddress } from '@dnsdist-ts/dns';
import type { FrontendConfig } from '@dnsdist-ts/dataplane/server/frontend-config.js';
import { LuaOptions, type LuaArgs } from './lua-args.js';
import type { LuaEnvironment } from './lua-environment.js';

/** Parse setLocal/addLocal/-l arguments into a listener config (port 53 by default). */
export function frontendConfigFrom(fn: string, address: string, opts: LuaOptions, fromCommandLine: boolean): FrontendConfig {
  let parsed;
  try {
    parsed = parseAddressWithPort(address, 53);
  } catch (err) {
    throw new Error(`${fn}: ${(err as Error).message}`);
  }
  const config: FrontendConfig = {
    host: formatAddress(parsed.bytes),
    port: parsed.port,
    reusePort: opts.boolean('reusePort') ?? false,
    tcpListenQueueSize: opts.integer('tcpListenQueueSize') ?? 511,
    maxInFlight: opts.integer('maxInFlight') ?? 0,
    maxConcurrentTCPConnections: opts.integer('maxConcurrentTCPConnections') ?? 0,
    tcpFastOpenQueueSize: opts.integer('tcpFastOpenQueueSize') ?? 0,
    interface: opts.string('interface') ?? '',
    cpus: [],
    fromCommandLine,
    requestedBy: fn === '-l' ? `-l ${address}` : `${fn}(${JSON.stringify(address)})`,
  };
  // Accepted from older configurations, without effect (TCP is always on).
  opts.accept('doTCP');
  const cpus = opts.raw('cpus');
  opts.rejectUnknown();
  if (cpus !== undefined) {
    throw new Error(`${fn}: pinning listeners to CPUs ('cpus' option) is not supported; remove the option`);
  }
  if (config.interface !== '') {
    throw new Error(`${fn}: binding to an interface ('interface' option) is not supported yet; listen on its address instead`);
  }
  return config;
}

export function registerListenerBindings(env: LuaEnvironment): void {
  const rt = env.runtime;
  const proxy = env.proxy;

  const local = (fn: string, replace: boolean) => (args: LuaArgs) => {
    if (env.clientMode || !env.configOnly(fn)) return;
    const cfg = frontendConfigFrom(fn, args.string(0), new LuaOptions(fn, args.optTable(1)), false);
    if (replace) proxy.setLocal(cfg);
    else proxy.addLocal(cfg);
  };
  rt.registerFunction('setLocal', local('setLocal', true));
  rt.registerFunction('addLocal', local('addLocal', false));

  rt.registerFunction('setACL', (args) => {
    const masks = args.stringOrStrings(0);
    for (const m of masks) Netmask.fromString(m.startsWith('!') ? m.slice(1) : m);
    proxy.setACL(masks);
  });
  rt.registerFunction('addACL', (args) => {
    proxy.addACL(args.string(0));
  });
  rt.registerFunction('rmACL', (args) => {
    proxy.removeACL(args.string(0));
  });
  rt.registerFunction('setACLFromFile', (args) => {
    const file = args.string(0);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return env.fail(`setACLFromFile: could not read '${file}': ${(err as Error).message}`);
    }
    const masks = text
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter((l) => l !== '');
    proxy.setACL(masks);
  });
  rt.registerFunction('showACL', () => {
    for (const m of proxy.aclStrings()) rt.print(m);
  });
  rt.registerFunction('showBinds', () => {
    rt.print(`${'#'.padEnd(4)}${'Address'.padEnd(31)}${'Protocol'.padEnd(22)}Queries`);
    let i = 0;
    for (const f of proxy.frontends) {
      const addr = f.udp.local.toStringWithPort();
      rt.print(`${String(i++).padEnd(4)}${addr.padEnd(31)}${'UDP'.padEnd(22)}${f.udp.queries}`);
      rt.print(`${String(i++).padEnd(4)}${addr.padEnd(31)}${'TCP'.padEnd(22)}${f.tcp.queries}`);
    }
    for (const f of proxy.tlsFrontends) {
      rt.print(`${String(i++).padEnd(4)}${f.tcp.local.toStringWithPort().padEnd(31)}${'TCP (DNS over TLS)'.padEnd(22)}${f.tcp.queries}`);
    }
    for (const d of proxy.dohFrontends) {
      rt.print(`${String(i++).padEnd(4)}${d.local.toStringWithPort().padEnd(31)}${d.protocolName.padEnd(22)}${d.counters.queries}`);
    }
    for (const b of proxy.dnscryptBinds) {
      const addr = b.local.toStringWithPort().padEnd(31);
      rt.print(`${String(i++).padEnd(4)}${addr}${'UDP (DNSCrypt)'.padEnd(22)}${b.udpCounters.queries}`);
      if (b.config.doTCP) rt.print(`${String(i++).padEnd(4)}${addr}${'TCP (DNSCrypt)'.padEnd(22)}${b.tcpCounters.queries}`);
    }
  });
}
