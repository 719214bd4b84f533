/**
 * The fleet's blocks in Redis: one key per live block (its record as
 * JSON, expiring with the block: Redis's own clock carries the time left,
 * so node clocks need not agree), and one pub/sub channel of events
 * ("add", "del", "clear") for the nodes connected now. A node that
 * (re)connects reads the keys; a node that is connected follows the
 * channel.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import type { FleetBlockRecord } from './fleet-block-record.js';
import type { FleetSyncOptions } from './fleet-sync-options.js';

/** An event on the fleet channel, as published. */
export type FleetEvent =
  | { v: 1; op: 'add'; node: string; at: number; items: Array<{ ttl: number; block: FleetBlockRecord }> }
  | { v: 1; op: 'del'; node: string; at: number; kind: 'net' | 'suffix'; key: string }
  | { v: 1; op: 'clear'; node: string; at: number };

/** What the bus tells its owner. Handlers must not throw. */
export interface FleetBusHandlers {
  /** A message on the channel, unparsed (it comes from other nodes and is checked by the owner). */
  message(text: string): void;
  /** Both connections are up and subscribed: time to publish what was missed and read the fleet's blocks. */
  ready(): void;
  /** A connection went down or failed to come up; `error` says why when Redis or the socket said. */
  down(error: Error | undefined): void;
}

/** The scripts defined on the command connection (ioredis adds them as methods). */
type FleetScripts = Redis & {
  fleetAdd(numberOfKeys: number, ...keysThenArgs: string[]): Promise<number>;
  fleetDel(key: string, channel: string, event: string): Promise<number>;
  fleetClear(channel: string, pattern: string, event: string): Promise<number>;
  fleetSnapshot(cursor: string, pattern: string, count: string): Promise<unknown>;
};

/**
 * ioredis, loaded on the first connection: it is some fifty modules (about
 * 100 ms of start-up on a loaded machine) that only a configuration with
 * setFleetSync needs. It is CommonJS, so a synchronous require keeps
 * start() synchronous.
 */
