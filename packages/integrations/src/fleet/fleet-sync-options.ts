import { hostname } from 'node:os';
import type { BlockSource } from '@dnsdist-ts/dynblocks/dynblocks/index.js';

/** Sources a node may share blocks from (setDynBlocksSync's `share`). */
export const SHAREABLE_SOURCES: readonly BlockSource[] = ['rules', 'lua', 'api', 'crowdsec'];

/**
 * Sources shared when `share` is not given. CrowdSec decisions are not:
 * every node can poll the Local API itself, which keeps deletions exact;
 * `share` with "crowdsec" relays them to nodes that cannot reach it.
 */
export const DEFAULT_SHARED_SOURCES: readonly BlockSource[] = ['rules', 'lua', 'api'];

/** TLS towards Redis (rediss:// URLs). */
export interface FleetTlsOptions {
  /** PEM file of the CA(s) to trust instead of the system's. */
  readonly caFile?: string | undefined;
  /** Name the server certificate must carry, when not the URL's host. */
  readonly serverName?: string | undefined;
  /** Client certificate and key (PEM files), for servers that ask for one. */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/** setDynBlocksSync{…}, checked. */
export interface FleetSyncOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS. */
  readonly url: string;
  /** ACL user and password (override the URL's). */
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  /** The fleet's name: nodes sharing it share blocks. */
  readonly fleet: string;
  /** This node's name (default: the host name), shown as the origin of its blocks elsewhere. */
  readonly node: string;
  /** Which local blocks are published: made by rules groups, Lua functions (console included), the block API. */
  readonly share: ReadonlySet<BlockSource>;
  /** Publish warning (NoOp) blocks too. */
  readonly warnings: boolean;
  /** Which actions are published (their wire names: Drop, Refused, Nxdomain, Truncate, NoOp, NoRecurse); all when not given. */
  readonly actions: ReadonlySet<string> | undefined;
  /** Longest block accepted from the bus, seconds. */
  readonly maxSeconds: number;
  /** Blocks (both tables) beyond which blocks from the bus are refused. */
  readonly maxBlocks: number;
  /** Whether clearDynBlocks() here clears the fleet (every node's blocks). */
  readonly propagateClear: boolean;
  /** First part of every Redis key and channel. */
  readonly keyPrefix: string;
  /** Seconds to wait for a connection before it counts as failed (and is retried). */
  readonly connectTimeout: number;
  readonly tls?: FleetTlsOptions | undefined;
}

/** A setDynBlocksSync option that cannot be used; names the option and the value. */
export class FleetOptionError extends Error {
  readonly option: string;
  readonly input: string;

  constructor(option: string, input: unknown, message: string) {
    super(`setDynBlocksSync: option '${option}' ${message}`);
    this.name = new.target.name;
    this.option = option;
    this.input = String(input);
  }
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** The actions a shared block may carry, by their wire names (fleet-block-record.ts). */
export const SHAREABLE_ACTIONS: readonly string[] = ['Drop', 'Refused', 'Nxdomain', 'Truncate', 'NoOp', 'NoRecurse'];

function sharedActions(actions: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (actions === undefined) return undefined;
  for (const a of actions) {
    if (!SHAREABLE_ACTIONS.includes(a)) {
      throw new FleetOptionError('actions', a, `has "${a}"; the actions are ${SHAREABLE_ACTIONS.map((x) => `"${x}"`).join(', ')}`);
    }
  }
  return new Set(actions);
}

/** Whether `s` can be a fleet or node name (they appear in keys and logs). */
export function isFleetName(s: string): boolean {
  return NAME.test(s);
}

/** What setDynBlocksSync's table holds before checks; absent keys take the defaults. */
export interface FleetSyncInput {
  url?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  fleet?: string | undefined;
  node?: string | undefined;
  share?: readonly string[] | undefined;
  warnings?: boolean | undefined;
  actions?: readonly string[] | undefined;
  maxSeconds?: number | undefined;
  maxBlocks?: number | undefined;
  propagateClear?: boolean | undefined;
  keyPrefix?: string | undefined;
  connectTimeout?: number | undefined;
  tls?: FleetTlsOptions | undefined;
}

/**
 * Check setDynBlocksSync's options and fill in the defaults.
 *
 * @throws FleetOptionError for a missing url or fleet, a URL that is not redis:// or rediss://, a bad name, an unknown share source or an out-of-range number.
 */
export function fleetSyncOptions(i: FleetSyncInput): FleetSyncOptions {
  if (i.url === undefined) throw new FleetOptionError('url', '', 'is required (redis://host:port or rediss://host:port)');
  let url: URL;
  try {
    url = new URL(i.url);
  } catch {
    throw new FleetOptionError('url', i.url, `"${i.url}" is not a URL: use redis://host:port or rediss://host:port`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new FleetOptionError('url', i.url, `must start with redis:// or rediss://, got "${url.protocol}//"`);
  }
  if (i.tls !== undefined && url.protocol !== 'rediss:') {
    throw new FleetOptionError('tls', i.url, 'needs a rediss:// URL');
  }
  if (i.fleet === undefined) throw new FleetOptionError('fleet', '', 'is required: the name shared by the nodes of one fleet');
  if (!isFleetName(i.fleet)) throw new FleetOptionError('fleet', i.fleet, `"${i.fleet}" must be 1 to 64 letters, digits, '.', '_' or '-'`);
  const node =
    i.node ??
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 64);
  if (!isFleetName(node)) throw new FleetOptionError('node', node, `"${node}" must be 1 to 64 letters, digits, '.', '_' or '-'`);
  const share = new Set<BlockSource>();
  for (const s of i.share ?? DEFAULT_SHARED_SOURCES) {
    if (!(SHAREABLE_SOURCES as readonly string[]).includes(s)) {
      throw new FleetOptionError('share', s, `has "${s}"; the sources are ${SHAREABLE_SOURCES.map((x) => `"${x}"`).join(', ')}`);
    }
    share.add(s as BlockSource);
  }
  const maxSeconds = i.maxSeconds ?? 86400;
  if (!Number.isInteger(maxSeconds) || maxSeconds < 1)
    throw new FleetOptionError('maxSeconds', maxSeconds, 'must be a whole number of seconds, 1 or more');
  const maxBlocks = i.maxBlocks ?? 1_000_000;
  if (!Number.isInteger(maxBlocks) || maxBlocks < 1)
    throw new FleetOptionError('maxBlocks', maxBlocks, 'must be a whole number, 1 or more');
  const keyPrefix = i.keyPrefix ?? 'dnsdist-ts';
  if (!isFleetName(keyPrefix))
    throw new FleetOptionError('keyPrefix', keyPrefix, `"${keyPrefix}" must be 1 to 64 letters, digits, '.', '_' or '-'`);
  const connectTimeout = i.connectTimeout ?? 5;
  if (!(connectTimeout > 0 && connectTimeout <= 300))
    throw new FleetOptionError('connectTimeout', connectTimeout, 'must be from 0 to 300 seconds');
  return {
    url: i.url,
    user: i.user,
    password: i.password,
    fleet: i.fleet,
    node,
    share,
    warnings: i.warnings ?? false,
    actions: sharedActions(i.actions),
    maxSeconds,
    maxBlocks,
    propagateClear: i.propagateClear ?? true,
    keyPrefix,
    connectTimeout,
    tls: i.tls,
  };
}
