/**
 * The options table of dnsdist's `newPacketCache(maxEntries, {...})` and
 * the settings a cache runs with once defaults are applied and checked.
 */
import { PacketCacheOptionError, PacketCacheSizeError } from './packet-cache-errors.js';

/** EDNS option code of DNS Cookies (RFC 7873): skipped when hashing unless `cookieHashing`. */
export const EDNS_COOKIE_OPTION = 10;

/** The options `newPacketCache` accepts in dnsdist 1.7.3, all optional. TTLs are in seconds. */
export interface PacketCacheOptions {
  /** Longest time an entry stays fresh; longer record TTLs are capped to it (default 86400). */
  maxTTL?: number;
  /** Responses whose lowest TTL is below this are not cached and counted as `ttlTooShorts` (default 0). */
  minTTL?: number;
  /** How long SERVFAIL and REFUSED answers are kept; 0 keeps none (default 60). */
  temporaryFailureTTL?: number;
  /** TTL written into every record of a stale entry served while all backends are down (default 60). */
  staleTTL?: number;
  /** Serve entries with the TTLs they were stored with instead of decreasing them by their age (default false). */
  dontAge?: boolean;
  /** Number of independent maps the entries are spread over (default 20). */
  numberOfShards?: number;
  /**
   * Accepted for compatibility. dnsdist skips an insert when another thread
   * holds the shard lock; JavaScript runs the cache on one thread, so there
   * is never contention and the option has no effect (default true).
   */
  deferrableInsertLock?: boolean;
  /** Cap for NXDOMAIN and NODATA answers (default 3600). */
  maxNegativeTTL?: number;
  /** Also match the EDNS Client Subnet source of the query against the entry's (default false). */
  parseECS?: boolean;
  /** Let the maintenance tick keep expired entries while all backends of a pool using this cache are down (default false). */
  keepStaleData?: boolean;
  /** Hash the EDNS Cookie option too, so queries with different cookies do not share entries (default false). */
  cookieHashing?: boolean;
  /** EDNS option codes whose content is left out of the key, in addition to the cookie (default none). */
  skipOptions?: readonly number[];
}

/** The settings a cache runs with: every option resolved, checked and effective. */
export interface PacketCacheSettings {
  readonly maxEntries: number;
  readonly maxTTL: number;
  readonly minTTL: number;
  readonly temporaryFailureTTL: number;
  readonly staleTTL: number;
  readonly dontAge: boolean;
  /** Shards actually used: at least 1 and at most `maxEntries`. */
  readonly numberOfShards: number;
  /** Shards asked for, before `maxEntries` capped them. */
  readonly requestedShards: number;
  readonly deferrableInsertLock: boolean;
  readonly maxNegativeTTL: number;
  readonly parseECS: boolean;
  readonly keepStaleData: boolean;
  readonly cookieHashing: boolean;
  /** EDNS option codes whose content is not hashed (the cookie unless `cookieHashing`, plus `skipOptions`). */
  readonly optionsToSkip: ReadonlySet<number>;
  /** Warnings for keys accepted without effect (see IGNORED_WITH_WARNING). */
  readonly ignoredKeyWarnings: readonly string[];
}

const UINT32_MAX = 0xffffffff;

const NUMBER_KEYS = ['maxTTL', 'minTTL', 'temporaryFailureTTL', 'staleTTL', 'numberOfShards', 'maxNegativeTTL'] as const;
const BOOLEAN_KEYS = ['dontAge', 'deferrableInsertLock', 'parseECS', 'keepStaleData', 'cookieHashing'] as const;
const KNOWN_KEYS: ReadonlySet<string> = new Set<string>([...NUMBER_KEYS, ...BOOLEAN_KEYS, 'skipOptions']);

/**
 * Keys that are not dnsdist options but that dnsdist 1.7.3 ignores and real
 * configurations carry (its own regression suite writes `ecsParsing` for
 * `parseECS`): accepted, with a warning that says so, where any other
 * unknown key is refused.
 */
