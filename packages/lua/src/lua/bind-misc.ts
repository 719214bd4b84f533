import { Netmask, NetmaskGroup } from '@dnsdist-ts/dns';
import { makeKey, parseConsoleAddress, parseConsoleKey } from '@dnsdist-ts/console/console/index.js';
import { statisticsOf } from '@dnsdist-ts/dataplane/stats/counter-cells.js';
import { formatDumpStats, statsSnapshot } from '@dnsdist-ts/dataplane/stats/stats-snapshot.js';
import { COMPATIBLE_DNSDIST_VERSION, VERSION } from '@dnsdist-ts/dataplane/version.js';
import type { LuaEnvironment } from './lua-environment.js';

/** What the misc bindings need from the application around them. */
export interface MiscHooks {
  shutdown: () => void;
  dynBlockNmgSize: () => number;
  /** A console setting changed at runtime: push it to the running console. */
  consoleChanged: () => void;
}

/** Version, statistics, logging, console settings and process-level functions. */
export function registerMiscBindings(env: LuaEnvironment, hooks: MiscHooks): void {
  const rt = env.runtime;
  const proxy = env.proxy;

  // Tools (and dnsdist's own regression tests) recognise dnsdist by this line's first word.
  rt.registerFunction('showVersion', () => {
    rt.print(`dnsdist ${COMPATIBLE_DNSDIST_VERSION} (dnsdist-ts ${VERSION})`);
  });
  // In a data-plane worker (a LuaAction), the totals over every worker, as in dnsdist's one process.
  const snapshot = () =>
    statsSnapshot({ counters: statisticsOf(proxy.counters), startedAt: proxy.startedAt, dynBlockNmgSize: hooks.dynBlockNmgSize });
  rt.registerFunction('dumpStats', () => {
    rt.print(formatDumpStats(snapshot()).replace(/\n$/, ''));
  });
  rt.registerFunction('getStatisticsCounters', () => new Map(snapshot().map((e) => [e.name, e.value])));

  rt.registerFunction('setVerbose', (args) => {
    proxy.log.verbose = args.boolean(0);
  });
  rt.registerFunction('getVerbose', () => proxy.log.verbose);
  rt.registerFunction('errlog', (args) => proxy.log.error(args.string(0)));
  rt.registerFunction('warnlog', (args) => proxy.log.warn(args.string(0)));
  rt.registerFunction('infolog', (args) => proxy.log.info(args.string(0)));
  rt.registerFunction('vinfolog', (args) => proxy.log.debug(args.string(0)));
  rt.registerFunction('setVerboseHealthChecks', (args) => {
    args.boolean(0);
  });
  // dnsdist-ts never polls for security status: the setting is accepted and has nothing to turn off.
  rt.registerFunction('setSecurityPollSuffix', (args) => {
    args.string(0);
  });
  rt.registerFunction('setSecurityPollInterval', (args) => {
    args.integer(0);
  });
  rt.registerFunction('shutdown', () => {
    hooks.shutdown();
  });

  // ---- console settings --------------------------------------------------
  const con = env.console;
  rt.registerFunction('controlSocket', (args) => {
    const text = args.string(0);
    parseConsoleAddress(text);
    if (env.configurationDone) return env.fail('controlSocket cannot be used at runtime!');
    con.addresses.push(text);
  });
  rt.registerFunction('setKey', (args) => {
    const key = args.string(0);
    parseConsoleKey(key);
    if (con.keyFromCommandLine) return;
    con.key = key;
    hooks.consoleChanged();
  });
  rt.registerFunction('makeKey', () => {
    rt.print(`setKey("${makeKey()}")`);
  });
  rt.registerFunction('setConsoleACL', (args) => {
    const nmg = new NetmaskGroup();
    for (const m of args.stringOrStrings(0)) nmg.addMask(m);
    con.acl = nmg;
    hooks.consoleChanged();
  });
  rt.registerFunction('addConsoleACL', (args) => {
    con.acl.addMask(Netmask.fromString(args.string(0)));
    hooks.consoleChanged();
  });
  rt.registerFunction('showConsoleACL', () => {
    for (const m of con.acl.toStrings()) rt.print(m);
  });
  rt.registerFunction('setConsoleMaximumConcurrentConnections', (args) => {
    con.maxConcurrentConnections = args.integer(0);
    hooks.consoleChanged();
  });
  rt.registerFunction('setConsoleConnectionsLogging', (args) => {
    con.logConnections = args.boolean(0);
    hooks.consoleChanged();
  });
  rt.registerFunction('setConsoleOutputMaxMsgSize', (args) => {
    con.maxMessageSize = args.integer(0);
    hooks.consoleChanged();
  });
  // dnsdist-ts only: console commands share the event loop with DNS, so a runaway one is stopped.
  rt.registerFunction('setConsoleCommandTimeout', (args) => {
    const seconds = args.number(0);
    if (!Number.isFinite(seconds) || seconds < 0) {
      env.fail(`setConsoleCommandTimeout: the timeout must be a number of seconds, 0 or more (0: no limit), got ${seconds}`);
    }
    con.commandTimeoutSeconds = seconds;
  });
}
