/**
 * Errors raised while configuring or feeding the packet cache. Each carries
 * the offending input and says what to do about it.
 */

/** A `newPacketCache` option that is unknown, of the wrong type or out of range. */
export class PacketCacheOptionError extends Error {
  /** The option name as given (e.g. "maxTLL"). */
  readonly key: string;
  /** The value given for it. */
  readonly value: unknown;

  constructor(message: string, key: string, value: unknown) {
    super(message);
    this.name = 'PacketCacheOptionError';
    this.key = key;
    this.value = value;
  }
}

/** `newPacketCache(maxEntries)` with a size the cache cannot have. */
export class PacketCacheSizeError extends Error {
  readonly maxEntries: unknown;

  constructor(maxEntries: unknown) {
    super(`newPacketCache: maxEntries must be a whole number of at least 1, got ${String(maxEntries)}`);
    this.name = 'PacketCacheSizeError';
    this.maxEntries = maxEntries;
  }
}

/**
 * A cache key was asked for a query whose question could not be parsed.
 * The query path must only consult the cache for valid queries.
 */
export class PacketCacheKeyError extends Error {
  /** Length of the offending packet. */
  readonly length: number;

  constructor(length: number, reason: string) {
    super(`cannot compute a packet cache key for this ${length}-byte query: ${reason}; only valid queries may be looked up`);
    this.name = 'PacketCacheKeyError';
    this.length = length;
  }
}