const IGNORED_WITH_WARNING: ReadonlyMap<string, string> = new Map([
  [
    'ecsParsing',
    "newPacketCache: option 'ecsParsing' is not a dnsdist option and has no effect (dnsdist 1.7.3 ignores it too); did you mean 'parseECS'?",
  ],
]);

function readNumber(options: Readonly<Record<string, unknown>>, key: string, fallback: number): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    throw new PacketCacheOptionError(
      `newPacketCache: option '${key}' must be a whole number between 0 and ${UINT32_MAX}, got ${describe(value)}`,
      key,
      value,
    );
  }
  return value;
}

function readBoolean(options: Readonly<Record<string, unknown>>, key: string, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new PacketCacheOptionError(`newPacketCache: option '${key}' must be true or false, got ${describe(value)}`, key, value);
  }
  return value;
}

function readOptionCodes(options: Readonly<Record<string, unknown>>): readonly number[] {
  const value = options['skipOptions'];
  if (value === undefined) return [];
  const bad = (): PacketCacheOptionError =>
    new PacketCacheOptionError(
      `newPacketCache: option 'skipOptions' must be a list of EDNS option codes (0-65535), got ${describe(value)}`,
      'skipOptions',
      value,
    );
  if (!Array.isArray(value)) throw bad();
  for (const code of value) {
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code > 0xffff) throw bad();
  }
  return value as number[];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  return String(value);
}

/**
 * Apply dnsdist 1.7.3's defaults to `newPacketCache` arguments and check
 * them. As in dnsdist, fewer entries than shards lowers the shard count to
 * the number of entries; a shard count of 0 is taken as 1.
 *
 * @param options a plain object, as the Lua binding builds it from the table.
 * @throws PacketCacheSizeError when maxEntries is not a whole number >= 1.
 * @throws PacketCacheOptionError naming the key, for an unknown option or a value of the wrong type.
 */
export function resolvePacketCacheSettings(
  maxEntries: number,
  options: PacketCacheOptions | Readonly<Record<string, unknown>> = {},
): PacketCacheSettings {
  if (typeof maxEntries !== 'number' || !Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new PacketCacheSizeError(maxEntries);
  }
  const opts = options as Readonly<Record<string, unknown>>;
  const ignoredKeyWarnings: string[] = [];
  for (const key of Object.keys(opts)) {
    const ignored = IGNORED_WITH_WARNING.get(key);
    if (ignored !== undefined) {
      ignoredKeyWarnings.push(ignored);
      continue;
    }
    if (!KNOWN_KEYS.has(key)) {
      throw new PacketCacheOptionError(
        `newPacketCache: unknown option '${key}'; the options are ${[...KNOWN_KEYS].join(', ')}`,
        key,
        opts[key],
      );
    }
  }

  const requestedShards = readNumber(opts, 'numberOfShards', 20);
  const cookieHashing = readBoolean(opts, 'cookieHashing', false);
  const optionsToSkip = new Set<number>([EDNS_COOKIE_OPTION, ...readOptionCodes(opts)]);
  if (cookieHashing) optionsToSkip.delete(EDNS_COOKIE_OPTION);

  return {
    maxEntries,
    maxTTL: readNumber(opts, 'maxTTL', 86400),
    minTTL: readNumber(opts, 'minTTL', 0),
    temporaryFailureTTL: readNumber(opts, 'temporaryFailureTTL', 60),
    staleTTL: readNumber(opts, 'staleTTL', 60),
    dontAge: readBoolean(opts, 'dontAge', false),
    numberOfShards: Math.max(1, Math.min(requestedShards, maxEntries)),
    requestedShards,
    deferrableInsertLock: readBoolean(opts, 'deferrableInsertLock', true),
    maxNegativeTTL: readNumber(opts, 'maxNegativeTTL', 3600),
    parseECS: readBoolean(opts, 'parseECS', false),
    keepStaleData: readBoolean(opts, 'keepStaleData', false),
    cookieHashing,
    optionsToSkip,
    ignoredKeyWarnings,
  };
}