let redisClass: typeof Redis | undefined;
function loadRedis(): typeof Redis {
  redisClass ??= (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis;
  return redisClass;
}

/** One live block as read from Redis: its record text and the milliseconds left. */
export interface StoredFleetBlock {
  readonly value: string;
  readonly ttlMs: number;
}

// Store and announce a batch of blocks (KEYS: the channel, then one key
// per block; ARGV: node, time, then record and time left per block). A
// block is published only when it is new or outlives the stored one: a
// refresh that does not extend it is not news, and two nodes blocking the
// same client keep one key. One event carries every block published. The
// records are JSON this node wrote and node names are plain, so the event
// is put together as text.
const ADD_SCRIPT = `
local items = {}
for i = 2, #KEYS do
  local record = ARGV[2 * i - 1]
  local ttl = tonumber(ARGV[2 * i])
  if redis.call('PTTL', KEYS[i]) < ttl then
    redis.call('SET', KEYS[i], record, 'PX', ttl)
    items[#items + 1] = '{"ttl":' .. ttl .. ',"block":' .. record .. '}'
  end
end
if #items > 0 then
  redis.call('PUBLISH', KEYS[1], '{"v":1,"op":"add","node":"' .. ARGV[1] .. '","at":' .. ARGV[2] .. ',"items":[' .. table.concat(items, ',') .. ']}')
end
return #items`;

/** Blocks per add script call (and per "add" event): a burst of blocks travels in a few messages. */
export const MAX_ADD_BATCH = 500;

const DEL_SCRIPT = `
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return 1`;

// Runs alone on the server, so no publication interleaves with it. A
// fleet of a million blocks holds Redis for a few hundred milliseconds.
const CLEAR_SCRIPT = `
local cursor = '0'
repeat
  local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = r[1]
  if #r[2] > 0 then redis.call('UNLINK', unpack(r[2])) end
until cursor == '0'
redis.call('PUBLISH', KEYS[1], ARGV[2])
return 1`;

// One SCAN step and the value and time left of every key it found, as
// {cursor, value1, pttl1, value2, pttl2, …}.
const SNAPSHOT_SCRIPT = `
local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', tonumber(ARGV[3]))
local out = { r[1] }
for _, k in ipairs(r[2]) do
  local v = redis.call('GET', k)
  local t = redis.call('PTTL', k)
  if v and t > 0 then
    out[#out + 1] = v
    out[#out + 1] = t
  end
end
return out`;

/** Reconnection delays: 100 ms doubling to 5 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(attempt - 1, 6));
}

/**
 * The Redis side of fleet sync: two connections (commands, and the
 * subscriber pub/sub needs), reconnecting with backoff for as long as the
 * node runs. Commands fail at once while disconnected (no offline queue):
 * the owner republishes its blocks when `ready` comes back.
 */
export class RedisFleetBus {
  readonly #opts: FleetSyncOptions;
  readonly #handlers: FleetBusHandlers;
  readonly #keyPrefix: string;
  readonly channel: string;
  #cmd: Redis | undefined;
  #sub: Redis | undefined;
  #cmdReady = false;
  #subReady = false;
  #stopped = false;

  constructor(opts: FleetSyncOptions, handlers: FleetBusHandlers) {
    this.#opts = opts;
    this.#handlers = handlers;
    this.#keyPrefix = `${opts.keyPrefix}:${opts.fleet}:block:`;
    this.channel = `${opts.keyPrefix}:${opts.fleet}:events`;
  }

  /** Both connections up and subscribed. */
  get connected(): boolean {
    return this.#cmdReady && this.#subReady;
  }

  /** The Redis key of a block id ("net:192.0.2.1/32"). */
  keyOf(id: string): string {
    return this.#keyPrefix + id;
  }

  #redisOptions(): RedisOptions {
    const o = this.#opts;
    const options: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: o.connectTimeout * 1000,
      retryStrategy: (attempt) => (this.#stopped ? null : reconnectDelay(attempt)),
      // A wrong password is answered the same way on every attempt; the backoff keeps it cheap and the log says why.
      reconnectOnError: () => false,
      // Blocks made in one burst (a rules group's pass, a bulk insert) go out in one write.
      enableAutoPipelining: true,
    };
    if (o.user !== undefined) options.username = o.user;
    if (o.password !== undefined) options.password = o.password;
    if (o.tls) {
      options.tls = {
        ...(o.tls.caFile !== undefined ? { ca: readFileSync(o.tls.caFile) } : {}),
        ...(o.tls.serverName !== undefined ? { servername: o.tls.serverName } : {}),
        ...(o.tls.certFile !== undefined ? { cert: readFileSync(o.tls.certFile) } : {}),
        ...(o.tls.keyFile !== undefined ? { key: readFileSync(o.tls.keyFile) } : {}),
      };
    }
    return options;
  }

  /** Connect both connections (in the background: failures are reported through `down` and retried). */
  start(): void {
    const RedisClient = loadRedis();
    const cmd = new RedisClient(this.#opts.url, this.#redisOptions());
    const sub = new RedisClient(this.#opts.url, this.#redisOptions());
    this.#cmd = cmd;
    this.#sub = sub;
    // Sent as EVALSHA once Redis knows them (ioredis loads them on first use).
    cmd.defineCommand('fleetAdd', { lua: ADD_SCRIPT });
    cmd.defineCommand('fleetDel', { numberOfKeys: 2, lua: DEL_SCRIPT });
    cmd.defineCommand('fleetClear', { numberOfKeys: 1, lua: CLEAR_SCRIPT });
    cmd.defineCommand('fleetSnapshot', { numberOfKeys: 0, lua: SNAPSHOT_SCRIPT });
    cmd.on('ready', () => {
      this.#cmdReady = true;
      this.#maybeReady();
    });
    sub.on('ready', () => {
      // ioredis resubscribes on reconnect before 'ready'; the first time, subscribe here.
      void sub
        .subscribe(this.channel)
        .then(() => {
          this.#subReady = true;
          this.#maybeReady();
        })
        .catch((err: unknown) => this.#handlers.down(err as Error));
    });
    sub.on('message', (_channel: string, text: string) => this.#handlers.message(text));
    for (const [conn, which] of [
      [cmd, 'cmd'],
      [sub, 'sub'],
    ] as const) {
      conn.on('error', (err: Error) => this.#handlers.down(err));
      conn.on('close', () => {
        const was = this.connected;
        if (which === 'cmd') this.#cmdReady = false;
        else this.#subReady = false;
        if (was && !this.#stopped) this.#handlers.down(undefined);
      });
      conn.connect().catch(() => {
        /* reported through 'error' and retried by the retry strategy */
      });
    }
  }

  #maybeReady(): void {
    if (this.connected && !this.#stopped) this.#handlers.ready();
  }

  /**
   * Store and announce up to {@link MAX_ADD_BATCH} blocks (each only if it
   * is new there or lives longer than the stored one). Resolves with how
   * many were published.
   */
  async add(
    blocks: ReadonlyArray<{ readonly id: string; readonly record: FleetBlockRecord; readonly ttlMs: number }>,
    at: number,
  ): Promise<number> {
    const keys = [this.channel, ...blocks.map((b) => this.keyOf(b.id))];
    const args = [this.#opts.node, String(at)];
    for (const b of blocks) args.push(JSON.stringify(b.record), String(Math.round(b.ttlMs)));
    return this.#scripts().fleetAdd(keys.length, ...keys, ...args);
  }

  /** Remove a block from the fleet. */
  async del(kind: 'net' | 'suffix', key: string, at: number): Promise<void> {
    const event: FleetEvent = { v: 1, op: 'del', node: this.#opts.node, at, kind, key };
    await this.#scripts().fleetDel(this.keyOf(`${kind}:${key}`), this.channel, JSON.stringify(event));
  }

  /**
   * Remove every block of the fleet and tell the nodes to clear theirs, in
   * one script: a block published just after the clear is not caught by it.
   */
  async clear(at: number): Promise<void> {
    const event: FleetEvent = { v: 1, op: 'clear', node: this.#opts.node, at };
    await this.#scripts().fleetClear(this.channel, `${this.#keyPrefix}*`, JSON.stringify(event));
  }

  /**
   * The fleet's live blocks, in batches of about `count`: one round trip
   * per batch (the read runs as a script on the server), the next batch
   * requested while the owner applies this one.
   */
  async *snapshot(count = 1000): AsyncGenerator<StoredFleetBlock[]> {
    const cmd = this.#scripts();
    const read = (cursor: string) =>
      cmd.fleetSnapshot(cursor, `${this.#keyPrefix}*`, String(count)) as Promise<[string, ...Array<string | number>]>;
    let pending = read('0');
    for (;;) {
      const [next, ...flat] = await pending;
      if (next !== '0') pending = read(next);
      const batch: StoredFleetBlock[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const value = flat[i];
        const ttl = flat[i + 1];
        // Gone between SCAN and GET (expired or deleted): nothing to take.
        if (typeof value !== 'string' || typeof ttl !== 'number' || ttl <= 0) continue;
        batch.push({ value, ttlMs: ttl });
      }
      yield batch;
      if (next === '0') return;
    }
  }

  #scripts(): FleetScripts {
    return this.#command() as FleetScripts;
  }

  #command(): Redis {
    const cmd = this.#cmd;
    if (!cmd || !this.#cmdReady) throw new Error('not connected to Redis');
    return cmd;
  }

  /** Close both connections; no reconnection after this. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const conns = [this.#cmd, this.#sub].filter((c): c is Redis => c !== undefined);
    await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
